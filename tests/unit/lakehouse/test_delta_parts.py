"""Parts written by "workers" and committed by the "driver": exactly once per transaction id,
never visible before the commit, columns added before a stream would start (no Spark here:
the same calls the executors and the driver make)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from caudal.pipelines.lakehouse.caught_up import last_data_version
from caudal.sinks.delta_parts import Part, PartsTable, PartWriter

SCHEMA = pa.schema([pa.field("id", pa.string()), pa.field("day", pa.string())])
DAY = {"day": "2026-12-02"}


def _part(table: PartsTable, ids: list[str], write: bool = True) -> Part:
    writer = PartWriter(str(table.path), DAY, write)
    writer.write(pa.table({"id": ids}))
    part = writer.close()
    assert part is not None
    return part


def _ids(table: PartsTable) -> list[str]:
    return sorted(DeltaTable(table.path).to_pyarrow_table()["id"].to_pylist())


def test_a_batch_is_one_commit_and_its_replay_commits_nothing(tmp_path: Path) -> None:
    table = PartsTable(tmp_path / "t", ["day"])
    table.ensure(SCHEMA)
    assert last_data_version(table.path) == -1
    parts = [_part(table, ["a", "b"]), _part(table, ["c"])]
    assert _ids(table) == [], "a part is visible before its commit"
    assert not table.committed("app", 0)
    table.commit(parts, DAY, "app", 0)
    assert table.committed("app", 0) and not table.committed("app", 1)
    assert _ids(table) == ["a", "b", "c"]
    assert DeltaTable(table.path).to_pyarrow_table()["day"].unique().to_pylist() == ["2026-12-02"]
    assert last_data_version(table.path) == DeltaTable(table.path).version()


def test_a_replay_only_counts_and_the_dead_attempts_part_stays_unseen(tmp_path: Path) -> None:
    table = PartsTable(tmp_path / "t", ["day"])
    table.ensure(SCHEMA)
    _part(table, ["lost"])  # an attempt that died before its commit
    files = set(table.path.rglob("*.parquet"))
    assert _part(table, ["a", "b"], write=False) == Part("", 0, 2, 0)
    assert set(table.path.rglob("*.parquet")) == files, "a counting task wrote a file"
    table.commit([_part(table, ["a", "b"])], DAY, "app", 0)
    assert _ids(table) == ["a", "b"]


def test_ensure_adds_the_columns_a_table_lacks(tmp_path: Path) -> None:
    table = PartsTable(tmp_path / "t", ["day"])
    table.ensure(SCHEMA)
    table.commit([_part(table, ["a"])], DAY, "app", 0)
    data_version = DeltaTable(table.path).version()
    table.ensure(SCHEMA.append(pa.field("coupon", pa.string())))
    assert "coupon" in [f.name for f in DeltaTable(table.path).schema().fields]
    assert last_data_version(table.path) == data_version  # the new column added no file
    writer = PartWriter(str(table.path), DAY)
    writer.write(pa.table({"id": ["b"], "coupon": ["X"]}))
    part = writer.close()
    assert part is not None
    table.commit([part], DAY, "app", 1)
    rows = DeltaTable(table.path).to_pyarrow_table().to_pylist()
    assert sorted((r["id"], r["coupon"]) for r in rows) == [("a", None), ("b", "X")]


def test_a_task_without_rows_reports_no_part(tmp_path: Path) -> None:
    assert PartWriter(str(tmp_path), DAY).close() is None
