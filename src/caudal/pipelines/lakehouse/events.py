"""Kafka records in the Confluent Avro wire format → bronze rows, decoded in the JVM.

The plan is built on the driver when the query starts: the subject's versions are read from
the registry once, and each writer schema id gets its own ``from_avro`` over the body (bytes
6…), every one resolving to the newest version (Avro schema resolution), so events of any
version come out in one shape. A ``CASE`` on the schema id (bytes 2–5) picks the decoder per
record; the executors' JVMs do the work and no record crosses into Python. Fields are matched
to the declared columns by name, the others go to ``_rescued_data``. A value without magic
byte 0, an id that was not among the subject's versions at start, or a body that does not
decode becomes a rejected row (``_rule``): the query never stops for a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

from caudal.pipelines.lakehouse.records import spark_schema
from caudal.pipelines.lakehouse.spec import Dataset
from caudal.streaming.serde import subject_schemas

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

FRAMED = "value IS NOT NULL AND length(value) >= 5 AND substring(value, 1, 1) = X'00'"
SCHEMA_ID = "CAST(conv(hex(substring(value, 2, 4)), 16, 10) AS BIGINT)"
RAW_BYTES = 64
"""A rejected value is kept as the hex of its first bytes."""


@dataclass(frozen=True)
class WriterSchemas:
    """The subject's schemas as the registry had them when the query started."""

    subject: str
    by_id: dict[int, str]
    """Schema id → writer schema (JSON), oldest version first."""

    @property
    def reader(self) -> str | None:
        """The newest version: every writer schema is resolved to it."""
        return next(reversed(self.by_id.values()), None)


def writer_schemas(registry_url: str, subject: str) -> WriterSchemas:
    """Read once on the driver; an unreachable registry stops the start (``CaudalError``)."""
    return WriterSchemas(subject, subject_schemas(registry_url, subject))


def _decoded(schemas: WriterSchemas) -> Column:
    """One struct in the reader's shape, from the decoder of the record's schema id."""
    from pyspark.sql import functions as F
    from pyspark.sql.avro.functions import from_avro

    if schemas.reader is None:
        return F.lit(None)
    options = {"mode": "PERMISSIVE", "avroSchema": schemas.reader}
    body, schema_id = F.expr("substring(value, 6)"), F.expr(SCHEMA_ID)
    cases = [
        (schema_id == F.lit(i), from_avro(body, writer, options))
        for i, writer in schemas.by_id.items()
    ]
    first, *rest = cases
    return reduce(lambda acc, case: acc.when(*case), rest, F.when(*first))


def _as_text(value: Column, kind: DataType) -> Column:
    """A decoded value as bronze text: timestamps ISO-8601 with offset, nested values JSON."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(kind, T.StringType):  # Avro's bytes are not checked: a damaged body's
        return F.make_valid_utf8(value)  # text broke every reader of the tables (fuzzing)
    if isinstance(kind, T.TimestampType):
        return F.date_format(value, "yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx")
    if isinstance(kind, T.TimestampNTZType):
        return F.date_format(value, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    if isinstance(kind, (T.StructType, T.ArrayType, T.MapType)):
        return F.to_json(value)
    if isinstance(kind, T.BinaryType):
        return F.base64(value)
    return value.cast("string")


def _verdict(decoded: Column, fields: list[str], schemas: WriterSchemas) -> tuple[Column, Column]:
    """(rule, reason) of a record that cannot go to bronze; both null for a good one."""
    from pyspark.sql import functions as F

    schema_id, framed = F.expr(SCHEMA_ID), F.expr(FRAMED)
    known = schema_id.isin(list(schemas.by_id))
    every_null = reduce(lambda acc, name: acc & decoded[name].isNull(), fields, F.lit(True))
    empty = decoded.isNull() | every_null
    unknown = (
        f"schema id %d is not in the registry under {schemas.subject} (as read when the "
        "query started)"
    )
    rule = (
        F.when(~framed, F.lit("not_confluent_avro"))
        .when(~known, F.lit("unknown_schema_id"))
        .when(empty, F.lit("bad_avro"))
    )
    reason = (
        F.when(~framed, F.lit("no magic byte 0 + schema id: not Confluent Avro"))
        .when(~known, F.format_string(unknown, schema_id))
        .when(empty, F.format_string("schema id %d: body does not decode", schema_id))
    )
    return rule, reason


def decode(raw: DataFrame, dataset: Dataset, schemas: WriterSchemas) -> DataFrame:
    """Spark's Kafka columns → the bronze shape (``records.spark_schema``), rejects included.

    ``from_avro`` in PERMISSIVE mode turns a body that does not decode into a struct of nulls,
    so a decoded struct without a single value is taken as undecodable (``bad_avro``).
    """
    from pyspark.sql import functions as F

    frame = raw.select("value", "topic", "partition", "offset", _decoded(schemas).alias("_avro"))
    avro = F.col("_avro")
    fields = {f.name: f.dataType for f in getattr(frame.schema["_avro"].dataType, "fields", [])}
    rule, reason = _verdict(avro, list(fields), schemas)
    declared = {c.name for c in dataset.columns}
    extra = [avro[name].alias(name) for name in fields if name not in declared]
    rescued = (
        F.nullif(F.make_valid_utf8(F.to_json(F.struct(*extra))), F.lit("{}"))
        if extra
        else F.lit(None)
    )
    schema = spark_schema(dataset)
    columns = {f.name: F.lit(None) for f in schema}
    columns |= {
        name: _as_text(avro[name], kind) for name, kind in fields.items() if name in declared
    }
    columns |= {
        "_rescued_data": rescued,
        "_topic": F.col("topic"),
        "_partition": F.col("partition"),
        "_offset": F.col("offset"),
        "_schema_id": F.when(rule.isNull(), F.expr(SCHEMA_ID)),
        "_rule": rule,
        "_reason": reason,
        "_raw": F.when(rule.isNotNull(), F.lower(F.hex(F.substring("value", 1, RAW_BYTES)))),
    }
    return frame.select(*[columns[f.name].cast(f.dataType).alias(f.name) for f in schema])
