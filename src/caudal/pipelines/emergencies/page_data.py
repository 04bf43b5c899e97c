"""What the emergencies page shows, without Streamlit: per-route totals from the broker, the
newest routed calls over time and on a map of Spain.

Totals come from partition offsets (cheap, exact for any volume); the chart and map read only
the newest ``per_topic`` records of each route, so a page refresh costs the same after a
million calls as after a hundred. Anything that can go wrong (no broker, a bad routes file)
arrives as a ``CaudalError`` for the page to show as a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import resolve_bootstrap
from caudal.broker.tail import TailRecord, count_records, tail
from caudal.pipelines.emergencies.pipeline import DLQ, load_routes
from caudal.pipelines.emergencies.places import DATA
from caudal.settings import Settings
from caudal.ui.charts import OTHER, PALETTE

PER_TOPIC = 2_000
"""Newest records read per route topic for the chart and the map."""
BIN_SECONDS = (1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86_400)
SUB_SECOND_BINS = (0.01, 0.05, 0.1, 0.5)
"""For calls routed within one second: with 1 s bins the chart would be a single bar."""
MAX_BINS = 60
CANARY_SHIFT = (4.5, 7.0)
"""(lon, lat) degrees the Canary Islands move on the map, into an inset south-west of the
peninsula, as Spanish maps draw them (their true place would leave the map mostly ocean)."""
CANARY_BOX = (-13.9, -8.7, 34.4, 36.5)
"""(lon_min, lon_max, lat_min, lat_max) of the inset's frame, in map coordinates."""
FIELDS = ["id_aviso", "tipo", "urgencia", "municipio", "lat", "lon", "motivo"]
"""Fields of a routed call (or, for ``motivo``, of a dead letter) the page shows."""
ROUTE_PALETTE = [*PALETTE, "#ff9da6", "#9d755d"]
"""Nine distinct colours: the shipped eight routes each get their own."""
DESTINATION = ["hospital", "distancia_km", "eta_min"]
DEAD_LETTERS = "dlq"


@dataclass
class Snapshot:
    """What the page draws: ``totals`` (route, topic, calls), ``calls`` (the newest records
    of every route: route, routed_at, ``FIELDS`` and the medical destination if any)."""

    totals: pd.DataFrame
    calls: pd.DataFrame


def route_label(topic: str, prefix: str) -> str:
    """``<prefix>emergencias.area.bomberos`` → ``area.bomberos``: what a person calls it."""
    return topic.removeprefix(prefix).removeprefix("emergencias.")


def load(settings: Settings, per_topic: int = PER_TOPIC) -> Snapshot:
    """Totals and newest calls of every configured route and the DLQ, from the broker."""
    topics = [r.topic for r in load_routes(settings)] + [settings.topic(DLQ)]
    admin = TopicAdmin(settings, resolve_bootstrap(settings))
    try:
        existing = admin.topics()
        totals, records = [], {}
        for topic in topics:
            present = topic in existing
            count = count_records(settings, admin, topic) if present else 0
            totals.append((route_label(topic, settings.topic_prefix), topic, count))
            if count:
                records[route_label(topic, settings.topic_prefix)] = tail(
                    settings, admin, topic, per_topic
                )
    finally:
        admin.close()
    return Snapshot(pd.DataFrame(totals, columns=["route", "topic", "calls"]), calls(records))


def calls(records: Mapping[str, Iterable[TailRecord]]) -> pd.DataFrame:
    """One row per record: its route, when it was routed (the record's broker time) and the
    call's fields; a dead letter keeps its id but has no place (it never became a call)."""
    rows = []
    for route, recs in records.items():
        for r in recs:
            value = _json(r.value)
            rows.append(
                {
                    "route": route,
                    "routed_at": pd.Timestamp(r.timestamp_ms, unit="ms", tz="UTC"),
                    **{c: value.get(c) for c in FIELDS},
                    **_destination(value.get("destino")),
                }
            )
    frame = pd.DataFrame(rows, columns=["route", "routed_at", *FIELDS, *DESTINATION])
    for column in ("lat", "lon", "distancia_km", "eta_min"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.sort_values("routed_at", ascending=False, ignore_index=True)


def _json(value: bytes | None) -> dict[str, Any]:
    try:
        parsed = json.loads(value) if value is not None else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _destination(dest: Any) -> dict[str, Any]:
    if not isinstance(dest, dict):
        return {}
    return {k: dest.get(k) for k in DESTINATION}


def bin_seconds(calls: pd.DataFrame) -> float:
    """The smallest bin that splits the span of the calls into at most ``MAX_BINS`` steps
    (sub-second bins when the calls came within a second, but not all at one instant)."""
    if calls.empty:
        return BIN_SECONDS[0]
    span = (calls["routed_at"].max() - calls["routed_at"].min()).total_seconds()
    steps: tuple[float, ...] = SUB_SECOND_BINS if 0 < span < 1 else BIN_SECONDS
    return next((s for s in steps if span / s <= MAX_BINS), steps[-1])


def counts_over_time(calls: pd.DataFrame) -> pd.DataFrame:
    """``time, end, route, calls``: records routed per route in each time bin [time, end)."""
    if calls.empty:
        empty = pd.Series(dtype="datetime64[ns, UTC]")
        return pd.DataFrame({"time": empty, "end": empty, "route": [], "calls": []})
    step = pd.Timedelta(seconds=bin_seconds(calls))
    binned = calls.assign(time=calls["routed_at"].dt.floor(step))
    counts = binned.groupby(["time", "route"]).size().rename("calls").reset_index()
    counts.insert(1, "end", counts["time"] + step)
    return counts


def map_points(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls that have a place, in map coordinates (the Canary Islands moved to their inset)."""
    placed = calls.dropna(subset=["lat", "lon"]).copy()
    canary = placed["lat"] < 30
    placed["map_lon"] = placed["lon"] + canary * CANARY_SHIFT[0]
    placed["map_lat"] = placed["lat"] + canary * CANARY_SHIFT[1]
    return placed


@lru_cache(maxsize=1)
def spain_outline() -> list[dict[str, Any]]:
    """Bundled, simplified outline of Spain (GeoJSON features; Canaries already in the inset)."""
    features = json.loads((DATA / "contorno_espana.json").read_text())["features"]
    for feature in features:
        ring = feature["geometry"]["coordinates"][0]
        if all(lat < 30 for _, lat in ring):
            shifted = [[lon + CANARY_SHIFT[0], lat + CANARY_SHIFT[1]] for lon, lat in ring]
            feature["geometry"]["coordinates"] = [shifted]
    lo_lon, hi_lon, lo_lat, hi_lat = CANARY_BOX
    corners = [[lo_lon, lo_lat], [hi_lon, lo_lat], [hi_lon, hi_lat], [lo_lon, hi_lat]]
    frame = [*corners, corners[0]]
    inset = {"type": "LineString", "coordinates": frame}
    return [*features, {"type": "Feature", "properties": {"nombre": "inset"}, "geometry": inset}]


def route_colours(routes: list[str]) -> alt.Scale:
    """One colour per route, fixed by the order of the routes file; dead letters in grey."""
    named = [r for r in routes if r != DEAD_LETTERS]
    colours = [ROUTE_PALETTE[i % len(ROUTE_PALETTE)] for i in range(len(named))]
    return alt.Scale(domain=[*named, DEAD_LETTERS], range=[*colours, OTHER])


def timeline_chart(counts: pd.DataFrame, routes: list[str]) -> alt.Chart:
    """Stacked bars per time bin (bars, not lines: a run routed within one bin still shows)."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("time:T", title=None),
            x2="end:T",
            y=alt.Y("sum(calls):Q", title="calls per bin", stack="zero"),
            color=alt.Color("route:N", scale=route_colours(routes), title="route"),
            order=alt.Order("route:N"),
            tooltip=["route", alt.Tooltip("time:T", format="%H:%M:%S.%L"), "calls"],
        )
        .properties(height=300)
    )


def map_chart(points: pd.DataFrame, routes: list[str]) -> alt.LayerChart:
    """Spain (bundled outline, no map tiles: works offline) with each call as a dot."""
    outline = spain_outline()
    land = (
        alt.Chart(alt.Data(values=outline[:-1]))
        .mark_geoshape(fill="#eef0f3", stroke="#9aa0a8", strokeWidth=0.8)
        .project("mercator")
    )
    inset = (
        alt.Chart(alt.Data(values=outline[-1:]))
        .mark_geoshape(filled=False, stroke="#9aa0a8", strokeDash=[4, 3])
        .project("mercator")
    )
    dots = (
        alt.Chart(points[["map_lon", "map_lat", "route", "municipio", "tipo", "urgencia"]])
        .mark_circle(size=18, opacity=0.7)
        .encode(
            longitude="map_lon:Q",
            latitude="map_lat:Q",
            color=alt.Color("route:N", scale=route_colours(routes), title="route"),
            tooltip=["route", "municipio", "tipo", "urgencia"],
        )
        .project("mercator")
    )
    return (land + inset + dots).properties(height=520)
