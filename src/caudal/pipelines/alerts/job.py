"""The Spark side: decode both topics, join them back on candid, classify, flag.

Event time is the Kafka timestamp of each half (both are produced together). A full outer
stream-stream join with watermarks emits matched alerts at once and an alert whose other half
never arrives once the watermark passes it, flagged. In ``--once`` runs the feeder ends with a
flush marker dated past the watermark so those are emitted without waiting for more data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from caudal.pipelines.alerts.classify import classify_frame
from caudal.pipelines.alerts.feed import FLUSH_CANDID, AlertTopics
from caudal.pipelines.alerts.records import schema
from caudal.pipelines.base import JobContext
from caudal.streaming.serde import decode_single_object, fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pyspark.sql import DataFrame, SparkSession

WATERMARK_S = 10
WATERMARK = f"{WATERMARK_S} seconds"
JOIN_WINDOW = f"INTERVAL {WATERMARK_S} SECONDS"
METADATA_SCHEMA = (
    "objectId string, candid long, jd double, fid int, ra double, dec double, magpsf double, "
    "sigmapsf double, isdiffpos string, rb double, drb double, classtar double, "
    "sgscore1 double, distpsnr1 double, ssdistnr double, ndethist int, n_prv int, "
    "n_prv_detections int, prv_first_jd double, prv_last_jd double, source_file string, "
    "m_ts timestamp"
)
CUTOUT_SCHEMA = (
    "c_objectId string, c_candid long, c_science binary, c_template binary, "
    "c_difference binary, c_ts timestamp"
)


def _decoder(
    name: str, columns: list[str], prefix: str
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    def decode(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        schemas = {fingerprint(schema(name)): schema(name)}
        for batch in batches:
            records = [decode_single_object(v, schemas) for v in batch["value"]]
            frame = pd.DataFrame.from_records(records, columns=columns)
            frame.columns = [f"{prefix}{c}" if prefix else c for c in columns]
            frame[f"{prefix or 'm_'}ts"] = batch["timestamp"].to_numpy()
            yield frame

    return decode


def output_schema(classes: list[str]) -> str:
    probs = ", ".join(f"p_{c} double" for c in classes)
    meta = METADATA_SCHEMA.rsplit(", m_ts", 1)[0].split(", ", 2)[2]
    return (
        f"objectId string, candid long, class string, confidence double, {probs}, {meta}, "
        "has_metadata boolean, has_cutouts boolean, cutouts_valid boolean, "
        "classified boolean, error string, produced_at timestamp, classified_at timestamp"
    )


def build(
    spark: SparkSession, ctx: JobContext, topics: AlertTopics, model: Path, classes: list[str]
) -> DataFrame:
    from pyspark.sql import functions as F

    meta_cols = [c.split()[0] for c in METADATA_SCHEMA.split(", ")][:-1]
    cut_cols = ["objectId", "candid", "science", "template", "difference"]
    meta = (
        ctx.read_topics(spark, [topics.metadata], query="alerts.metadata")
        .select("value", "timestamp")
        .mapInPandas(_decoder("metadata", meta_cols, ""), METADATA_SCHEMA)
        .withWatermark("m_ts", WATERMARK)
    )
    cuts = (
        ctx.read_topics(spark, [topics.cutouts], query="alerts.cutouts")
        .select("value", "timestamp")
        .mapInPandas(_decoder("cutouts", cut_cols, "c_"), CUTOUT_SCHEMA)
        .withWatermark("c_ts", WATERMARK)
    )
    joined = (
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
            *[c for c in meta_cols if c not in ("objectId", "candid")],
            F.col("c_science").alias("science"),
            F.col("c_template").alias("template"),
            F.col("c_difference").alias("difference"),
            F.col("candid").isNotNull().alias("has_metadata"),
            F.col("c_candid").isNotNull().alias("has_cutouts"),
            F.coalesce("m_ts", "c_ts").alias("produced_at"),
        )
        .where(F.col("candid") != FLUSH_CANDID)
    )

    def classify(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in batches:
            out = classify_frame(frame.reset_index(drop=True), model, classes)
            out["produced_at"] = frame["produced_at"].to_numpy()
            out["classified_at"] = pd.Timestamp.now(tz="UTC")
            yield out

    return joined.mapInPandas(classify, output_schema(classes))
