"""Avro sales events to bronze rows: both schema versions land, bad values are rejected rows."""

from __future__ import annotations

import io
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import fastavro
import pyarrow as pa
import pytest

from caudal.pipelines.lakehouse.events import decode_batches
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


def _decode(url: str, values: list[bytes | None]) -> list[dict]:
    batch = pa.RecordBatch.from_pydict(
        {
            "value": values,
            "topic": ["lakehouse.sales"] * len(values),
            "partition": [0] * len(values),
            "offset": list(range(len(values))),
        }
    )
    return pa.Table.from_batches(list(decode_batches(SALES, url, iter([batch])))).to_pylist()


def test_both_schema_versions_decode_by_name(registry: str) -> None:
    rng = random.Random(1)
    old, new = sale(rng), sale(rng, coupon=True)
    new["coupon"] = "FARM5"
    rows = _decode(registry, [_encode(registry, 1, old), _encode(registry, 2, new)])
    assert [r["_rule"] for r in rows] == [None, None]
    assert rows[0]["order_id"] == old["order_id"] and rows[0]["coupon"] is None
    assert rows[1]["coupon"] == "FARM5" and rows[1]["_schema_id"] != rows[0]["_schema_id"]
    assert rows[0]["quantity"] == str(old["quantity"])
    assert rows[0]["ordered_at"].startswith(old["ordered_at"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert [r["_offset"] for r in rows] == [0, 1]


def test_no_magic_byte_unknown_id_and_damaged_body_are_rejected(registry: str) -> None:
    good = _encode(registry, 1, sale(random.Random(2)))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema({"type": "string"}), "x")
    unknown = struct.pack(">bI", 0, 4242) + body.getvalue()
    rows = _decode(registry, [b'{"order_id": "O-1"}', unknown, good[:9], None, good])
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
