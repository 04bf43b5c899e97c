"""The emergencies page's data rules, without Streamlit or a broker."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from caudal.broker.tail import TailRecord
from caudal.pipelines.emergencies import page_data as data
from caudal.pipelines.emergencies.generator import CallGenerator

T0 = 1_790_000_000_000  # ms


def _record(value: dict | bytes, at_ms: int, offset: int = 0) -> TailRecord:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return TailRecord(0, offset, at_ms, None, raw, [])


def test_calls_keep_route_time_place_and_destination() -> None:
    gen = CallGenerator(seed=3)
    medical = {**gen.call(), "destino": {"hospital": "H", "distancia_km": 2.5, "eta_min": 6.7}}
    plain = gen.call()
    letter = {"motivo": "not JSON: x", "id_aviso": None, "valor": "{"}
    frame = data.calls(
        {
            "sanitarios": [_record(medical, T0)],
            "centro_mando": [_record(plain, T0 + 5_000)],
            "dlq": [_record(letter, T0 + 1_000), _record(b"\xff not json", T0 + 2_000)],
        }
    )
    assert list(frame["route"]) == ["centro_mando", "dlq", "dlq", "sanitarios"]  # newest first
    row = frame[frame["route"] == "sanitarios"].iloc[0]
    assert row["id_aviso"] == medical["id_aviso"] and row["lat"] == medical["lat"]
    assert (row["hospital"], row["distancia_km"], row["eta_min"]) == ("H", 2.5, 6.7)
    assert row["routed_at"] == pd.Timestamp(T0, unit="ms", tz="UTC")
    letters = frame[frame["route"] == "dlq"]
    assert letters["lat"].isna().all() and "not JSON: x" in set(letters["motivo"])
    assert pd.isna(frame[frame["route"] == "centro_mando"].iloc[0]["hospital"])


def test_route_label_drops_prefix_and_namespace() -> None:
    assert data.route_label("x.emergencias.area.bomberos", "x.") == "area.bomberos"
    assert data.route_label("emergencias.dlq", "") == data.DEAD_LETTERS


@pytest.mark.parametrize(
    ("span_s", "step"),
    [(0, 1), (0.4, 0.01), (0.9, 0.05), (59, 1), (61, 5), (600, 10), (7200, 300)],
)
def test_bins_are_the_smallest_step_with_at_most_60_bins(span_s: float, step: float) -> None:
    times = pd.to_datetime([T0, T0 + int(span_s * 1000)], unit="ms", utc=True)
    assert data.bin_seconds(pd.DataFrame({"routed_at": times})) == step


def test_counts_over_time_per_route_and_bin() -> None:
    gen = CallGenerator(seed=4)
    records = {
        "a": [_record(gen.call(), T0 + ms) for ms in (0, 100, 200, 4_000)],
        "b": [_record(gen.call(), T0 + 2_500)],
    }
    counts = data.counts_over_time(data.calls(records))
    seconds = (counts["time"] - pd.Timestamp(T0, unit="ms", tz="UTC")).dt.total_seconds()
    got = {
        (r, int(s), n) for r, s, n in zip(counts["route"], seconds, counts["calls"], strict=True)
    }
    assert got == {("a", 0, 3), ("a", 4, 1), ("b", 2, 1)}  # 1 s bins over a 4 s span
    assert ((counts["end"] - counts["time"]) == pd.Timedelta(seconds=1)).all()
    assert data.counts_over_time(data.calls({})).empty


def test_calls_routed_within_a_second_are_more_than_one_bar() -> None:
    gen = CallGenerator(seed=5)
    records = {"a": [_record(gen.call(), T0 + ms) for ms in (0, 0, 120, 250, 480)]}
    counts = data.counts_over_time(data.calls(records))
    assert counts["calls"].tolist() == [2, 1, 1, 1]
    assert ((counts["end"] - counts["time"]) == pd.Timedelta(milliseconds=10)).all()


def test_map_moves_only_the_canaries_into_their_inset() -> None:
    frame = pd.DataFrame(
        {"lat": [40.4168, 28.4636, None], "lon": [-3.7038, -16.2518, None], "route": ["a"] * 3}
    )
    points = data.map_points(frame)
    assert len(points) == 2  # a dead letter has no place
    madrid, tenerife = points.iloc[0], points.iloc[1]
    assert (madrid["map_lon"], madrid["map_lat"]) == (-3.7038, 40.4168)
    lo_lon, hi_lon, lo_lat, hi_lat = data.CANARY_BOX
    assert lo_lon < tenerife["map_lon"] < hi_lon and lo_lat < tenerife["map_lat"] < hi_lat


def _signed_area(ring: list[list[float]]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def test_outline_is_spain_sized_wound_for_d3_and_holds_the_towns() -> None:
    from caudal.pipelines.emergencies.places import municipalities

    features = data.spain_outline()
    polygons = [f for f in features if f["geometry"]["type"] == "Polygon"]
    rings = [f["geometry"]["coordinates"][0] for f in polygons]
    # d3 (Vega's projection) fills the outside of a counter-clockwise ring: all clockwise
    assert all(_signed_area(r) < 0 for r in rings)
    peninsula = next(f for f in polygons if f["properties"]["nombre"] == "Península")
    km2 = -_signed_area(peninsula["geometry"]["coordinates"][0]) * 111.2 * 85.2
    assert 440_000 < km2 < 550_000  # the mainland is about 493,000 km²
    lo_lon, hi_lon, lo_lat, hi_lat = data.CANARY_BOX
    towns = data.map_points(municipalities().assign(route="a"))
    lon_min = min(x for r in rings for x, _ in r)
    assert towns["map_lon"].min() >= lon_min - 0.5 and towns["map_lat"].min() >= lo_lat


def test_map_chart_has_land_inset_and_one_dot_per_call() -> None:
    gen = CallGenerator(seed=5)
    frame = data.calls({"centro_mando": [_record(gen.call(), T0 + i) for i in range(7)]})
    spec = data.map_chart(data.map_points(frame), ["centro_mando", "dlq"]).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["geoshape", "geoshape", "circle"]
    dots = spec["datasets"][spec["layer"][2]["data"]["name"]]
    assert len(dots) == 7
    scale = spec["layer"][2]["encoding"]["color"]["scale"]
    assert scale["domain"] == ["centro_mando", "dlq"] and scale["range"][-1] == data.OTHER
