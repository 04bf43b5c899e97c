"""The images pipeline as the runner sees it: one topic, no feeder (the page produces)."""

from __future__ import annotations

from pathlib import Path

from caudal.models.paths import model_path
from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.images import job
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.settings import ImagesSettings
from caudal.pipelines.images.table import predictions, prepare_table
from caudal.settings import Settings
from caudal.sinks.sql import SqlSink, SqlWriter, database_url

MODEL_FILE = "images_mobilenet_v2.onnx"


def images_model(settings: Settings) -> Path:
    return model_path(ImagesSettings.of(settings).model, MODEL_FILE)


def predictions_sink(settings: Settings) -> SqlSink:
    url = database_url(settings)
    writer = SqlWriter(url, predictions, "request_id", settings.database_wait_s, prepare_table)
    return SqlSink("predictions", writer)


def images_pipeline(settings: Settings) -> Pipeline:
    model = images_model(settings)
    topic = settings.topic(TOPIC)
    sink = predictions_sink(settings)
    return Pipeline(
        name="images",
        description=f"{topic} → Spark (fetch, decode, {model.name}) → SQL table predictions",
        topics=[TopicSpec(topic, partitions=2)],
        feeders=[],
        queries=[
            QuerySpec(
                "predictions",
                [topic],
                lambda spark, ctx: job.build(spark, ctx, topic, settings, model),
                sink,
            )
        ],
        outputs=[sink.writer.location],
    )
