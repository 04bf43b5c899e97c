"""Reading committed records back: the last N of a topic (``caudal topics tail``) or a range."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, TopicPartition

from caudal.broker.admin import PartitionState, TopicAdmin
from caudal.broker.client import client_config
from caudal.errors import CaudalError
from caudal.settings import Settings


@dataclass
class TailRecord:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def committed_reader(settings: Settings, bootstrap: str, group: str) -> Consumer:
    """A consumer of committed records only, told where each partition ends; no group
    membership (partitions are assigned), no commits."""
    return Consumer(
        client_config(
            settings,
            bootstrap,
            **{
                "group.id": group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            },
        )
    )


def read_range(
    consumer: Consumer, partition: PartitionState, start: int, timeout_s: float
) -> Iterator[TailRecord]:
    """The committed records of ``partition`` from ``start`` to its end, in offset order.

    A transaction's commit marker takes an offset, and an aborted record is skipped, so the
    last record may sit before the end offset: the partition-EOF event, or the consumer's
    fetch position, says where it stops.
    """
    tp = TopicPartition(partition.topic, partition.partition, start)
    consumer.assign([tp])
    position, quiet_until = start, time.monotonic() + timeout_s
    while position < partition.end:
        # short waits: consume() holds out for its whole count, which markers never fill
        msgs = consumer.consume(10_000, 0.2)
        if not msgs:
            # the fetch position moves past markers and aborted records, the last record not
            position = max(position, consumer.position([tp])[0].offset)
            if position >= partition.end:
                return
            if time.monotonic() > quiet_until:
                raise CaudalError(
                    f"{partition.topic}[{partition.partition}] stopped answering at offset "
                    f"{position} of {partition.end}",
                    "check the broker (`caudal status`) and run the command again",
                )
            continue
        quiet_until = time.monotonic() + timeout_s
        for m in msgs:
            error = m.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    return
                raise CaudalError(f"reading {partition.topic}: {error.str()}")
            if m.offset() >= partition.end:
                return
            position = m.offset() + 1
            yield TailRecord(
                m.partition(),
                m.offset(),
                m.timestamp()[1],
                m.key(),
                m.value(),
                list(m.headers() or []),
            )


def tail(settings: Settings, admin: TopicAdmin, topic: str, n: int) -> list[TailRecord]:
    """Reads up to ``n`` records from the end of each partition, keeps the ``n`` newest."""
    consumer = committed_reader(settings, admin.bootstrap, "caudal-tail")
    records: list[TailRecord] = []
    try:
        for p in admin.partitions(topic):
            if p.end > p.start:
                start = max(p.start, p.end - n)
                records.extend(read_range(consumer, p, start, settings.kafka_timeout_s))
    finally:
        consumer.close()
    records.sort(key=lambda r: (r.timestamp_ms, r.partition, r.offset))
    return records[-n:]


def count_records(settings: Settings, admin: TopicAdmin, topic: str) -> int:
    """Committed records of ``topic``, counted by reading them (offsets also count markers)."""
    consumer = committed_reader(settings, admin.bootstrap, "caudal-count")
    try:
        return sum(
            sum(1 for _ in read_range(consumer, p, p.start, settings.kafka_timeout_s))
            for p in admin.partitions(topic)
            if p.end > p.start
        )
    finally:
        consumer.close()
