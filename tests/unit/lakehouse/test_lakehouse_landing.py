"""Every way a landing file can be bad becomes a quarantine row with the reason; the rest lands."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from caudal.pipelines.lakehouse.generate import generate_files
from caudal.pipelines.lakehouse.landing import read_file
from caudal.pipelines.lakehouse.spec import load

LAKE = load()
MB = 2**20


def _read(dataset: str, path: Path, max_bytes: int = 64 * MB) -> pa.Table:
    batches = list(read_file(LAKE.datasets[dataset], path.as_uri(), path.stat().st_size, max_bytes))
    return pa.Table.from_batches(batches)


def _good(table: pa.Table) -> list[dict]:
    return [r for r in table.to_pylist() if r["_rule"] is None]


def _bad(table: pa.Table) -> list[dict]:
    return [r for r in table.to_pylist() if r["_rule"] is not None]


@pytest.mark.parametrize(
    ("dataset", "suffix"), [("inventory", "csv"), ("shipments", "jsonl"), ("weather", "parquet")]
)
def test_generated_files_land_whole_as_text(tmp_path: Path, dataset: str, suffix: str) -> None:
    fmt = LAKE.datasets[dataset].format
    [path] = generate_files(tmp_path, dataset, str(fmt), 40, seed=3)
    assert path.suffix == f".{suffix}" and not list(path.parent.glob(".*"))
    table = _read(dataset, path)
    rows = _good(table)
    expected = 40 * 6 if dataset == "weather" else 40  # weather: days x regions
    assert len(rows) == expected and not _bad(table)
    assert all(
        isinstance(r[c.name], str)
        for r in rows
        for c in LAKE.datasets[dataset].columns
        if not c.optional
    )
    assert {r["_source_file"] for r in rows} == {path.as_uri()}
    assert [r["_row"] for r in rows][:3] == [1, 2, 3]


def test_malformed_csv_line_is_rejected_alone(tmp_path: Path) -> None:
    [path] = generate_files(tmp_path, "inventory", "csv", 10, seed=1)
    lines = path.read_text().splitlines()
    lines.insert(4, "P00001,broken line with too few fields")
    path.write_text("\n".join(lines) + "\n")
    table = _read("inventory", path)
    assert len(_good(table)) == 10
    [bad] = _bad(table)
    assert bad["_rule"] == "malformed_csv"
    assert "2 fields, expected 8" in bad["_reason"]
    assert bad["_raw"] == "P00001,broken line with too few fields"


def test_csv_extra_columns_are_rescued_and_missing_ones_reject_the_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra.csv"
    extra.write_text(
        "sensor_id,farm,region,metric,value,reading_at,battery\nS01,F,Murcia,humidity,50,2026-01-01T00:00:00,87\n"
    )
    [row] = _good(_read("sensors", extra))
    assert json.loads(row["_rescued_data"]) == {"battery": "87"}
    missing = tmp_path / "missing.csv"
    missing.write_text("sensor_id,farm\nS01,F\n")
    [bad] = _bad(_read("sensors", missing))
    assert bad["_rule"] == "schema_mismatch" and "missing column(s) region" in bad["_reason"]


def test_json_file_that_is_not_json_is_one_rejection(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"this is not json\n<xml/>\n\x00\x01\x02\n")
    table = _read("shipments", path)
    [bad] = _bad(table)
    assert not _good(table)
    assert bad["_rule"] == "not_json" and "line 1" in bad["_reason"]


def test_one_bad_json_line_among_good_ones(tmp_path: Path) -> None:
    [path] = generate_files(tmp_path, "shipments", "json", 5, seed=2)
    path.write_text(path.read_text() + '{"shipment_id": "SH-x", \n[1, 2]\n')
    table = _read("shipments", path)
    assert len(_good(table)) == 5
    assert sorted(b["_rule"] for b in _bad(table)) == ["malformed_json", "malformed_json"]
    assert any("a JSON list, not an object" in b["_reason"] for b in _bad(table))


def test_a_json_line_nested_too_deeply_is_one_bad_line(tmp_path: Path) -> None:
    [path] = generate_files(tmp_path, "shipments", "json", 3, seed=2)
    path.write_text(path.read_text() + "[" * 100_000 + "\n")
    table = _read("shipments", path)
    assert len(_good(table)) == 3
    assert [b["_rule"] for b in _bad(table)] == ["malformed_json"]


def test_parquet_with_wrong_schema_or_not_parquet(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"city": ["Lugo"], "temperature": [12.0]}), wrong)
    [bad] = _bad(_read("weather", wrong))
    assert bad["_rule"] == "schema_mismatch" and "missing column(s) region" in bad["_reason"]
    fake = tmp_path / "fake.parquet"
    fake.write_text("region,day\nMurcia,2026-01-01\n")
    [bad] = _bad(_read("weather", fake))
    assert bad["_rule"] == "unreadable_parquet"


def test_empty_and_huge_files_are_rejected_unread(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    [bad] = _bad(_read("inventory", empty))
    assert bad["_rule"] == "empty_file"
    [big] = generate_files(tmp_path, "inventory", "csv", 20_000, seed=1)
    [bad] = _bad(_read("inventory", big, max_bytes=MB))
    assert bad["_rule"] == "file_too_large" and "over the 1 MiB limit" in bad["_reason"]
