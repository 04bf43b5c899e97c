"""The emergencies pipeline as the runner sees it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from caudal.pipelines.base import JobContext, Pipeline, QuerySpec, TopicSpec
from caudal.pipelines.emergencies import enrichment, job
from caudal.pipelines.emergencies.feed import CallFeed
from caudal.pipelines.emergencies.settings import EmergenciesSettings
from caudal.pipelines.emergencies.statements import SHIPPED, Route, check_with_spark, parse_routes
from caudal.settings import Settings
from caudal.sinks.kafka_topic import KafkaTopicSink

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

INPUT = "emergencias.avisos"
DLQ = "emergencias.dlq"
PARTITIONS = 2


def routes_file(settings: Settings) -> Path:
    return EmergenciesSettings.of(settings).routes or SHIPPED


def load_routes(settings: Settings) -> list[Route]:
    """The configured routes, parsed and shape-checked (Spark checks the SQL at start)."""
    return parse_routes(routes_file(settings), settings.topic_prefix)


def emergencies_pipeline(
    settings: Settings,
    count: int,
    rate: float,
    feed: bool = True,
    bad_fraction: float = 0.01,
    seed: int | None = None,
) -> Pipeline:
    routes = load_routes(settings)
    source, dlq = settings.topic(INPUT), settings.topic(DLQ)
    sink = KafkaTopicSink(job.QUERY, [dlq, *(r.topic for r in routes)])

    def start(spark: SparkSession, _ctx: JobContext) -> None:
        """Driver: the SQL function the routes call, then Spark's check of every route."""
        enrichment.register(spark)
        check_with_spark(spark, routes, routes_file(settings))

    def build(spark: SparkSession, ctx: JobContext) -> DataFrame:
        return job.build(spark, ctx, source, routes, dlq)

    query = QuerySpec(job.QUERY, [source], build, sink)
    return Pipeline(
        name="emergencies",
        description=f"112 calls → {source} → Spark SQL routes ({routes_file(settings).name}) "
        f"→ {len(routes)} route topics + {dlq}",
        topics=[TopicSpec(t, PARTITIONS) for t in [source, dlq, *(r.topic for r in routes)]],
        feeders=[CallFeed(source, count, rate, bad_fraction, seed)] if feed else [],
        queries=[query],
        outputs=[dlq, *(r.topic for r in routes)],
        start=start,
    )
