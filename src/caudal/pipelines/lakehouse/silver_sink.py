"""One dataset's new bronze rows into silver, quarantine and gold.

Runs on the driver (``foreachBatch`` of a query reading bronze as a Delta stream); Spark's
executors do the reading, checking and writing. Silver's MERGE carries the Delta transaction
id ``(lakehouse.<query>.<checkpoint id>.silver, batch)`` and is idempotent by its condition
too, quarantine appends carry their own; so a batch replayed after a crash adds nothing twice,
and silver holds every bronze row exactly once whatever the crash point. Gold is recomputed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from caudal.pipelines.lakehouse import gold, silver
from caudal.pipelines.lakehouse.bronze_sink import LayerResult
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.quarantine import Quarantine, source
from caudal.pipelines.lakehouse.spec import Dataset, Lakehouse
from caudal.sinks.base import BatchSink, SinkContext
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.delta import DeltaTableWriter, checkpoint_app_id, prepare_session, read_delta

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

REFERENCE_WAIT_S = 600.0
YIELD_S = 60.0
"""The longest a silver batch waits for its bronze query to take in the files waiting."""


def _split(frame: DataFrame, bad: Any) -> tuple[int, int]:
    """(rows passing, rows failing) of a cached frame, in one job."""
    from pyspark.sql import functions as F

    counts = frame.agg(F.count_if(~bad).alias("good"), F.count_if(bad).alias("bad")).first()
    return (int(counts["good"]), int(counts["bad"])) if counts else (0, 0)


class SilverSink(BatchSink):
    """``upstream``: per referenced file dataset, a function starting a wait for the files in
    its landing zone now to reach its silver table; a referential check first waits for them
    (up to ``REFERENCE_WAIT_S``), so rows are not quarantined only because the table they
    point at was loading meanwhile.

    ``ingesting``: True while the dataset's bronze query has landing files still to take; a
    silver batch waits for it first (up to ``YIELD_S``), so that on a backlog bronze has the
    cores and silver then merges what it took in one batch rather than in one per bronze
    batch (the MERGE's cost is mostly per batch: it reads the whole silver table)."""

    def __init__(
        self,
        lakehouse: Lakehouse,
        dataset: Dataset,
        layout: Layout,
        query: str,
        upstream: Mapping[str, Callable[[], Callable[[], bool]]] | None = None,
        ingesting: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(dataset.name)
        self.upstream, self.ingesting = upstream or {}, ingesting
        self.lakehouse, self.dataset, self.layout = lakehouse, dataset, layout
        self.app_name = self.app_id = f"lakehouse.{query}"
        self.silver = DeltaTableWriter(layout.table("silver", dataset.name))
        self.quarantine = Quarantine(layout, dataset.name)

    def open(self, ctx: SinkContext) -> None:
        """Before the query starts (driver): sets Delta up for small logs and refuses a silver
        table the declared types no longer fit."""
        super().open(ctx)
        prepare_session(ctx.spark)
        silver.refuse_incompatible(self.silver.schema(ctx.spark), self.dataset)
        self.app_id = checkpoint_app_id(self.app_name, self.log.directory)
        self.quarantine.ensure(ctx.spark)

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> LayerResult:
        """Driver: plans the checks and the MERGE; Spark's executors run them."""
        _wait(lambda: self.ingesting is None or not self.ingesting(), YIELD_S)
        merged, rejected = self._silver(df, batch_id)
        if merged:
            for table in self.lakehouse.gold_for(self.dataset.name):
                gold.refresh(df.sparkSession, self.layout, table)
        return LayerResult(merged, quarantined=rejected)

    def _references(self, spark: SparkSession) -> dict[str, DataFrame]:
        """The silver tables the expectations point at, once their files are loaded."""
        waits = [start() for start in self.upstream.values()]
        _wait(lambda: all(ready() for ready in waits), REFERENCE_WAIT_S)
        tables = {}
        for e in self.dataset.expectations:
            if e.rule == "references" and e.dataset:
                table = read_delta(spark, self.layout.table("silver", e.dataset))
                tables[e.dataset] = (
                    spark.createDataFrame([], f"`{e.column}` string") if table is None else table
                )
        return tables

    def _silver(self, bronze: DataFrame, batch_id: int) -> tuple[int, int]:
        """(rows that passed every check, merged with the latest per key winning; rows
        quarantined)."""
        from pyspark.sql import functions as F

        spark = bronze.sparkSession
        checked = silver.typed(bronze, self.dataset, self._references(spark)).persist()
        try:
            passed, failing = _split(checked, F.size("_failures") > 0)
            failed = checked.filter(F.size("_failures") > 0).select(
                F.lit("silver").alias("layer"),
                F.col("_failures")[0]["rule"].alias("_rule"),
                F.array_join(F.transform("_failures", lambda x: x["reason"]), "; ").alias(
                    "_reason"
                ),
                F.col("_raw"),
                source().alias("_src"),
            )
            rejected = self.quarantine.add(failed, failing, batch_id, f"{self.app_id}.silver")
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
        return passed, rejected


def _wait(done: Callable[[], bool], seconds: float) -> None:
    """Until ``done()`` or for ``seconds`` (driver, in the query's batch thread)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.5)
