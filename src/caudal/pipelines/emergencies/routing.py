"""The routes as one projection of the validated calls: each record → its topic(s) and value.

Built once on the driver when the query starts; the executors evaluate it in every
micro-batch as part of the query's own plan, in one pass over the batch: no per-batch
planning, caching or join. Each statement becomes one arm, ``WHERE`` → ``WHEN`` and its
columns → the routed JSON; a call yields every arm it matches (the shipped streams are
exclusive; `caudal emergencies check` proves each call was routed once). An invalid record,
and a valid call no arm matches, yield one dead letter with the reason. The rows then go to
their topics through one ``KafkaTopicSink``, so a batch is exactly-once as a whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from caudal.pipelines.emergencies.calls import FIELDS, KEY
from caudal.pipelines.emergencies.statements import Route

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

UNROUTED = "matched no route"
SOURCE_COLUMNS = ("motivo", "valor", "particion", "desplazamiento")
"""The validated rows' columns that are not the call's (``avisos`` has only the call's)."""


def dead_letter(source_topic: str, dlq: str, reason: Column, value: Column) -> Column:
    """One ``topic, value`` entry: the reason, the call id if known, where it came from."""
    from pyspark.sql import functions as F

    letter = F.struct(
        reason.alias("motivo"),
        F.col(KEY),
        F.lit(source_topic).alias("topic_origen"),
        "particion",
        "desplazamiento",
        value.alias("valor"),
    )
    return F.struct(F.lit(dlq).alias("topic"), F.to_json(letter).alias("value"))


def _arm(route: Route) -> Column:
    """``topic, value`` when the call meets the statement's condition, else null."""
    from pyspark.sql import functions as F

    selected = F.expr(f"struct({route.columns})").dropFields(*SOURCE_COLUMNS)
    entry = F.struct(F.lit(route.topic).alias("topic"), F.to_json(selected).alias("value"))
    return F.when(F.coalesce(F.expr(route.condition), F.lit(False)), entry)


def routed(calls: DataFrame, routes: list[Route], source_topic: str, dlq: str) -> DataFrame:
    """Validated rows (``calls.VALIDATED_SCHEMA``) → ``topic, key, value`` rows to write."""
    from pyspark.sql import functions as F

    matched = F.array_compact(F.array(*(_arm(r) for r in routes)))
    call = F.to_json(F.struct(*FIELDS))
    targets = (
        F.when(
            F.col("motivo").isNotNull(),
            F.array(dead_letter(source_topic, dlq, F.col("motivo"), F.col("valor"))),
        )
        .when(F.size(matched) > 0, matched)
        .otherwise(F.array(dead_letter(source_topic, dlq, F.lit(UNROUTED), call)))
    )
    return calls.select(
        F.col(KEY).cast("string").alias("key"), F.explode(targets).alias("out")
    ).select(F.col("out.topic").alias("topic"), "key", F.col("out.value").alias("value"))
