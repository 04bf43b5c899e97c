"""True partition ends, found by fetching rather than by asking.

Tansu answers ListOffsets(latest) with a number below the real end after batched produce (and
far below it on S3 storage; measured), while the high watermark in a *Fetch* response is right.
So the end of a partition is read from a fetch at the reported end: an end-of-partition event
carries the true end, and a record there means the broker under-reported, in which case the
high watermark librdkafka cached from that same fetch is the true end. On a real Kafka cluster
the fetch simply confirms the reported end.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from caudal.broker.client import QUIET
from caudal.broker.exceptions import BrokerUnreachable

Partition = tuple[str, int]


def refresh_metadata(consumer: Consumer, topics: Iterable[str], timeout_s: float) -> None:
    """Re-read the metadata of ``topics`` before a long-lived consumer touches them again.

    librdkafka 2.16 crashes (SIGSEGV in its metadata cache) when a consumer that had fetched
    from a topic later fetches from, or lists offsets of, a re-created topic of the same name
    while still holding the old topic id; a metadata request first replaces the id (measured
    against Tansu). A topic deleted while a consumer is fetching from it can still crash it.
    """
    for topic in set(topics):
        try:
            consumer.list_topics(topic, timeout=timeout_s)
        except KafkaException as exc:
            raise BrokerUnreachable(
                f"could not read the metadata of topic {topic!r}: {exc.args[0]}",
                "check that the broker runs",
            ) from exc


class EndOffsetProbe:
    """Reusable on the driver: one consumer, no group membership, monotone per partition."""

    def __init__(self, conf: dict[str, Any], timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._consumer = Consumer(
            {
                **QUIET,
                **conf,
                "group.id": conf.get("group.id", "caudal-probe"),
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "error",
                "fetch.wait.max.ms": 10,
                "fetch.max.bytes": 1 << 20,
                "max.partition.fetch.bytes": 1 << 16,
            }
        )
        self._known: dict[Partition, int] = {}

    def watermarks(self, partition: Partition) -> tuple[int, int]:
        """The broker's own (low, high) answer; high may be too low on Tansu."""
        try:
            low, high = self._consumer.get_watermark_offsets(
                TopicPartition(*partition), timeout=self._timeout_s, cached=False
            )
        except Exception as exc:
            raise BrokerUnreachable(
                f"could not read offsets of {partition[0]}[{partition[1]}]: {exc}",
                "check that the broker runs and the topic exists",
            ) from exc
        return int(low), int(high)

    def end_offsets(self, partitions: Iterable[Partition]) -> dict[Partition, int]:
        """The offset after the last record of each partition."""
        partitions = list(partitions)
        refresh_metadata(self._consumer, (t for t, _ in partitions), self._timeout_s)
        reported = {p: self.watermarks(p)[1] for p in partitions}
        start = {p: max(h, self._known.get(p, 0)) for p, h in reported.items()}
        found = self._fetch_ends(start)
        ends = {p: found.get(p, start[p]) for p in start}  # unconfirmed: the best lower bound
        self._known.update(ends)
        return ends

    def _fetch_ends(self, start: dict[Partition, int]) -> dict[Partition, int]:
        if not start:
            return {}
        self._consumer.assign([TopicPartition(t, p, o) for (t, p), o in start.items()])
        found: dict[Partition, int] = {}
        # A loaded broker on S3 storage can take seconds to answer a fetch; giving up early
        # would return the under-reported end (measured: --once stopping 27 % short).
        deadline = time.monotonic() + self._timeout_s
        try:
            while len(found) < len(start) and time.monotonic() < deadline:
                msg = self._consumer.poll(0.05)
                if msg is None:
                    continue
                key = (msg.topic(), msg.partition())
                if key in found or key not in start:
                    continue
                err = msg.error()
                if err is None:
                    tp = TopicPartition(*key)
                    found[key] = int(self._consumer.get_watermark_offsets(tp, cached=True)[1])
                elif err.code() == KafkaError._PARTITION_EOF:
                    found[key] = int(msg.offset())
        finally:
            self._consumer.unassign()
        return found

    def close(self) -> None:
        self._consumer.close()
