"""Online sales events → Kafka as Confluent Avro, the schema registered by confluent-kafka."""

from __future__ import annotations

import random
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.serialization import MessageField, SerializationContext

from caudal.errors import CaudalError
from caudal.pipelines.base import FeedCounters
from caudal.pipelines.lakehouse.generate import sale

SCHEMAS = Path(__file__).with_name("schemas")


def schema_file(version: int) -> Path:
    path = SCHEMAS / f"sale_v{version}.avsc"
    if not path.exists():
        raise CaudalError(f"no sales schema version {version}", "use --schema-version 1 or 2")
    return path


def serializer(registry_url: str, schema: Path) -> Any:
    """confluent-kafka's ``AvroSerializer`` (its registry client warns about authlib on import)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The httpx module is deprecated")
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroSerializer

    client = SchemaRegistryClient({"url": registry_url})
    return AvroSerializer(client, schema.read_text(), conf={"auto.register.schemas": True})


def publish_sales(
    producer_conf: dict[str, Any],
    registry_url: str,
    topic: str,
    n: int,
    rate: float = 0.0,
    schema: Path | None = None,
    seed: int | None = None,
    counters: FeedCounters | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Produce ``n`` sale events at ``rate``/s (0 = flat out); returns how many were sent."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    schema = schema or schema_file(1)
    serialize = serializer(registry_url, schema)
    context = SerializationContext(topic, MessageField.VALUE)
    with_coupon = "coupon" in schema.read_text()
    rng = random.Random(seed)
    producer = Producer({**producer_conf, "linger.ms": 5})
    counters = counters or FeedCounters()
    started = time.monotonic()
    for i in range(n):
        if stop is not None and stop.is_set():
            break
        record = sale(rng, with_coupon)
        try:
            value = serialize(record, context)
        except SchemaRegistryError as exc:
            raise CaudalError(
                f"the schema registry refused {schema.name}: {exc.error_message}",
                "keep changes BACKWARD compatible (new fields need defaults) or use a new subject",
            ) from exc
        producer.produce(topic, value, key=record["order_id"].encode())
        counters.produced += 1
        if i % 1000 == 0:
            producer.poll(0)
        if rate > 0:
            ahead = (i + 1) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush(30)
    return counters.produced
