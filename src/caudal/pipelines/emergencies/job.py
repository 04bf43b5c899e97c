"""The streaming side: read the input topic, validate every record into the call schema.

Routing happens per micro-batch in ``routing.RoutingSink``; this query only turns Kafka
records into typed calls (or a reason), so each batch's input is read once. Validation is a
projection of Spark SQL expressions: records stay in the JVM until the routes' enrichment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from caudal.pipelines.base import JobContext
from caudal.pipelines.emergencies.calls import validated

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

QUERY = "routes"


def build(spark: SparkSession, ctx: JobContext, topic: str) -> DataFrame:
    return validated(ctx.read_topics(spark, [topic]))
