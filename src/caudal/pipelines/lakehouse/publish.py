"""Online sales events → Kafka as Confluent Avro, the schema registered by confluent-kafka."""

from __future__ import annotations

import random
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from confluent_kafka.serialization import MessageField, SerializationContext

from caudal.errors import CaudalError
from caudal.pipelines.feeder import FeedCounters, Feeder, Record
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


class SaleFeed(Feeder):
    """``n`` sale events, Avro-serialized against the registry (the schema registered there)."""

    name = "sales"

    def __init__(self, topic: str, n: int, rate: float, serialize: Any, with_coupon: bool,
                 seed: int | None) -> None:  # fmt: skip
        self.topic, self.n, self.rate, self.seed = topic, n, rate, seed
        self.serialize, self.with_coupon = serialize, with_coupon

    def records(self, stop: threading.Event, counters: FeedCounters) -> Iterator[Record]:
        rng = random.Random(self.seed)
        context = SerializationContext(self.topic, MessageField.VALUE)
        for _ in range(self.n):
            record = sale(rng, self.with_coupon)
            value = self.serialize(record, context)
            yield Record(self.topic, value, record["order_id"].encode())


def publish_sales(
    producer_conf: dict[str, Any],
    registry_url: str,
    topic: str,
    n: int,
    rate: float = 0.0,
    schema: Path | None = None,
    seed: int | None = None,
) -> int:
    """Produce ``n`` sale events at ``rate``/s (0 = flat out); returns how many the broker took.

    Counted on delivery, not on queueing: a topic that does not exist (brokers here do not
    create topics) fails every delivery, and that is an error, not "n events produced".
    """
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    schema = schema or schema_file(1)
    feed = SaleFeed(
        topic, n, rate, serializer(registry_url, schema), "coupon" in schema.read_text(), seed
    )
    counters = FeedCounters()
    feed.run(producer_conf, threading.Event(), counters)
    if isinstance(counters.error, SchemaRegistryError):
        raise CaudalError(
            f"the schema registry refused {schema.name}: {counters.error.error_message}",
            "keep changes BACKWARD compatible (new fields need defaults) or use a new subject",
        ) from counters.error
    if counters.error is not None:
        raise counters.error
    if counters.rejected:
        sent = counters.produced + counters.rejected
        raise CaudalError(
            f"{counters.rejected:,} of {sent:,} sale events not delivered to {topic}: "
            f"{counters.delivery_error}",
            "create the topic first (`caudal topics create`) and check the broker",
        )
    return counters.produced
