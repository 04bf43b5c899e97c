"""Gold: the declared SQL aggregates, recomputed on Spark whenever one of their inputs changes.

Silver tables are read as the Parquet files of their current Delta snapshot (the executors
read them), with the Delta schema so columns added later read as null in older files. A gold
table is replaced by one commit; recomputing it twice gives the same table, so a replayed
batch needs no transaction id here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deltalake import DeltaTable

from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.spec import Gold
from caudal.sinks.delta import DeltaTableWriter, arrow_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def read_table(spark: SparkSession, path: str) -> DataFrame | None:
    """A Delta table's current snapshot as a Spark DataFrame (None when it does not exist)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    if not DeltaTable.is_deltatable(path):
        return None
    table = DeltaTable(path)
    schema = from_arrow_schema(arrow_schema(table))
    files = table.file_uris()
    if not files:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).parquet(*files)


def refresh(spark: SparkSession, layout: Layout, gold: Gold) -> int | None:
    """Recompute one gold table; None when an input has no silver table yet."""
    inputs: dict[str, Any] = {}
    for name in gold.inputs:
        frame = read_table(spark, str(layout.table("silver", name)))
        if frame is None:
            return None
        inputs[name] = frame
    result = spark.sql(gold.sql, **inputs).toArrow()
    return DeltaTableWriter(layout.table("gold", gold.name)).replace(result)
