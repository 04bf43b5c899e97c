"""The Spark side: decode both topics, join them back on candid, classify, flag.

Decoding runs in the JVM: each record's Avro single-object header (marker ``C3 01`` and the
schema's 8-byte fingerprint) is checked in SQL and its body read by spark-avro's
``from_avro`` with the shipped writer schema, in PERMISSIVE mode, so a record that cannot be
read becomes a row that says why (``m_error``/``c_error``) instead of stopping the query; its
candid is then taken from the Kafka key. Only the classification (the model) runs in Python.

Event time is the Kafka timestamp of each half (both are produced together). A full outer
stream-stream join with watermarks emits matched alerts at once and an alert whose other half
never arrives once the watermark passes it, flagged. In ``--once`` runs the feeder ends with a
flush marker dated past the watermark so those are emitted without waiting for more data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from caudal.pipelines.alerts.classify import METADATA_COLUMNS, classify_frame
from caudal.pipelines.alerts.feed import FLUSH_CANDID, AlertTopics
from caudal.pipelines.alerts.records import SCHEMAS, schema
from caudal.pipelines.base import JobContext
from caudal.streaming.serde import SINGLE_OBJECT_MAGIC, fingerprint

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import Column, DataFrame, SparkSession

WATERMARK_S = 10
WATERMARK = f"{WATERMARK_S} seconds"
JOIN_WINDOW = f"INTERVAL {WATERMARK_S} SECONDS"
HEADER = len(SINGLE_OBJECT_MAGIC) + 8
"""Bytes before the Avro body: the marker and the schema fingerprint."""


def _decode_error(value: Column, name: str, body_read: Column) -> Column:
    """Why a record is not a ``name`` record, worded as ``serde.decode_single_object`` does."""
    from pyspark.sql import functions as F

    marker = F.substring(value, 1, len(SINGLE_OBJECT_MAGIC))
    found = F.substring(value, len(SINGLE_OBJECT_MAGIC) + 1, 8)
    return (
        F.when(
            value.isNull() | (F.length(value) < HEADER) | (marker != F.lit(SINGLE_OBJECT_MAGIC)),
            "not Avro single-object encoding (no C3 01 marker)",
        )
        .when(
            found != F.lit(fingerprint(schema(name))),
            F.concat(F.lit("unknown Avro schema fingerprint "), F.lower(F.hex(found))),
        )
        .when(~body_read, "damaged Avro record")
    )


def decoded(records: DataFrame, name: str, prefix: str, tag: str) -> DataFrame:
    """Kafka rows → the ``name`` record's fields (named ``prefix`` + field), its Kafka time
    ``{tag}ts`` and ``{tag}error``: null, or why the record could not be read (its candid then
    comes from the Kafka key). Builds the plan on the driver; executors run it in the JVM."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    writer = (SCHEMAS / f"{name}.avsc").read_text()
    body = F.substring(F.col("value"), HEADER + 1, 1 << 30)
    record = from_avro(body, writer, {"mode": "PERMISSIVE"})
    read = records.select("value", "key", "timestamp", record.alias("record"))
    # PERMISSIVE reports a body it could not read as a record whose every field is null
    checked = read.select(
        "*", _decode_error(F.col("value"), name, F.col("record.candid").isNotNull()).alias("error")
    )
    ok = F.col("error").isNull()
    fields = read.select("record.*").columns
    key = F.col("key").cast("string").try_cast("long")
    return checked.select(
        *(F.when(ok, F.col(f"record.{f}")).alias(prefix + f) for f in fields if f != "candid"),
        F.coalesce(F.when(ok, F.col("record.candid")), key).alias(f"{prefix}candid"),
        F.col("timestamp").alias(f"{tag}ts"),
        F.col("error").alias(f"{tag}error"),
    )


def output_schema(classes: list[str], joined: DataFrame) -> str:
    """The classified rows' schema; the metadata columns keep the types the Avro schema gave."""
    probs = ", ".join(f"p_{c} double" for c in classes)
    meta = ", ".join(f"{c} {joined.schema[c].dataType.simpleString()}" for c in METADATA_COLUMNS)
    return (
        f"objectId string, candid long, class string, confidence double, {probs}, {meta}, "
        "has_metadata boolean, has_cutouts boolean, cutouts_valid boolean, "
        "classified boolean, error string, produced_at timestamp, classified_at timestamp"
    )


def join_alerts(metadata: DataFrame, cutouts: DataFrame) -> DataFrame:
    """Kafka rows of both topics → one row per alert: its halves decoded and joined on candid
    (full outer: a half alone is a row too), the flush marker dropped."""
    from pyspark.sql import functions as F

    meta = decoded(metadata, "metadata", "", "m_").withWatermark("m_ts", WATERMARK)
    cuts = decoded(cutouts, "cutouts", "c_", "c_").withWatermark("c_ts", WATERMARK)
    problems = F.concat_ws(
        "; ",
        F.concat(F.lit("metadata record: "), F.col("m_error")),
        F.concat(F.lit("cutouts record: "), F.col("c_error")),
    )
    return (
        meta.join(
            cuts,
            F.expr(
                f"candid = c_candid AND c_ts BETWEEN m_ts - {JOIN_WINDOW} AND m_ts + {JOIN_WINDOW}"
            ),
            "full_outer",
        )
        .select(
            F.coalesce("objectId", "c_objectId").alias("objectId"),
            F.coalesce("candid", "c_candid").alias("candid"),
            *METADATA_COLUMNS,
            F.col("c_science").alias("science"),
            F.col("c_template").alias("template"),
            F.col("c_difference").alias("difference"),
            F.col("candid").isNotNull().alias("has_metadata"),
            F.col("c_candid").isNotNull().alias("has_cutouts"),
            F.when(problems != "", problems).alias("decode_error"),
            F.coalesce("m_ts", "c_ts").alias("produced_at"),
        )
        .where(F.col("candid") != FLUSH_CANDID)
    )


def build(
    spark: SparkSession, ctx: JobContext, topics: AlertTopics, model: Path, classes: list[str]
) -> DataFrame:
    metadata, cutouts = (ctx.read_topics(spark, [t]) for t in (topics.metadata, topics.cutouts))
    joined = join_alerts(metadata, cutouts)

    def classify(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Runs on executors, per Arrow batch of joined alerts (Spark's mapInPandas)."""
        for frame in batches:
            out = classify_frame(frame.reset_index(drop=True), model, classes)
            out["produced_at"] = frame["produced_at"].to_numpy()
            out["classified_at"] = pd.Timestamp.now(tz="UTC")
            yield out

    return joined.mapInPandas(classify, output_schema(classes, joined))
