"""Delta tables written with ``deltalake`` (delta-rs): Spark's Delta jars cannot be fetched here.

Exactly-once comes from Delta itself: every commit carries a ``txn`` action (app id, version)
and a write whose app id already reached that version is skipped, so a micro-batch replayed
after a crash commits nothing twice, whatever it had done before dying. Large appends are
written by Spark's executors as Parquet under the table folder (one folder per batch attempt,
replaced on replay) and only their file list is committed by the driver, so a batch never has
to fit in the driver's memory. Small writes (quarantine rows, merges, aggregates) go through
Arrow on the driver.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.transaction import AddAction, RemoveAction

from caudal.sinks.base import BatchSink
from caudal.sinks.batch_log import BatchLog, atomic_write

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_LOCKS: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
BATCHES_DIR = "batches"


def spark_to_arrow_schema(df: DataFrame) -> pa.Schema:
    """The Arrow schema Spark's Parquet writer produces (timestamps as UTC microseconds)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(df.schema, timezone="UTC")


def arrow_schema(table: DeltaTable) -> pa.Schema:
    """The table's schema as a pyarrow schema (deltalake hands out arro3 objects)."""
    return pa.schema(table.schema().to_arrow())


class DeltaTableWriter:
    """One Delta table; every write is a single commit, idempotent per ``(app_id, version)``."""

    def __init__(self, path: Path, partition_by: list[str] | None = None) -> None:
        self.path = path
        self.partition_by = partition_by or []
        self.lock = _LOCKS[str(path.resolve())]

    def table(self) -> DeltaTable | None:
        return DeltaTable(str(self.path)) if DeltaTable.is_deltatable(str(self.path)) else None

    def done(self, app_id: str, version: int) -> bool:
        table = self.table()
        last = table.transaction_version(app_id) if table else None
        return last is not None and last >= version

    def ensure(self, schema: pa.Schema) -> None:
        """Create the table now, empty, if it is new: readers find it before its first row."""
        with self.lock:
            self._ensure(schema)

    def _ensure(self, schema: pa.Schema) -> DeltaTable:
        """The table, created if new; columns the batch adds are added (nullable) first."""
        table = self.table()
        if table is None:
            return DeltaTable.create(str(self.path), schema, partition_by=self.partition_by)
        known = set(arrow_schema(table).names)
        added = [f.with_nullable(True) for f in schema if f.name not in known]
        if added:
            from deltalake.schema import Field

            table.alter.add_columns([Field.from_arrow(f) for f in added])
            table = DeltaTable(str(self.path))
        return table

    def append_spark(self, df: DataFrame, app_id: str, version: int) -> int:
        """Executors write the Parquet files, the driver commits them; returns rows added."""
        if self.done(app_id, version):
            return 0
        folder = f"{BATCHES_DIR}/{_safe(app_id)}-{version:010d}"
        df.sparkSession.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        writer = df.write.mode("overwrite")
        if self.partition_by:
            writer = writer.partitionBy(*self.partition_by)
        writer.parquet(str((self.path / folder).resolve()))
        actions, rows = self._actions(folder)
        with self.lock:
            table = self._ensure(spark_to_arrow_schema(df))
            table.create_write_transaction(
                list(actions),
                "append",
                table.schema(),
                partition_by=self.partition_by or None,
                commit_properties=_txn(app_id, version),
            )
        return rows

    def _actions(self, folder: str) -> tuple[list[AddAction | RemoveAction], int]:
        actions: list[AddAction | RemoveAction] = []
        rows = 0
        for file in sorted((self.path / folder).rglob("*.parquet")):
            relative = file.relative_to(self.path).as_posix()
            parts = [p.split("=", 1) for p in relative.split("/") if "=" in p]
            count = pq.read_metadata(file).num_rows
            stat = file.stat()
            actions.append(
                AddAction(
                    relative,
                    stat.st_size,
                    {k: v for k, v in parts if k in self.partition_by},
                    int(stat.st_mtime * 1000),
                    True,
                    json.dumps({"numRecords": count}),
                )
            )
            rows += count
        return actions, rows

    def append_arrow(self, data: pa.Table, app_id: str, version: int) -> int:
        with self.lock:
            if self.done(app_id, version):
                return 0
            write_deltalake(
                str(self.path),
                data,
                mode="append",
                partition_by=self.partition_by or None,
                schema_mode="merge",
                commit_properties=_txn(app_id, version),
            )
        return data.num_rows

    def merge_latest(
        self, data: pa.Table, keys: list[str], order: str, app_id: str, version: int
    ) -> int:
        """Upsert on ``keys``; a stored row with a later ``order`` is kept."""
        with self.lock:
            if self.done(app_id, version):
                return 0
            table = self.table()
            if table is None:
                write_deltalake(
                    str(self.path), data, mode="append", commit_properties=_txn(app_id, version)
                )
                return data.num_rows
            on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
            (
                table.merge(
                    data,
                    on,
                    source_alias="s",
                    target_alias="t",
                    merge_schema=True,
                    commit_properties=_txn(app_id, version),
                )
                .when_matched_update_all(predicate=f"s.`{order}` >= t.`{order}`")
                .when_not_matched_insert_all()
                .execute()
            )
        return data.num_rows

    def replace(self, data: pa.Table) -> int:
        """Overwrite the whole table (derived tables: a recomputation is idempotent by nature)."""
        with self.lock:
            write_deltalake(str(self.path), data, mode="overwrite", schema_mode="overwrite")
        return data.num_rows


def _txn(app_id: str, version: int) -> CommitProperties:
    return CommitProperties(
        app_transactions=[Transaction(app_id, version, int(time.time() * 1000))]
    )


def checkpoint_app_id(name: str, log_dir: Path) -> str:
    """``name`` plus an id kept in the query's checkpoint (``log_dir``, the sink's batch log).

    Delta's txn versions are batch ids, and batch ids start again at 0 in a new checkpoint (a
    user's reset, the runner discarding a memory broker's checkpoints): under the same app id
    its batches would be skipped as already written. The id lives as long as the checkpoint.
    """
    path = log_dir / "delta-app-id"
    if not path.exists():
        log_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, f"{name}.{uuid.uuid4().hex[:12]}")
    return path.read_text()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


class DeltaSink(BatchSink):
    """A streaming query's rows appended to one Delta table, exactly once per micro-batch."""

    def __init__(self, path: Path, app_id: str, partition_by: list[str] | None = None) -> None:
        super().__init__(path.name)
        self.writer = DeltaTableWriter(path, partition_by)
        self.app_name = self.app_id = app_id

    def bind(self, checkpoint: Path) -> Callable[[DataFrame, int], None]:
        self.app_id = checkpoint_app_id(self.app_name, checkpoint / "sinks" / self.name)
        return super().bind(checkpoint)

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> dict[str, Any]:
        return {"rows": self.writer.append_spark(df, self.app_id, batch_id)}
