"""Avro sales events to bronze rows, decoded by spark-avro with the schemas the registry had at
start: both schema versions land, bad values and unknown schema ids are rejected rows."""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest

from caudal.pipelines.lakehouse.events import WriterSchemas, decode, writer_schemas
from caudal.pipelines.lakehouse.generate import sale
from caudal.pipelines.lakehouse.publish import schema_file, serializer
from caudal.pipelines.lakehouse.spec import load
from caudal.registry.server import RegistryServer

SALES = load().datasets["sales"]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    server = RegistryServer(tmp_path / "registry").start()
    yield server.url
    server.stop()


def _encode(url: str, version: int, record: dict) -> bytes:
    from confluent_kafka.serialization import MessageField, SerializationContext

    ctx = SerializationContext("lakehouse.sales", MessageField.VALUE)
    return bytes(serializer(url, schema_file(version))(record, ctx))


def _decode(spark: Any, schemas: WriterSchemas, values: list[bytes | None]) -> list[dict]:
    raw = spark.createDataFrame(
        [(value, "lakehouse.sales", 0, offset) for offset, value in enumerate(values)],
        "value binary, topic string, partition int, offset long",
    )
    return [row.asDict() for row in decode(raw, SALES, schemas).orderBy("_offset").collect()]


def test_both_schema_versions_decode_by_name(spark: Any, registry: str) -> None:
    rng = random.Random(1)
    old, new = sale(rng), sale(rng, coupon=True)
    new["coupon"] = "FARM5"
    values = [_encode(registry, 1, old), _encode(registry, 2, new)]
    rows = _decode(spark, writer_schemas(registry, str(SALES.subject)), values)
    assert [r["_rule"] for r in rows] == [None, None]
    assert rows[0]["order_id"] == old["order_id"] and rows[0]["coupon"] is None
    assert rows[1]["coupon"] == "FARM5" and rows[1]["_schema_id"] != rows[0]["_schema_id"]
    assert rows[0]["quantity"] == str(old["quantity"])
    assert rows[0]["ordered_at"].startswith(old["ordered_at"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert [r["_offset"] for r in rows] == [0, 1]
    assert rows[0]["_rescued_data"] is None and rows[0]["_topic"] == "lakehouse.sales"


def test_no_magic_byte_unknown_id_and_damaged_body_are_rejected(spark: Any, registry: str) -> None:
    good = _encode(registry, 1, sale(random.Random(2)))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema({"type": "string"}), "x")
    unknown = struct.pack(">bI", 0, 4242) + body.getvalue()
    values = [b'{"order_id": "O-1"}', unknown, good[:9], None, good]
    rows = _decode(spark, writer_schemas(registry, str(SALES.subject)), values)
    rules = [r["_rule"] for r in rows]
    assert rules == [
        "not_confluent_avro",
        "unknown_schema_id",
        "bad_avro",
        "not_confluent_avro",
        None,
    ]
    assert "4242 is not in the registry" in rows[1]["_reason"]
    assert rows[0]["_raw"] == b'{"order_id": "O-1"}'.hex()
    assert all(r["order_id"] is None and r["_schema_id"] is None for r in rows[:4])


def test_a_schema_registered_after_the_start_is_quarantined_not_a_failure(
    spark: Any, registry: str
) -> None:
    rng = random.Random(3)
    old = _encode(registry, 1, sale(rng))
    at_start = writer_schemas(registry, str(SALES.subject))
    newer = _encode(registry, 2, {**sale(rng, coupon=True), "coupon": "FARM5"})
    rows = _decode(spark, at_start, [old, newer])
    assert [r["_rule"] for r in rows] == [None, "unknown_schema_id"]
    assert "(as read when the query started)" in rows[1]["_reason"]

    nothing = _decode(spark, WriterSchemas(str(SALES.subject), {}), [old])
    assert [r["_rule"] for r in nothing] == ["unknown_schema_id"]
