"""Delta tables written by Spark (delta-spark): a micro-batch replayed after a crash at any point
is in the table once, through the batch log, Delta's ``txnAppId``/``txnVersion``, or (silver's
MERGE) its own condition; a new checkpoint is a new writer; other engines read the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from delta.tables import DeltaTable

from caudal.sinks.base import SinkContext
from caudal.sinks.delta import SNAPSHOT_PARTITIONS, DeltaSink, DeltaTableWriter, prepare_session
from tests.support.lakehouse import duck


def _batch(spark: Any, start: int, n: int) -> Any:
    return spark.range(start, start + n).selectExpr(
        "id", "CAST(id % 3 AS STRING) AS part", "current_timestamp() AS at"
    )


def _versions(spark: Any, path: Path) -> list[int]:
    history = DeltaTable.forPath(spark, str(path)).history().select("version").collect()
    return sorted(row.version for row in history)


def test_replays_commit_nothing_twice(spark: Any, tmp_path: Path) -> None:
    table = tmp_path / "table"
    sink = DeltaSink(table, "test.query", partition_by=["part"])
    sink.open(SinkContext(spark, tmp_path / "checkpoint"))
    write = sink.write
    write(_batch(spark, 0, 100), 0)
    write(_batch(spark, 0, 100), 0)  # replay after the commit marker: skipped by the log
    assert sink.batches_skipped == 1

    # a crash after the Delta commit but before the batch log's: Delta's txn skips it
    (tmp_path / "checkpoint" / "sinks" / "table" / "commit" / "0").unlink()
    committed = _versions(spark, table)
    again = DeltaSink(table, "test.query", partition_by=["part"])
    again.open(SinkContext(spark, tmp_path / "checkpoint"))
    again.write(_batch(spark, 0, 100), 0)
    app = sink.app_id
    assert app.startswith("test.query.") and again.app_id == app  # same checkpoint, same id
    assert _versions(spark, table) == committed

    # a crash after the executors wrote files, before Delta's commit: in no snapshot
    _batch(spark, 900, 10).write.mode("append").partitionBy("part").parquet(str(table))
    write(_batch(spark, 150, 10), 6)

    con = duck()
    rows = con.sql(f"SELECT id, part FROM delta_scan('{table}')").fetchall()
    assert sorted(i for i, _ in rows) == [*range(100), *range(150, 160)]
    assert {p for i, p in rows} == {"0", "1", "2"} and all(str(i % 3) == p for i, p in rows)
    assert DeltaTable.forPath(spark, str(table)).detail().first().partitionColumns == ["part"]

    # a new checkpoint is a new query: its batch 0 is written, not taken for the old one's
    fresh = DeltaSink(table, "test.query", partition_by=["part"])
    fresh.open(SinkContext(spark, tmp_path / "new-checkpoint"))
    fresh.write(_batch(spark, 160, 5), 0)
    assert fresh.app_id != app and spark.read.format("delta").load(str(table)).count() == 115


def test_the_same_txn_app_id_and_version_twice_adds_nothing(spark: Any, tmp_path: Path) -> None:
    writer = DeltaTableWriter(tmp_path / "bronze", ["part"])
    writer.append(_batch(spark, 0, 10), "lakehouse.q.abc", 3)
    writer.append(_batch(spark, 0, 10), "lakehouse.q.abc", 3)
    writer.append(_batch(spark, 0, 10), "lakehouse.q.abc", 2)  # an older batch: also done
    assert _versions(spark, tmp_path / "bronze") == [0]
    writer.append(_batch(spark, 10, 5), "lakehouse.q.abc", 4)
    writer.append(_batch(spark, 10, 5), "lakehouse.q.other", 3)  # another writer's own ids
    assert spark.read.format("delta").load(str(tmp_path / "bronze")).count() == 20


def _sales(spark: Any, rows: list[tuple[str, str, int, str]]) -> Any:
    return spark.createDataFrame(
        rows, "order_id string, ordered_at string, _batch_id long, note string"
    ).selectExpr("order_id", "CAST(ordered_at AS TIMESTAMP) AS ordered_at", "_batch_id", "note")


def test_silver_merge_is_idempotent_with_and_without_its_transaction_id(
    spark: Any, tmp_path: Path
) -> None:
    path = tmp_path / "silver"
    silver = DeltaTableWriter(path)

    def merge(rows: list[tuple[str, str, int, str]], app: str, batch: int) -> None:
        silver.merge_latest(
            _sales(spark, rows), ["order_id"], "ordered_at", "_batch_id", app, batch
        )

    def table() -> list[tuple[str, int, str]]:
        frame = spark.read.format("delta").load(str(path)).orderBy("order_id")
        return [(r.order_id, r._batch_id, r.note) for r in frame.collect()]

    merge([("O1", "2026-01-01 10:00", 0, "first"), ("O2", "2026-01-01 10:00", 0, "first")], "a", 0)
    batch_1 = [
        ("O1", "2026-01-01 11:00", 1, "later event"),
        ("O2", "2026-01-01 09:00", 1, "older event"),
        ("O3", "2026-01-01 10:00", 1, "new key"),
    ]
    merge(batch_1, "a", 1)
    after = table()
    assert after == [("O1", 1, "later event"), ("O2", 0, "first"), ("O3", 1, "new key")]
    committed = _versions(spark, path)

    merge(batch_1, "a", 1)  # replay, same transaction id: Delta commits nothing
    assert _versions(spark, path) == committed and table() == after

    replayed = [(k, t, b, "replayed: ingested again") for k, t, b, _ in batch_1]
    merge(replayed, "no-txn", 1)  # as if the id were ignored: the condition changes no row
    assert table() == after

    tie = [("O2", "2026-01-01 10:00", 2, "same event time, later batch")]
    merge(tie, "a", 2)
    assert table()[1] == ("O2", 2, "same event time, later batch")
    assert spark.conf.get("spark.databricks.delta.write.txnAppId", None) is None


def test_log_replay_partitions_are_set_unless_the_user_set_them(spark: Any) -> None:
    before = spark.conf.get(SNAPSHOT_PARTITIONS, None)
    try:
        spark.conf.set(SNAPSHOT_PARTITIONS, "8")  # as CAUDAL_SPARK_CONF would
        prepare_session(spark)
        assert spark.conf.get(SNAPSHOT_PARTITIONS) == "8"
        spark.conf.unset(SNAPSHOT_PARTITIONS)
        prepare_session(spark)
        assert spark.conf.get(SNAPSHOT_PARTITIONS) == "1"
    finally:
        spark.conf.unset(SNAPSHOT_PARTITIONS)
        if before is not None:
            spark.conf.set(SNAPSHOT_PARTITIONS, before)
