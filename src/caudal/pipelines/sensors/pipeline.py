"""The sensors pipeline as the runner sees it."""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines.base import Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.sensors import job
from caudal.pipelines.sensors.feed import SensorFeed
from caudal.settings import Settings
from caudal.sinks.files import file_sink

TOPIC = "sensors.readings"


def sensors_pipeline(
    settings: Settings,
    count: int,
    rate: float,
    output: Path | None = None,
    feed: bool = True,
    topic: str = TOPIC,
) -> Pipeline:
    out = output or settings.data_dir / "sensors" / "readings.jsonl"
    topic = settings.topic(topic)
    return Pipeline(
        name="sensors",
        description="simulated sensor readings → Kafka → Spark → JSON lines",
        topics=[TopicSpec(topic, partitions=2)],
        feeders=[SensorFeed(topic, count, rate)] if feed else [],
        queries=[
            QuerySpec(
                "readings", [topic], lambda s, c: job.build(s, c, topic), file_sink(out, "readings")
            )
        ],
        outputs=[str(out)],
    )
