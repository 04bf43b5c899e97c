"""`DeltaSink`: executors write the Parquet, the driver commits with a Delta txn; a batch
replayed after a crash at any point is in the table once, and other engines read the table."""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable
from lakehouse_duck import duck

from caudal.sinks.delta import DeltaSink


def _batch(spark, start: int, n: int):  # type: ignore[no-untyped-def]
    return spark.range(start, start + n).selectExpr(
        "id", "CAST(id % 3 AS STRING) AS part", "current_timestamp() AS at"
    )


def test_replays_commit_nothing_twice(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = tmp_path / "table"
    sink = DeltaSink(table, "test.query", partition_by=["part"])
    write = sink.bind(tmp_path / "checkpoint")
    write(_batch(spark, 0, 100), 0)
    write(_batch(spark, 0, 100), 0)  # replay after the commit marker: skipped by the log
    assert sink.batches_skipped == 1

    # a crash after the Delta commit but before the batch log's: Delta's txn skips it
    (tmp_path / "checkpoint" / "sinks" / "table" / "commit" / "0").unlink()
    again = DeltaSink(table, "test.query", partition_by=["part"])
    again.bind(tmp_path / "checkpoint")(_batch(spark, 0, 100), 0)
    app = sink.app_id
    assert app.startswith("test.query.") and again.app_id == app  # same checkpoint, same id
    # a crash after the executors wrote the batch's Parquet, before any commit: replaced
    sink.writer.append_spark(_batch(spark, 100, 50), app, 5)
    assert DeltaTable(str(table)).transaction_version(app) == 5
    orphan = table / "batches" / f"{app}-0000000006"
    _batch(spark, 150, 10).write.partitionBy("part").parquet(str(orphan))
    write(_batch(spark, 150, 10), 6)

    con = duck()
    rows = con.sql(f"SELECT id, part FROM delta_scan('{table}')").fetchall()
    assert sorted(i for i, _ in rows) == list(range(160))
    assert {p for i, p in rows} == {"0", "1", "2"} and all(str(i % 3) == p for i, p in rows)
    stored = DeltaTable(str(table))
    assert stored.metadata().partition_columns == ["part"]
    assert stored.count() == 160

    # a new checkpoint is a new query: its batch 0 is written, not taken for the old one's
    fresh = DeltaSink(table, "test.query", partition_by=["part"])
    fresh.bind(tmp_path / "new-checkpoint")(_batch(spark, 160, 5), 0)
    assert fresh.app_id != app and DeltaTable(str(table)).count() == 165
