"""The Spark side: parse each request, then fetch + decode + classify in a pandas UDF.

A record that is not a valid request (not JSON, no session) still becomes a row, keyed by its
Kafka coordinates, with the reason; it never stops the query.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from caudal.pipelines.base import JobContext
from caudal.pipelines.images.classify import OUTPUT_SCHEMA, classify_requests
from caudal.pipelines.images.message import SPARK_SCHEMA
from caudal.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MALFORMED = "malformed request record (not the images.requests JSON schema)"


def parse(raw: DataFrame) -> DataFrame:
    """Kafka rows → request columns; malformed records get a key and a ``rejected`` reason."""
    from pyspark.sql import functions as F

    r = F.from_json(F.col("value").cast("string"), SPARK_SCHEMA).alias("r")
    parsed = raw.select(r, "topic", "partition", "offset", "timestamp")
    ok = F.col("r.request_id").isNotNull() & F.col("r.session_id").isNotNull()
    coordinates = F.concat_ws(":", F.lit("kafka"), "topic", "partition", "offset")
    return parsed.select(
        F.when(ok, F.col("r.request_id")).otherwise(coordinates).alias("request_id"),
        F.coalesce("r.session_id", F.lit("unknown")).alias("session_id"),
        F.coalesce("r.file_name", F.lit("?")).alias("file_name"),
        "r.image_url",
        "r.size",
        "r.sha256",
        F.coalesce("r.uploaded_at", "timestamp").alias("uploaded_at"),
        F.when(ok, F.col("r.rejected")).otherwise(F.lit(MALFORMED)).alias("rejected"),
    )


def build(
    spark: SparkSession, ctx: JobContext, topic: str, settings: Settings, model: Path
) -> DataFrame:
    def classify(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in batches:
            yield classify_requests(frame, settings, model)

    raw = ctx.read_topics(spark, [topic])
    return parse(raw).mapInPandas(classify, OUTPUT_SCHEMA)
