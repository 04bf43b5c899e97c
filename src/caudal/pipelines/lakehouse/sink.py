"""One dataset's micro-batch through every layer: bronze, quarantine, silver, then gold.

Each table commit carries the Delta transaction id ``(lakehouse.<query>.<checkpoint id>[.layer],
batch)``, so a batch replayed after a crash skips every table it had already reached and
completes the others: bronze and silver each hold every source row exactly once whatever the
crash point.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from caudal.pipelines.lakehouse import gold, silver
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.spec import Dataset, Lakehouse
from caudal.sinks.base import BatchSink
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.delta import DeltaTableWriter, checkpoint_app_id

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

REFERENCE_WAIT_S = 600.0
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("dataset", pa.string()),
        pa.field("layer", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
        pa.field("source", pa.string()),
        pa.field("batch_id", pa.int64()),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)
"""One row per rejected input; every column nullable (a file that could not be read has no raw)."""


def _source() -> Any:
    from pyspark.sql import functions as F

    kafka = F.concat_ws("/", "_topic", "_partition", "_offset")
    file = F.concat_ws(":", "_source_file", F.col("_row").cast("string"))
    return F.when(F.col("_source_file").isNotNull(), file).otherwise(kafka)


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
        silver.refuse_incompatible(self.silver, dataset)

    def bind(self, checkpoint: Path) -> Callable[[DataFrame, int], None]:
        """Also creates the quarantine table, so a run that rejects nothing leaves it empty."""
        self.app_id = checkpoint_app_id(self.app_name, checkpoint / "sinks" / self.name)
        self.quarantine.ensure(QUARANTINE_SCHEMA)
        return super().bind(checkpoint)

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> dict[str, Any]:
        from pyspark.sql import functions as F

        stamped = (
            df.withColumn("_ingested_at", F.current_timestamp())
            .withColumn("_batch_id", F.lit(batch_id).cast("long"))
            .withColumn("_ingest_date", F.to_date("_ingested_at").cast("string"))
            .persist()
        )
        try:
            good = stamped.filter("_rule IS NULL").drop("_rule", "_reason", "_raw")
            rows = self.bronze.append_spark(good, self.app_id, batch_id)
            rejects = stamped.filter("_rule IS NOT NULL").select(
                F.lit("bronze").alias("layer"), "_rule", "_reason", "_raw", _source().alias("_src")
            )
            rejected = self._quarantine(
                self._with_empty_files(rejects, batch_id), batch_id, "bronze"
            )
            merged = self._silver(good, batch_id)
        finally:
            stamped.unpersist()
        if merged:
            for table in self.lakehouse.gold_for(self.dataset.name):
                gold.refresh(df.sparkSession, self.layout, table)
        return {"rows": rows, "silver": merged, "quarantined": rejected}

    def _with_empty_files(self, rejects: DataFrame, batch_id: int) -> DataFrame:
        empty = self.empty_files(batch_id) if self.empty_files else []
        rows = [("bronze", "empty_file", "the file is empty", None, path) for path in empty]
        if not rows:
            return rejects
        return rejects.unionByName(rejects.sparkSession.createDataFrame(rows, rejects.schema))

    def _silver(self, good: DataFrame, batch_id: int) -> int:
        from pyspark.sql import functions as F

        deadline = time.monotonic() + REFERENCE_WAIT_S
        waits = [start() for start in self.upstream.values()]
        while not all(ready() for ready in waits) and time.monotonic() < deadline:
            time.sleep(0.5)
        references = {
            e.dataset: gold.read_table(
                good.sparkSession, str(self.layout.table("silver", e.dataset))
            )
            or good.sparkSession.createDataFrame([], f"{e.column} string")
            for e in self.dataset.expectations
            if e.rule == "references" and e.dataset
        }
        checked = silver.typed(good, self.dataset, references).persist()  # type: ignore[arg-type]
        try:
            failed = checked.filter(F.size("_failures") > 0).select(
                F.lit("silver").alias("layer"),
                F.col("_failures")[0]["rule"].alias("_rule"),
                F.array_join(F.transform("_failures", lambda x: x["reason"]), "; ").alias(
                    "_reason"
                ),
                F.col("_raw"),
                _source().alias("_src"),
            )
            self._quarantine(failed, batch_id, "silver")
            passed = checked.filter(F.size("_failures") == 0).drop("_failures", "_raw")
            latest = silver.latest_per_key(passed, self.dataset)
            if self.dataset.transform:
                latest = good.sparkSession.sql(self.dataset.transform, source=latest)
            data = latest.toArrow()
        finally:
            checked.unpersist()
        if data.num_rows == 0:
            return 0
        keys = list(self.dataset.primary_key)
        return self.silver.merge_latest(
            data, keys, self.dataset.event_time, f"{self.app_id}.silver", batch_id
        )

    def _quarantine(self, rejects: DataFrame, batch_id: int, layer: str) -> int:
        from pyspark.sql import functions as F

        rows = rejects.select(
            F.lit(self.dataset.name).alias("dataset"),
            "layer",
            F.col("_rule").alias("rule"),
            F.col("_reason").alias("reason"),
            F.col("_raw").alias("raw"),
            F.col("_src").alias("source"),
            F.lit(batch_id).cast("long").alias("batch_id"),
            F.current_timestamp().alias("quarantined_at"),
        ).toArrow()
        if rows.num_rows == 0:
            return 0
        rows = rows.cast(QUARANTINE_SCHEMA)
        added = self.quarantine.append_arrow(rows, f"{self.app_id}.{layer}", batch_id)
        self.quarantined += added
        return added
