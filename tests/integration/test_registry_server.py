"""The embedded schema registry, driven by confluent-kafka's own client and Avro serde."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from caudal.pipelines.lakehouse.publish import schema_file
from caudal.registry.server import RegistryServer
from tests.support.cli import CAUDAL, cli_env

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

SUBJECT = "farm.sales-value"
V1 = schema_file(1).read_text()
V2 = schema_file(2).read_text()


def _with_field(schema: str, field: dict) -> str:
    parsed = json.loads(schema)
    parsed["fields"].append(field)
    return json.dumps(parsed)


def _retyped(schema: str, name: str, kind: str) -> str:
    parsed = json.loads(schema)
    for f in parsed["fields"]:
        if f["name"] == name:
            f["type"] = kind
    return json.dumps(parsed)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryServer]:
    srv = RegistryServer(tmp_path / "registry").start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: RegistryServer) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": server.url})


def test_serializer_registers_and_deserializer_reads_back(
    server: RegistryServer, client: SchemaRegistryClient
) -> None:
    ctx = SerializationContext("farm.sales", MessageField.VALUE)
    record = {
        "order_id": "O-1",
        "product_id": "P00001",
        "quantity": 3,
        "unit_price": 2.5,
        "region": "Murcia",
        "channel": "web",
        "ordered_at": 1_700_000_000_000,
    }
    value = AvroSerializer(client, V1)(record, ctx)
    assert value[0] == 0
    schema_id = int.from_bytes(value[1:5], "big")
    assert client.get_latest_version(SUBJECT).schema_id == schema_id
    fresh = SchemaRegistryClient({"url": server.url})  # no cache: fetches the id over HTTP
    back = AvroDeserializer(fresh)(value, ctx)
    assert back["order_id"] == "O-1" and back["quantity"] == 3
    assert back["ordered_at"].timestamp() == 1_700_000_000


def test_backward_compatible_evolution_gets_a_new_version(client: SchemaRegistryClient) -> None:
    first = client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    second = client.register_schema(SUBJECT, Schema(V2, "AVRO"))
    assert second != first
    assert client.get_versions(SUBJECT) == [1, 2]
    assert client.get_version(SUBJECT, 1).schema_id == first
    assert client.lookup_schema(SUBJECT, Schema(V1, "AVRO")).version == 1
    # the same schema again is the same id, not a new version
    assert client.register_schema(SUBJECT, Schema(V2, "AVRO")) == second
    assert client.get_versions(SUBJECT) == [1, 2]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda s: _with_field(s, {"name": "farm", "type": "string"}), "without a default"),
        (lambda s: _retyped(s, "quantity", "string"), "type changed from int to string"),
    ],
)
def test_incompatible_change_is_refused_with_the_reason(
    client: SchemaRegistryClient, change, why: str
) -> None:
    client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    candidate = Schema(change(V1), "AVRO")
    assert client.test_compatibility(SUBJECT, candidate) is False
    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema(SUBJECT, candidate)
    assert err.value.http_status_code == 409
    assert why in err.value.error_message
    assert client.get_versions(SUBJECT) == [1]


def test_promotion_is_compatible_and_none_level_allows_anything(
    client: SchemaRegistryClient,
) -> None:
    client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    assert client.test_compatibility(SUBJECT, Schema(_retyped(V1, "quantity", "long"), "AVRO"))
    assert client.get_compatibility() == "BACKWARD"
    client.set_compatibility(SUBJECT, "NONE")
    assert client.get_compatibility(SUBJECT) == "NONE"
    client.register_schema(SUBJECT, Schema(_retyped(V1, "quantity", "string"), "AVRO"))
    assert client.get_versions(SUBJECT) == [1, 2]


def test_ids_survive_a_restart_and_another_server_on_the_same_store(tmp_path: Path) -> None:
    first = RegistryServer(tmp_path / "reg").start()
    try:
        schema_id = SchemaRegistryClient({"url": first.url}).register_schema(
            SUBJECT, Schema(V1, "AVRO")
        )
        second = RegistryServer(tmp_path / "reg").start()
        try:
            other = SchemaRegistryClient({"url": second.url})
            assert json.loads(other.get_schema(schema_id).schema_str) == json.loads(V1)
            assert other.register_schema("other-value", Schema(V2, "AVRO")) != schema_id
        finally:
            second.stop()
    finally:
        first.stop()
    again = RegistryServer(tmp_path / "reg").start()
    try:
        assert httpx.get(f"{again.url}/subjects").json() == ["farm.sales-value", "other-value"]
    finally:
        again.stop()


def test_errors_carry_confluent_error_codes(server: RegistryServer) -> None:
    assert httpx.get(f"{server.url}/schemas/ids/99").json()["error_code"] == 40403
    assert httpx.get(f"{server.url}/subjects/nope/versions").json()["error_code"] == 40401
    bad = httpx.post(f"{server.url}/subjects/x/versions", json={"schema": "{not json"})
    assert bad.status_code == 422 and bad.json()["error_code"] == 42201


def test_caudal_registry_serves_the_data_dirs_store(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CAUDAL, "registry", "--port", "0"],
        env=cli_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
        assert found, "no URL printed"
        client = SchemaRegistryClient({"url": found.group()})
        schema_id = client.register_schema(SUBJECT, Schema(V1, "AVRO"))
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    stored = json.loads((tmp_path / "data" / "registry" / "registry.json").read_text())
    assert stored["subjects"] == {SUBJECT: [schema_id]}
