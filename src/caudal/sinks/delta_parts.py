"""Delta appends whose Parquet files the Python workers write and the driver commits (delta-rs).

Why: rows a Python worker already holds as Arrow would otherwise cross into the JVM for Spark
to encode them as Parquet, and that hand-off plus Spark's encoding cost ~20× the parse that
made the rows (``benchmarks/lakehouse_stages.py``). Here each task streams its rows into one
Parquet part file inside the table's folder (``PartWriter``, executor) and returns one small
row describing it; the driver commits the batch's parts as one Delta transaction carrying
``txn(app_id, batch)`` (``PartsTable``), so a batch replayed after a crash commits nothing
twice. A part whose attempt died before the commit is in no snapshot: readers never see it,
``VACUUM`` removes it. Spark reads such a table like any other Delta table, as a stream too.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from deltalake import DeltaTable

PART_FIELDS = [
    pa.field("part_path", pa.string()),
    pa.field("part_bytes", pa.int64()),
    pa.field("part_rows", pa.int64()),
    pa.field("part_modified", pa.int64()),
]
"""What a task reports per part: its path relative to the table, size, rows, mtime (ms)."""


@dataclass(frozen=True)
class Part:
    path: str
    bytes: int
    rows: int
    modified: int


def partition_dir(values: dict[str, str]) -> str:
    """Delta's (Hive-style) folder of a partition, e.g. ``_ingest_date=2026-12-02``. Values
    are taken as path-safe (dates): the folder's name is the add action's path as is."""
    return "/".join(f"{k}={v}" for k, v in values.items())


class PartWriter:
    """One task's part file; opened at the first rows, so a task without rows writes nothing.

    ``statistics``: the columns whose min/max Parquet keeps per row group (readers skip row
    groups by them); True for all. Computing them is ~15 % of the write of text columns.

    Runs on executors, inside a ``mapInArrow`` function."""

    def __init__(
        self,
        table: str,
        partition: dict[str, str],
        enabled: bool = True,
        statistics: bool | list[str] = True,
    ) -> None:
        self.relative = os.path.join(partition_dir(partition), f"part-{uuid.uuid4().hex}.parquet")
        self.path = os.path.join(table, self.relative)
        self.enabled, self.statistics = enabled, statistics
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None

    def write(self, rows: pa.Table | pa.RecordBatch) -> None:
        """Counts the rows; writes them too unless disabled (a replay whose table has them)."""
        self.rows += rows.num_rows
        if not self.enabled or rows.num_rows == 0:
            return
        if self._writer is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.path, rows.schema, compression="snappy", write_statistics=self.statistics
            )
        self._writer.write(rows)

    def close(self) -> Part | None:
        """The part's description (path empty when nothing was written), None without rows."""
        if self._writer is None:
            return Part("", 0, self.rows, 0) if self.rows else None
        self._writer.close()
        stat = os.stat(self.path)
        return Part(self.relative, stat.st_size, self.rows, int(stat.st_mtime * 1000))


class PartsTable:
    """A Delta table that parts are committed to; runs on the driver (``deltalake`` is
    imported here only: the executors' Python workers start without it)."""

    def __init__(self, path: Path, partition_by: list[str] | None = None) -> None:
        self.path = path.resolve()
        self.partition_by = partition_by or []

    def ensure(self, schema: pa.Schema) -> None:
        """Create the table, empty, or add the columns of ``schema`` it lacks (before a query
        starts, so a stream reading the table starts with every column)."""
        from deltalake import DeltaTable, Schema

        if not DeltaTable.is_deltatable(str(self.path)):
            DeltaTable.create(self.path, schema, mode="ignore", partition_by=self.partition_by)
            return
        table = DeltaTable(self.path)
        have = {f.name for f in table.schema().fields}
        new = [f for f in Schema.from_arrow(schema).fields if f.name not in have]
        if new:
            table.alter.add_columns(new)

    def committed(self, app_id: str, version: int) -> bool:
        """Has this table a commit of ``app_id`` at ``version`` or later?"""
        done = self._table().transaction_version(app_id)
        return done is not None and done >= version

    def commit(
        self, parts: list[Part], partition: dict[str, str], app_id: str, version: int
    ) -> None:
        """All of a batch's parts in one commit with ``txn(app_id, version)``."""
        from deltalake.transaction import AddAction, CommitProperties, RemoveAction, Transaction

        table = self._table()
        actions: list[AddAction | RemoveAction] = [
            AddAction(p.path, p.bytes, partition, p.modified, True, _stats(p))
            for p in parts
            if p.path
        ]
        table.create_write_transaction(
            actions,
            "append",
            table.schema(),
            self.partition_by,
            commit_properties=CommitProperties(app_transactions=[Transaction(app_id, version)]),
        )

    def _table(self) -> DeltaTable:
        from deltalake import DeltaTable

        return DeltaTable(self.path)


def _stats(part: Part) -> str:
    """The file statistics Delta readers need (column min/max are optional: no skipping)."""
    return json.dumps({"numRecords": part.rows})
