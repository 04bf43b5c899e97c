"""The last N records of a topic across its partitions, newest last."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import Consumer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.settings import Settings


@dataclass
class TailRecord:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def tail(settings: Settings, admin: TopicAdmin, topic: str, n: int) -> list[TailRecord]:
    """Reads up to ``n`` records from the end of each partition, keeps the ``n`` newest."""
    states = [p for p in admin.partitions(topic) if p.end > p.start]
    consumer = Consumer(
        client_config(
            settings,
            admin.bootstrap,
            **{
                "group.id": "caudal-tail",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            },
        )
    )
    records: list[TailRecord] = []
    try:
        for p in states:
            start = max(p.start, p.end - n)
            consumer.assign([TopicPartition(topic, p.partition, start)])
            position = start
            while position < p.end:
                msgs = consumer.consume(min(n, p.end - position), settings.kafka_timeout_s)
                if not msgs:
                    break
                for m in msgs:
                    if m.error() is None and m.offset() < p.end:
                        records.append(
                            TailRecord(
                                m.partition(),
                                m.offset(),
                                m.timestamp()[1],
                                m.key(),
                                m.value(),
                                list(m.headers() or []),
                            )
                        )
                        position = m.offset() + 1
    finally:
        consumer.close()
    records.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
    return records[-n:]
