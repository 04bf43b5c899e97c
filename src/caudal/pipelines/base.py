"""What a pipeline is: its topics, the feeders that fill them, and its streaming queries.

A pipeline folder only describes what is specific to it; ``runner.run_pipeline`` owns the
broker, topics, Spark session, progress display and shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from caudal.broker.client import java_client_config
from caudal.pipelines.feeder import Feeder
from caudal.settings import Settings
from caudal.sinks.base import BatchSink

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 2
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class JobContext:
    """What a query builder may use: settings, the broker address, a Kafka reader."""

    settings: Settings
    bootstrap: str
    pipeline: str

    def kafka_options(self, **extra: str) -> dict[str, str]:
        """Options of Spark's Kafka connector for this cluster (``kafka.*`` client settings)."""
        conf = java_client_config(self.settings, self.bootstrap)
        return {**{f"kafka.{k}": v for k, v in conf.items()}, **extra}

    def read_topics(self, spark: SparkSession, topics: list[str], **options: str) -> DataFrame:
        """A streaming DataFrame over ``topics`` with Spark's Kafka columns, from the start.

        ``read_committed``: records of aborted (or still open) transactions are never read.
        Offsets live in the query's checkpoint; the runner copies them to the query's consumer
        group (``names.consumer_group``) only so that lag shows in ``caudal status``.
        """
        opts = self.kafka_options(
            subscribe=",".join(topics),
            startingOffsets="earliest",
            failOnDataLoss="true",
            **{"kafka.isolation.level": "read_committed"},
            **options,
        )
        if self.settings.max_offsets_per_trigger:
            opts.setdefault("maxOffsetsPerTrigger", str(self.settings.max_offsets_per_trigger))
        return spark.readStream.format("kafka").options(**opts).load()


@dataclass
class QuerySpec:
    """One streaming query: how to build its DataFrame and the sink it writes to.

    ``build`` runs on the driver and only builds the DataFrame: what it needs set up in the
    session (UDFs, listeners, settings, folders) is done by the pipeline's ``start``.
    """

    name: str
    inputs: list[str]
    build: Callable[[SparkSession, JobContext], DataFrame]
    sink: BatchSink
    trigger_s: float = 0.5
    stateful: bool = False
    """A stateful query (join, aggregation) emits some rows only in the batch after the
    watermark moves; ``--once`` then waits for that batch before stopping."""
    caught_up: Callable[[], bool] | None = None
    """For inputs the runner cannot measure as topic offsets (files): True once everything
    present has been processed; ``--once`` waits for it too."""
    pool: str | None = None
    """Spark's fair-scheduler pool for the query's jobs (``streaming/pools.xml``): ``ingest``
    for a query reading the pipeline's input, ``refine`` for one reading another's output."""
    after: str | None = None
    """The query whose output this one reads (a table it writes): ``--once`` counts this one
    caught up only once that one is, and only by a ``caught_up`` asked after that (a step
    later, when this one is listed first)."""
    starts_when: Callable[[], bool] | None = None
    """Asked at the run's start and at every step after until True: the query starts then (its
    sink is opened at the run's start all the same). For a query that should not take the
    cores from the one it reads while that one has a backlog; bound it in time, or a
    never-ending backlog keeps it from starting."""
    state_partitions: int | None = None
    """Shuffle (= state store) partitions of a stateful query, instead of the session's.
    Every micro-batch commits every state store of every partition, a fixed cost per batch
    that small state does not repay on two cores. Taken when a checkpoint is created (a
    query keeps its count); ``spark.sql.shuffle.partitions`` in ``CAUDAL_SPARK_CONF`` wins."""


@dataclass
class Pipeline:
    name: str
    description: str
    topics: list[TopicSpec]
    feeders: list[Feeder]
    queries: list[QuerySpec]
    outputs: list[str] = field(default_factory=list)
    start: Callable[[SparkSession, JobContext], None] | None = None
    """The pipeline's one side-effecting step, on the driver, once the session exists and
    before any query is built: register UDFs and listeners, set session conf, make folders."""
