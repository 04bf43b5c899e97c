"""The quarantine table: one row per rejected input, whichever layer rejected it, with the reason.

Runs on the driver inside a layer's ``foreachBatch``; Spark's executors write the rows. Each
append carries the Delta transaction id ``(<sink's app id>.<layer>, batch)``, so a replayed
batch quarantines nothing twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from caudal.pipelines.lakehouse.layout import Layout
from caudal.sinks.delta import DeltaTableWriter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

QUARANTINE_SCHEMA = StructType(
    [StructField(c, StringType()) for c in ("dataset", "layer", "rule", "reason", "raw", "source")]
    + [StructField("batch_id", LongType()), StructField("quarantined_at", TimestampType())]
)
"""Every column nullable (a file that could not be read has no raw)."""


def source() -> Any:
    """Where a rejected row came from: ``file:row`` or ``topic/partition/offset``."""
    from pyspark.sql import functions as F

    kafka = F.concat_ws("/", "_topic", "_partition", "_offset")
    file = F.concat_ws(":", "_source_file", F.col("_row").cast("string"))
    return F.when(F.col("_source_file").isNotNull(), file).otherwise(kafka)


class Quarantine:
    """One dataset's rejects; ``count`` is what this run put there (for the end-of-run note)."""

    def __init__(self, layout: Layout, dataset: str) -> None:
        self.writer = DeltaTableWriter(layout.quarantine, ["dataset"])
        self.dataset = dataset
        self.count = 0

    def ensure(self, spark: SparkSession) -> None:
        """Create the table, so a run that rejects nothing leaves it there, empty."""
        self.writer.ensure(spark, QUARANTINE_SCHEMA)

    def add(self, rejects: DataFrame, count: int, batch_id: int, app_id: str) -> int:
        """``rejects``: columns ``layer, _rule, _reason, _raw, _src``; ``count`` of them."""
        from pyspark.sql import functions as F

        if count == 0:
            return 0
        rows = rejects.select(
            F.lit(self.dataset).alias("dataset"),
            "layer",
            F.col("_rule").alias("rule"),
            F.col("_reason").alias("reason"),
            F.col("_raw").alias("raw"),
            F.col("_src").alias("source"),
            F.lit(batch_id).cast("long").alias("batch_id"),
            F.current_timestamp().alias("quarantined_at"),
        )
        self.writer.append(rows, app_id, batch_id)
        self.count += count
        return count
