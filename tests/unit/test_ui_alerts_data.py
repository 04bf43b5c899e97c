"""The alerts page's rules, without a browser: loading, flags, filters, stamps to PNG."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from caudal.errors import CaudalError
from caudal.pipelines.alerts import page_data as data
from caudal.pipelines.alerts.stamps import StampError, encode_stamp

CLASSES = ["SN", "bogus"]


def _rows() -> pd.DataFrame:
    """Four alerts as the pipeline writes them: two classified, two with problems."""
    return pd.DataFrame(
        {
            "objectId": ["ZTF1", "ZTF2", "ZTF3", "ZTF4"],
            "candid": [11, 12, 13, 14],
            "class": ["SN", "bogus", None, None],
            "confidence": [0.9, 0.8, None, None],
            "p_SN": [0.9, 0.2, None, None],
            "p_bogus": [0.1, 0.8, None, None],
            "magpsf": [18.1, 19.2, 17.0, None],
            "source_file": ["a.avro", "b.avro", "c.avro", None],
            "has_metadata": [True, True, True, True],
            "has_cutouts": [True, True, True, False],
            "cutouts_valid": [True, True, False, False],
            "classified": [True, True, False, False],
            "error": [None, None, "corrupt cutout: bad gzip", "cutouts never arrived"],
        }
    )


def _stamp(seed: int = 0) -> np.ndarray:
    image = np.random.default_rng(seed).normal(100.0, 5.0, (63, 63)).astype(np.float32)
    image[31, 31] += 2000.0
    return image


def test_csv_loads_newest_first_with_flags(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    _rows().to_csv(path, index=False)
    frame = data.load_results(path)
    assert list(frame["candid"]) == [14, 13, 12, 11]
    assert list(frame["flags"]) == ["no cutouts", "bad cutouts", "classified", "classified"]
    assert list(frame["class"]) == [data.UNCLASSIFIED, data.UNCLASSIFIED, "bogus", "SN"]


def test_a_half_written_last_row_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    text = _rows().to_csv(index=False)
    path.write_text(text + "ZTF5,15,SN,0.")
    assert len(data.load_results(path)) == 4


def test_parquet_folder_reads_finished_batches_only(tmp_path: Path) -> None:
    folder = tmp_path / "alerts.parquet"
    folder.mkdir()
    _rows().iloc[:2].to_parquet(folder / "part-00000000.parquet")
    _rows().iloc[2:].to_parquet(folder / "part-00000001.parquet")
    (folder / ".part-00000002.parquet.tmp").write_bytes(b"half a file")
    assert sorted(data.load_results(folder)["candid"]) == [11, 12, 13, 14]


def test_empty_outputs_are_empty_frames(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "empty.parquet").mkdir()
    for name in ("empty.csv", "empty.parquet"):
        assert data.load_results(tmp_path / name).empty


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        ("a,b\n1,2\n", "not alerts output"),
        ("a,b\n1,2\n1,2,3,4\n", "cannot read"),
    ],
)
def test_unusable_files_raise_one_clear_error(tmp_path: Path, content: str | None, reason: str):
    path = tmp_path / "results.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CaudalError, match=reason) as info:
        data.load_results(path)
    assert info.value.hint and "caudal" in info.value.hint


def test_filters_by_class_and_by_flags() -> None:
    frame = _rows()
    assert list(data.filter_alerts(frame, [], "all")["candid"]) == [11, 12, 13, 14]
    assert list(data.filter_alerts(frame, ["SN"], "all")["candid"]) == [11]
    assert list(data.filter_alerts(frame, [], "classified")["candid"]) == [11, 12]
    assert list(data.filter_alerts(frame, [], "errors")["candid"]) == [13, 14]
    assert data.filter_alerts(frame, ["SN"], "errors").empty


def test_counts_probabilities_and_table_view(tmp_path: Path) -> None:
    path = tmp_path / "alerts.csv"
    _rows().to_csv(path, index=False)
    frame = data.load_results(path)
    counts = data.class_counts(frame)
    assert counts.iloc[0].tolist() == [data.UNCLASSIFIED, 2]
    assert counts["alerts"].sum() == 4
    probs = data.probabilities(frame.iloc[-1])
    assert probs.to_dict("list") == {"class": CLASSES, "probability": [0.9, 0.1]}
    assert data.probabilities(frame.iloc[0]).empty
    view = data.table_view(frame)
    assert list(view.columns) == data.TABLE_COLUMNS
    assert view["candid"].tolist()[-1] == "11" and view["confidence"].tolist()[-1] == 90.0
    assert view["error"].tolist()[-1] == ""


def test_default_output_is_the_cli_argument_else_the_demo_file() -> None:
    assert data.default_output(["/x/alerts.csv"]) == Path("/x/alerts.csv")
    assert data.default_output([]) == data.DEMO_OUTPUT


def test_stamp_png_is_upscaled_north_up_with_masked_pixels_coloured() -> None:
    image = _stamp()
    image[0, :] = np.nan  # FITS row 0 is the bottom row of the picture
    png = Image.open(io.BytesIO(data.stamp_png(encode_stamp(image), scale=2)))
    assert png.format == "PNG" and png.size == (126, 126)
    pixels = np.asarray(png.convert("RGB"))
    assert tuple(pixels[-1, 0]) == data.MASKED_RGB and tuple(pixels[0, 0]) != data.MASKED_RGB
    centre = pixels[62, 62]
    assert centre[0] == centre[1] == centre[2] == 255  # the bright source, top of the stretch


def test_stamp_png_on_a_flat_stamp_and_bad_bytes() -> None:
    assert data.stamp_png(encode_stamp(np.full((63, 63), 7.0)))[:4] == b"\x89PNG"
    with pytest.raises(StampError, match="all masked"):
        data.stamp_png(encode_stamp(np.full((63, 63), np.nan)))
    for bad in (None, b"", b"\x1f\x8b garbage", b"not fits"):
        with pytest.raises(StampError):
            data.stamp_png(bad)


def _alert_file(path: Path, candid: int, difference: bytes) -> str:
    schema = {
        "type": "record",
        "name": "alert",
        "fields": [
            {"name": "objectId", "type": "string"},
            {"name": "candid", "type": "long"},
            {"name": "candidate", "type": {"type": "map", "values": "long"}},
            *[
                {"name": n, "type": ["null", {"type": "map", "values": "bytes"}]}
                for n in ("cutoutScience", "cutoutTemplate", "cutoutDifference")
            ],
        ],
    }
    stamp = encode_stamp(_stamp())
    alerts = [
        {
            "objectId": f"ZTF{c}",
            "candid": c,
            "candidate": {"candid": c},
            "cutoutScience": {"stampData": stamp},
            "cutoutTemplate": None,
            "cutoutDifference": {"stampData": difference},
        }
        for c in (candid - 1, candid)
    ]
    with path.open("wb") as fh:
        fastavro.writer(fh, schema, alerts)
    return str(path)


def test_stamp_images_by_candid_with_a_reason_per_bad_stamp(tmp_path: Path) -> None:
    source = _alert_file(tmp_path / "two.avro", 42, b"\x1f\x8b garbage")
    images = data.stamp_images(source, 42)
    assert list(images) == ["science", "template", "difference"]
    assert isinstance(images["science"], bytes) and images["science"][:4] == b"\x89PNG"
    assert "empty stamp" in str(images["template"])
    assert "corrupt gzip" in str(images["difference"])


@pytest.mark.parametrize(
    ("source", "reason"),
    [(None, "no source file"), ("/nowhere/gone.avro", "is not here"), ("two.avro", "not in")],
)
def test_stamp_images_explain_a_missing_file_or_alert(
    tmp_path: Path, source: str | None, reason: str
) -> None:
    if source == "two.avro":
        source = _alert_file(tmp_path / source, 42, b"")
    with pytest.raises(CaudalError, match=reason):
        data.stamp_images(source if source else float("nan"), 7)


def test_a_file_that_is_not_avro_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.avro"
    path.write_text("this is not avro")
    with pytest.raises(CaudalError, match="cannot read alerts"):
        data.stamp_images(str(path), 1)
