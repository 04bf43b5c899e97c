"""One dataset's micro-batch through every layer: bronze, quarantine, silver, then gold.

Runs on the driver (``foreachBatch``); Spark's executors do the reading, checking and writing.
Each table commit carries the Delta transaction id ``(lakehouse.<query>.<checkpoint id>
[.layer], batch)``, so a batch replayed after a crash skips every table it had already reached
and completes the others; silver's MERGE is also idempotent by its condition. Bronze and silver
each hold every source row exactly once whatever the crash point; gold is recomputed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from caudal.pipelines.lakehouse import gold, silver
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.spec import Dataset, Lakehouse
from caudal.sinks.base import BatchResult, BatchSink, SinkContext
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.delta import DeltaTableWriter, checkpoint_app_id, prepare_session, read_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REFERENCE_WAIT_S = 600.0
QUARANTINE_SCHEMA = StructType(
    [StructField(c, StringType()) for c in ("dataset", "layer", "rule", "reason", "raw", "source")]
    + [StructField("batch_id", LongType()), StructField("quarantined_at", TimestampType())]
)
"""One row per rejected input; every column nullable (a file that could not be read has no raw)."""


def _source() -> Any:
    from pyspark.sql import functions as F

    kafka = F.concat_ws("/", "_topic", "_partition", "_offset")
    file = F.concat_ws(":", "_source_file", F.col("_row").cast("string"))
    return F.when(F.col("_source_file").isNotNull(), file).otherwise(kafka)


def _split(frame: DataFrame, bad: Any) -> tuple[int, int]:
    """(rows passing, rows failing) of a cached frame, in one job."""
    from pyspark.sql import functions as F

    counts = frame.agg(F.count_if(~bad).alias("good"), F.count_if(bad).alias("bad")).first()
    return (int(counts["good"]), int(counts["bad"])) if counts else (0, 0)


@dataclass(frozen=True)
class LayersResult(BatchResult):
    """``rows`` (bronze), ``silver`` and ``quarantined`` count the batch's rows, also when Delta
    skips a table as already committed by an attempt that died before the batch log's."""

    silver: int = 0
    quarantined: int = 0


class LakehouseSink(BatchSink):
    """``upstream``: per referenced file dataset, a function starting a wait for the files in
    its landing zone now; a referential check first waits for them (up to ``REFERENCE_WAIT_S``),
    so rows are not quarantined only because the table they point at was loading meanwhile."""

    def __init__(
        self,
        lakehouse: Lakehouse,
        dataset: Dataset,
        layout: Layout,
        query: str,
        upstream: Mapping[str, Callable[[], Callable[[], bool]]] | None = None,
        empty_files: Callable[[int], list[str]] | None = None,
    ) -> None:
        super().__init__(dataset.name)
        self.upstream = upstream or {}
        self.empty_files = empty_files
        self.lakehouse, self.dataset, self.layout = lakehouse, dataset, layout
        self.app_name = self.app_id = f"lakehouse.{query}"
        self.bronze = DeltaTableWriter(layout.table("bronze", dataset.name), ["_ingest_date"])
        self.silver = DeltaTableWriter(layout.table("silver", dataset.name))
        self.quarantine = DeltaTableWriter(layout.quarantine, ["dataset"])
        self.quarantined = 0
        """Rows this sink put in quarantine during the run (for the end-of-run note)."""

    def open(self, ctx: SinkContext) -> None:
        """Before the query starts (driver): sets Delta up for small logs, refuses a silver
        table the declared types no longer fit, and creates the quarantine table, so a run
        that rejects nothing leaves it empty."""
        super().open(ctx)
        prepare_session(ctx.spark)
        silver.refuse_incompatible(self.silver.schema(ctx.spark), self.dataset)
        self.app_id = checkpoint_app_id(self.app_name, self.log.directory)
        self.quarantine.ensure(ctx.spark, QUARANTINE_SCHEMA)

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> LayersResult:
        """Driver: plans each layer's writes; Spark's executors check and write the rows."""
        from pyspark.sql import functions as F

        stamped = (
            df.withColumn("_ingested_at", F.current_timestamp())
            .withColumn("_batch_id", F.lit(batch_id).cast("long"))
            .withColumn("_ingest_date", F.to_date("_ingested_at").cast("string"))
            .persist()
        )
        try:
            rows, bad = _split(stamped, F.col("_rule").isNotNull())
            good = stamped.filter("_rule IS NULL").drop("_rule", "_reason", "_raw")
            if rows:
                self.bronze.append(good, self.app_id, batch_id)
            rejects = stamped.filter("_rule IS NOT NULL").select(
                F.lit("bronze").alias("layer"), "_rule", "_reason", "_raw", _source().alias("_src")
            )
            rejects, empty = self._with_empty_files(rejects, batch_id)
            rejected = self._quarantine(rejects, bad + empty, batch_id, "bronze")
            merged = self._silver(good, batch_id) if rows else 0
        finally:
            stamped.unpersist()
        if merged:
            for table in self.lakehouse.gold_for(self.dataset.name):
                gold.refresh(df.sparkSession, self.layout, table)
        return LayersResult(rows, silver=merged, quarantined=rejected)

    def _with_empty_files(self, rejects: DataFrame, batch_id: int) -> tuple[DataFrame, int]:
        """Empty files give Spark no split, so no row: their rejections are added here."""
        empty = self.empty_files(batch_id) if self.empty_files else []
        rows = [("bronze", "empty_file", "the file is empty", None, path) for path in empty]
        if not rows:
            return rejects, 0
        added = rejects.sparkSession.createDataFrame(rows, rejects.schema)
        return rejects.unionByName(added), len(rows)

    def _references(self, spark: SparkSession) -> dict[str, DataFrame]:
        """The silver tables the expectations point at, once their files are loaded."""
        deadline = time.monotonic() + REFERENCE_WAIT_S
        waits = [start() for start in self.upstream.values()]
        while not all(ready() for ready in waits) and time.monotonic() < deadline:
            time.sleep(0.5)
        tables = {}
        for e in self.dataset.expectations:
            if e.rule == "references" and e.dataset:
                table = read_delta(spark, self.layout.table("silver", e.dataset))
                tables[e.dataset] = (
                    spark.createDataFrame([], f"`{e.column}` string") if table is None else table
                )
        return tables

    def _silver(self, good: DataFrame, batch_id: int) -> int:
        """Rows of the batch that passed every check (merged: the latest per key wins)."""
        from pyspark.sql import functions as F

        spark = good.sparkSession
        checked = silver.typed(good, self.dataset, self._references(spark)).persist()
        try:
            passed, failing = _split(checked, F.size("_failures") > 0)
            failed = checked.filter(F.size("_failures") > 0).select(
                F.lit("silver").alias("layer"),
                F.col("_failures")[0]["rule"].alias("_rule"),
                F.array_join(F.transform("_failures", lambda x: x["reason"]), "; ").alias(
                    "_reason"
                ),
                F.col("_raw"),
                _source().alias("_src"),
            )
            self._quarantine(failed, failing, batch_id, "silver")
            if passed:
                ok = checked.filter(F.size("_failures") == 0).drop("_failures", "_raw")
                latest = silver.latest_per_key(ok, self.dataset)
                if self.dataset.transform:
                    latest = spark.sql(self.dataset.transform, source=latest)
                keys, order = list(self.dataset.primary_key), self.dataset.event_time
                app_id = f"{self.app_id}.silver"
                self.silver.merge_latest(latest, keys, order, "_batch_id", app_id, batch_id)
        finally:
            checked.unpersist()
        return passed

    def _quarantine(self, rejects: DataFrame, count: int, batch_id: int, layer: str) -> int:
        from pyspark.sql import functions as F

        if count == 0:
            return 0
        rows = rejects.select(
            F.lit(self.dataset.name).alias("dataset"),
            "layer",
            F.col("_rule").alias("rule"),
            F.col("_reason").alias("reason"),
            F.col("_raw").alias("raw"),
            F.col("_src").alias("source"),
            F.lit(batch_id).cast("long").alias("batch_id"),
            F.current_timestamp().alias("quarantined_at"),
        )
        self.quarantine.append(rows, f"{self.app_id}.{layer}", batch_id)
        self.quarantined += count
        return count
