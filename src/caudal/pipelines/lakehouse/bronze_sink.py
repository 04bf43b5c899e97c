"""One dataset's micro-batch into bronze: parts written by the workers, one Delta commit.

Runs on the driver (``foreachBatch``). The batch's Delta commit carries the transaction id
``(lakehouse.<query>.<checkpoint id>, batch)``: a batch replayed after a crash finds it and
writes no part again, only counts its rows and quarantines its rejects, which their own
transaction id keeps from doubling. Bronze thus holds every good input row exactly once
whatever the crash point. Silver is another query, reading bronze as a Delta stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from caudal.pipelines.lakehouse.bronze import (
    OUT_SCHEMA,
    Batches,
    bronze_table,
    bronze_writer,
    partition,
    table_schema,
)
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.quarantine import Quarantine, source
from caudal.pipelines.lakehouse.spec import Dataset
from caudal.sinks.base import BatchResult, BatchSink, SinkContext
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.delta import checkpoint_app_id, prepare_session
from caudal.sinks.delta_parts import Part

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


@dataclass(frozen=True)
class LayerResult(BatchResult):
    """``rows`` of the batch the layer took and ``quarantined`` the ones it rejected, also
    when a table had them already from an attempt that died before the batch log's commit."""

    quarantined: int = 0


class BronzeSink(BatchSink):
    """``parse``: for landing files, the function turning the batch's paths into rows (run in
    the same task as the writer, so the rows never leave the worker); None for topics."""

    def __init__(
        self,
        dataset: Dataset,
        layout: Layout,
        query: str,
        parse: Batches | None = None,
        empty_files: Callable[[int], list[str]] | None = None,
    ) -> None:
        super().__init__(dataset.name)
        self.dataset, self.parse, self.empty_files = dataset, parse, empty_files
        self.app_name = self.app_id = f"lakehouse.{query}"
        self.table = bronze_table(layout, dataset)
        self.quarantine = Quarantine(layout, dataset.name)

    def open(self, ctx: SinkContext) -> None:
        """Before the query starts (driver): the table is created or given the declared
        columns it lacks (the pipeline's start did it already; a sink used alone does it)."""
        super().open(ctx)
        prepare_session(ctx.spark)
        self.app_id = checkpoint_app_id(self.app_name, self.log.directory)
        self.table.ensure(table_schema(self.dataset))
        self.quarantine.ensure(ctx.spark)

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> LayerResult:
        """Driver: the executors parse and write; the driver commits what they report."""
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        now = datetime.now(UTC)
        write = not self.table.committed(self.app_id, batch_id)
        run = bronze_writer(self.dataset, str(self.table.path), batch_id, now, self.parse, write)
        out = df.mapInArrow(run, from_arrow_schema(OUT_SCHEMA)).persist()
        try:
            summaries = out.where("part_rows IS NOT NULL").collect()
            parts = [
                Part(r.part_path, r.part_bytes, r.part_rows, r.part_modified) for r in summaries
            ]
            if write and any(p.path for p in parts):
                self.table.commit(parts, partition(now), self.app_id, batch_id)
            rejects = out.where("_rule IS NOT NULL").select(
                F.lit("bronze").alias("layer"), "_rule", "_reason", "_raw", source().alias("_src")
            )
            bad = sum(r.part_rejects for r in summaries)
            rejects, empty = self._with_empty_files(rejects, batch_id)
            app_id = f"{self.app_id}.bronze"
            quarantined = self.quarantine.add(rejects, bad + empty, batch_id, app_id)
        finally:
            out.unpersist()
        return LayerResult(sum(p.rows for p in parts), quarantined=quarantined)

    def _with_empty_files(self, rejects: DataFrame, batch_id: int) -> tuple[DataFrame, int]:
        """Empty files give Spark no split, so no row: their rejections are added here."""
        empty = self.empty_files(batch_id) if self.empty_files else []
        rows = [("bronze", "empty_file", "the file is empty", None, path) for path in empty]
        if not rows:
            return rejects, 0
        added = rejects.sparkSession.createDataFrame(rows, rejects.schema)
        return rejects.unionByName(added), len(rows)
