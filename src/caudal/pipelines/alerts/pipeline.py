"""The alerts pipeline as the runner sees it."""

from __future__ import annotations

from pathlib import Path

from caudal.models.onnx_classifier import read_labels
from caudal.models.paths import model_path
from caudal.pipelines.alerts import job
from caudal.pipelines.alerts.feed import AlertFileFeed, AlertTopics
from caudal.pipelines.alerts.settings import AlertsSettings
from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
from caudal.settings import Settings
from caudal.sinks.files import file_sink

MODEL_FILE = "alerts_stamp_classifier_single.onnx"
"""The trained model without test-time rotation averaging (``single_pass.py``: its card)."""
STATE_PARTITIONS = 2
"""The join's four state stores commit per partition every batch: with 2 partitions instead of
4 its commit halved (benchmarks/RESULTS.md); 2 keep both cores on the model after the join."""


def rejects_path(output: Path) -> Path:
    return output.with_name(output.stem + ".rejects.jsonl")


def alerts_pipeline(settings: Settings, input_dir: Path, output: Path, watch: bool) -> Pipeline:
    model = model_path(AlertsSettings.of(settings).model, MODEL_FILE)
    classes = list(read_labels(model)["classes"])
    topics = AlertTopics.named(settings.topic)
    feed = AlertFileFeed(
        input_dir,
        settings.data_dir / "alerts",
        rejects_path(output),
        watch,
        topics,
        flush_after_s=2 * job.WATERMARK_S + 2,
    )
    query = QuerySpec(
        "classified",
        [topics.metadata, topics.cutouts],
        lambda spark, ctx: job.build(spark, ctx, topics, model, classes),
        file_sink(output, "alerts", unique_key="candid"),
        stateful=True,
        state_partitions=STATE_PARTITIONS,
    )
    return Pipeline(
        name="alerts",
        description=f"ZTF alert files in {input_dir} → Kafka → Spark join + CNN → {output}",
        topics=[TopicSpec(topics.metadata, 2), TopicSpec(topics.cutouts, 2)],
        feeders=[feed],
        queries=[query],
        outputs=[str(output), str(rejects_path(output))],
    )
