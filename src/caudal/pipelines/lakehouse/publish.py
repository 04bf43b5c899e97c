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
    """Produce ``n`` sale events at ``rate``/s (0 = flat out); returns how many the broker took.

    Counted on delivery, not on queueing: a topic that does not exist (brokers here do not
    create topics) fails every delivery, and that is an error, not "n events produced".
    """
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    schema = schema or schema_file(1)
    serialize = serializer(registry_url, schema)
    context = SerializationContext(topic, MessageField.VALUE)
    with_coupon = "coupon" in schema.read_text()
    rng = random.Random(seed)
    producer = Producer({**producer_conf, "linger.ms": 5})
    counters = counters or FeedCounters()
    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is None:
            counters.produced += 1
        else:
            counters.rejected += 1
            failures.append(str(err))

    started, sent = time.monotonic(), 0
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
        producer.produce(topic, value, key=record["order_id"].encode(), on_delivery=delivered)
        sent += 1
        if i % 1000 == 0:
            producer.poll(0)
        if rate > 0:
            ahead = (i + 1) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    queued = producer.flush(60)
    if failures or queued:
        why = failures[0] if failures else "still queued after 60 s"
        raise CaudalError(
            f"{len(failures) + queued:,} of {sent:,} sale events not delivered to {topic}: {why}",
            "create the topic first (`caudal topics create`) and check the broker",
        )
    return counters.produced
