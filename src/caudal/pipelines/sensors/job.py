"""Parse, validate and flag readings; malformed records are kept with their reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caudal.pipelines.base import JobContext

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SCHEMA = "sensor string, ts timestamp, temperature double, humidity double"
HOT_C = 30.0


def build(spark: SparkSession, ctx: JobContext, topic: str) -> DataFrame:
    from pyspark.sql import functions as F

    raw = ctx.read_topics(spark, [topic])
    parsed = raw.select(
        F.from_json(F.col("value").cast("string"), SCHEMA).alias("r"),
        "topic",
        "partition",
        "offset",
        F.col("timestamp").alias("produced_at"),
    )
    valid = F.col("r.sensor").isNotNull() & F.col("r.temperature").isNotNull()
    return parsed.select(
        "r.*",
        "topic",
        "partition",
        "offset",
        "produced_at",
        F.when(~valid, "rejected")
        .when(F.col("r.temperature") > HOT_C, "hot")
        .otherwise("ok")
        .alias("status"),
        F.when(~valid, "not a valid JSON reading").alias("reason"),
    )
