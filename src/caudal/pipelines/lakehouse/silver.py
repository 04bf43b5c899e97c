"""Silver: bronze text typed, expectations applied, one row per primary key (latest event wins).

Every check is a Spark column expression built from the YAML, so it runs on the executors;
a row failing any check keeps its reasons (``_failures``) and goes to quarantine, never away.
Key and event-time columns are implicitly ``not_null``: a row without them cannot be merged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse.spec import Dataset, Expectation

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

CARRIED = ["_source_file", "_row", "_topic", "_partition", "_offset", "_schema_id"]
CARRIED += ["_ingested_at", "_batch_id"]
SPARK_TYPES = {"long": "bigint"}


def _spark_type(kind: str) -> str:
    return SPARK_TYPES.get(kind, kind)


def rules(dataset: Dataset) -> list[Expectation]:
    """Declared expectations, preceded by the implicit not-nulls on keys and event time."""
    declared = {(e.rule, e.column) for e in dataset.expectations}
    implicit = [
        Expectation("not_null", c)
        for c in dict.fromkeys([*dataset.primary_key, dataset.event_time])
        if ("not_null", c) not in declared
    ]
    return implicit + list(dataset.expectations)


def check(e: Expectation) -> tuple[Column, Column]:
    """(passes, reason) for one expectation; a null value passes all but ``not_null``."""
    from pyspark.sql import functions as F

    if e.rule == "expr":
        return F.coalesce(F.expr(str(e.sql)), F.lit(True)), F.lit(f"failed: {e.sql}")
    col = F.col(str(e.column))
    shown = F.coalesce(col.cast("string"), F.lit("null"))
    if e.rule == "not_null":
        return col.isNotNull(), F.lit(f"{e.column} is null")
    if e.rule == "range":
        ok = F.lit(True)
        if e.min is not None:
            ok = ok & (col >= F.lit(e.min))
        if e.max is not None:
            ok = ok & (col <= F.lit(e.max))
        bounds = f"[{'' if e.min is None else e.min}, {'' if e.max is None else e.max}]"
        return col.isNull() | ok, F.concat(
            F.lit(f"{e.column} = "), shown, F.lit(f" outside {bounds}")
        )
    if e.rule == "allowed":
        return col.isNull() | col.isin(list(e.values)), F.concat(
            F.lit(f"{e.column} = '"), shown, F.lit(f"' not in {list(e.values)}")
        )
    found = F.col(f"_ref_{e.column}")
    return col.isNull() | found.isNotNull(), F.concat(
        F.lit(f"{e.column} = '"), shown, F.lit(f"' not found in {e.dataset}")
    )


def typed(bronze: DataFrame, dataset: Dataset, references: dict[str, DataFrame]) -> DataFrame:
    """Typed columns, the carried metadata, ``_raw`` (JSON of the text) and ``_failures``."""
    from pyspark.sql import functions as F

    frame = bronze.select(
        *[
            F.expr(f"try_cast(`{c.name}` AS {_spark_type(c.type)})").alias(c.name)
            for c in dataset.columns
        ],
        *[F.col(c) for c in CARRIED],
        F.to_json(F.struct(*[F.col(c.name) for c in dataset.columns])).alias("_raw"),
        *[F.col(c.name).alias(f"_text_{c.name}") for c in dataset.columns if c.type != "string"],
    )
    for e in dataset.expectations:
        if e.rule == "references":
            keys = references[str(e.dataset)].select(F.col(str(e.column)).alias(f"_ref_{e.column}"))
            frame = frame.join(
                F.broadcast(keys.distinct()),
                frame[str(e.column)] == keys[f"_ref_{e.column}"],
                "left",
            )
    failures = [
        F.when(
            F.col(f"_text_{c.name}").isNotNull() & F.col(c.name).isNull(),
            F.struct(
                F.lit(f"type({c.name})").alias("rule"),
                F.concat(
                    F.lit(f"{c.name} = '"), F.col(f"_text_{c.name}"), F.lit(f"' is not a {c.type}")
                ).alias("reason"),
            ),
        )
        for c in dataset.columns
        if c.type != "string"
    ]
    for e in rules(dataset):
        passes, reason = check(e)
        failures.append(
            F.when(~passes, F.struct(F.lit(e.label).alias("rule"), reason.alias("reason")))
        )
    helpers = [c for c in frame.columns if c.startswith(("_text_", "_ref_"))]
    return frame.withColumn(
        "_failures", F.filter(F.array(*failures), lambda x: x.isNotNull())
    ).drop(*helpers)


def latest_per_key(frame: DataFrame, dataset: Dataset) -> DataFrame:
    """One row per primary key within the batch: the latest event, then the latest arrival
    (offset; for files the last file name in sort order, then the last row)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = [
        F.col(dataset.event_time).desc_nulls_last(),
        F.col("_offset").desc_nulls_last(),
        F.col("_source_file").desc_nulls_last(),
        F.col("_row").desc_nulls_last(),
    ]
    window = Window.partitionBy(*dataset.primary_key).orderBy(*order)
    return frame.withColumn("_rank", F.row_number().over(window)).filter("_rank = 1").drop("_rank")


def refuse_incompatible(schema: StructType | None, dataset: Dataset) -> None:
    """An existing silver column (``schema``) whose type the dataset now declares differently
    stops the run before its first batch."""
    if schema is None:
        return
    have = {f.name: f.dataType.simpleString() for f in schema}
    wanted = {c.name: _spark_type(c.type) for c in dataset.columns}
    changed = [f"{c}: {have[c]} → {t}" for c, t in wanted.items() if c in have and have[c] != t]
    if changed:
        raise CaudalError(
            f"silver table {dataset.name} cannot take the declared schema: {', '.join(changed)}",
            "a type change is not a compatible evolution: add a new column instead, or move "
            "the old table away to rebuild it from bronze",
        )
