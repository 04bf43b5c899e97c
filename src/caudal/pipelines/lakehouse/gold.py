"""Gold: the declared SQL aggregates, recomputed by Spark whenever one of their inputs changes.

Runs on the driver inside a silver batch; the executors read the silver tables' current Delta
snapshots and write the result. A gold table is replaced by one commit; recomputing it twice
gives the same table, so a replayed batch needs no transaction id here, and a batch replayed
after a crash before its gold commit brings gold up to date again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.spec import Gold
from caudal.sinks.delta import DeltaTableWriter, read_delta

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def refresh(spark: SparkSession, layout: Layout, gold: Gold) -> bool:
    """Recompute one gold table; False (nothing written) while an input has no silver table."""
    inputs: dict[str, Any] = {}  # Any: mypy would bind a dict of frames to sql()'s ``args``
    for name in gold.inputs:
        frame = read_delta(spark, layout.table("silver", name))
        if frame is None:
            return False
        inputs[name] = frame
    DeltaTableWriter(layout.table("gold", gold.name)).replace(spark.sql(gold.sql, **inputs))
    return True
