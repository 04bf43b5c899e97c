"""The streaming side: read the input topic, validate every record, route it.

Validation and routing are projections of Spark SQL expressions, planned once when the query
starts: records stay in the JVM (but for the medical enrichment's pandas UDF) until the sink
produces the routed rows in one Kafka transaction per batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from caudal.pipelines.base import JobContext
from caudal.pipelines.emergencies.calls import validated
from caudal.pipelines.emergencies.routing import routed
from caudal.pipelines.emergencies.statements import Route

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

QUERY = "routes"


def build(
    spark: SparkSession, ctx: JobContext, topic: str, routes: list[Route], dlq: str
) -> DataFrame:
    """``topic, key, value`` rows: each call to its route topic(s), the rest to ``dlq``."""
    return routed(validated(ctx.read_topics(spark, [topic])), routes, topic, dlq)
