"""Kafka records in the Confluent Avro wire format → bronze rows (on Spark's executors).

Each value is decoded with the schema its id names (fetched once per id from the registry), so
producers on an older or newer schema version both land: fields are matched by name, fields
the dataset does not declare go to ``_rescued_data``. A value without the magic byte, with an
id the registry does not know, or whose body does not decode becomes a rejected row.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from typing import Any

import fastavro
import pyarrow as pa

from caudal.pipelines.lakehouse.records import Rows
from caudal.pipelines.lakehouse.spec import Dataset
from caudal.streaming.serde import DecodeError, registry_schema


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value[:64].hex()


def decode_value(value: bytes | None, registry_url: str) -> tuple[int, dict[str, Any]]:
    """(schema id, record); ``DecodeError`` with a rule name as its hint when it cannot."""
    if value is None or len(value) < 5 or value[0] != 0:
        raise DecodeError("no magic byte 0 + schema id: not Confluent Avro", "not_confluent_avro")
    (schema_id,) = struct.unpack(">I", value[1:5])
    schema = registry_schema(registry_url, schema_id)  # UnknownSchemaId is a DecodeError
    try:
        record = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)
    except Exception as exc:
        raise DecodeError(
            f"schema id {schema_id}: body does not decode: {exc}", "bad_avro"
        ) from exc
    if not isinstance(record, dict):
        raise DecodeError(f"schema id {schema_id} is not a record schema", "bad_avro")
    return schema_id, record


def decode_batches(
    dataset: Dataset, registry_url: str, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body over Spark's Kafka columns."""
    for batch in batches:
        rows = Rows(dataset)
        cols = batch.to_pydict()
        for value, topic, partition, offset in zip(
            cols["value"], cols["topic"], cols["partition"], cols["offset"], strict=True
        ):
            meta = {"_topic": topic, "_partition": partition, "_offset": offset}
            try:
                schema_id, record = decode_value(value, registry_url)
            except DecodeError as exc:
                rows.reject(exc.hint or "bad_avro", exc.reason, _hex(value), **meta)
                continue
            rows.add(record, _schema_id=schema_id, **meta)
        if len(rows):
            yield rows.batch()
