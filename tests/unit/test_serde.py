"""Decoding record values: JSON, Avro container files, Confluent wire format via a registry."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import fastavro
import pytest

from caudal.broker.process import free_port
from caudal.errors import CaudalError
from caudal.streaming.serde import DecodeError, decode_value, encode_confluent

ALERT_SCHEMA = {
    "type": "record",
    "name": "Alert",
    "namespace": "caudal.test",
    "fields": [
        {"name": "candid", "type": "long"},
        {"name": "ra", "type": "double"},
        {"name": "band", "type": ["null", "string"], "default": None},
    ],
}
RECORD = {"candid": 1234567890123, "ra": 151.25, "band": "g"}


class Registry(BaseHTTPRequestHandler):
    """The subset of the Confluent Schema Registry REST API a reader needs."""

    schemas: dict[int, dict[str, Any]] = {}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).requests.append(self.path)
        match = re.fullmatch(r"/schemas/ids/(\d+)", self.path)
        schema = self.schemas.get(int(match.group(1))) if match else None
        if schema is None:
            body, status = {"error_code": 40403, "message": "Schema not found"}, 404
        else:
            body, status = {"schema": json.dumps(schema)}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    Registry.schemas = {7: ALERT_SCHEMA}
    Registry.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_json_values_decode_to_objects() -> None:
    value = b'{"symbol": "BTC", "price": 64000.5}'

    assert decode_value(value) == {"symbol": "BTC", "price": 64000.5}
    assert decode_value(b"[1, 2]") == [1, 2]


def test_plain_text_and_binary_values_are_shown_not_raised() -> None:
    assert decode_value(b"hello world") == "hello world"
    shown = decode_value(b"\xff\xfe\x01binary")
    assert isinstance(shown, str) and "bytes" in shown
    assert decode_value(None) is None


def test_avro_object_container_decodes_with_its_embedded_schema() -> None:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(ALERT_SCHEMA), [RECORD])

    assert decode_value(buf.getvalue()) == RECORD


def test_avro_container_with_several_records_decodes_to_a_list() -> None:
    buf = io.BytesIO()
    second = {**RECORD, "candid": 1, "band": None}
    fastavro.writer(buf, fastavro.parse_schema(ALERT_SCHEMA), [RECORD, second])

    assert decode_value(buf.getvalue()) == [RECORD, second]


def test_damaged_avro_container_is_a_decode_error() -> None:
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(ALERT_SCHEMA), [RECORD])

    with pytest.raises(DecodeError, match="Avro container"):
        decode_value(buf.getvalue()[:40])


def test_confluent_wire_format_decodes_with_the_schema_from_the_registry(
    registry_url: str,
) -> None:
    value = encode_confluent(7, fastavro.parse_schema(ALERT_SCHEMA), RECORD)

    assert value[:5] == b"\x00\x00\x00\x00\x07"
    assert decode_value(value, registry_url) == RECORD
    assert Registry.requests == ["/schemas/ids/7"]


def test_wire_format_value_with_an_unknown_schema_id_is_a_decode_error(registry_url: str) -> None:
    value = encode_confluent(99, fastavro.parse_schema(ALERT_SCHEMA), RECORD)

    with pytest.raises(DecodeError, match="schema id 99"):
        decode_value(value, registry_url)
    assert "/schemas/ids/99" in Registry.requests


def test_a_registry_that_cannot_be_reached_is_not_blamed_on_the_record() -> None:
    value = encode_confluent(5, fastavro.parse_schema(ALERT_SCHEMA), RECORD)
    nobody = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(CaudalError, match="could not read schema id 5") as caught:
        decode_value(value, nobody)
    assert not isinstance(caught.value, DecodeError)
    assert "CAUDAL_SCHEMA_REGISTRY_URL" in (caught.value.hint or "")
