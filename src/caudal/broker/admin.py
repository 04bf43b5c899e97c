"""Topic administration and offsets/lag, as ``caudal topics`` and ``caudal status`` show them."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from caudal.broker.client import client_config
from caudal.broker.exceptions import BrokerError, BrokerUnreachable, TopicNotFound
from caudal.settings import Settings

_SETTLING = {
    KafkaError.UNKNOWN_LEADER_EPOCH,
    KafkaError.FENCED_LEADER_EPOCH,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.OFFSET_NOT_AVAILABLE,
}
"""Answers of a cluster that is still settling (restart, leader change, new topic)."""


@dataclass
class PartitionState:
    topic: str
    partition: int
    leader: int
    start: int
    end: int

    @property
    def offsets(self) -> int:
        """Offsets in the partition: its records plus, on transactional topics, one commit or
        abort marker per transaction (so not a record count: see ``tail.count_records``)."""
        return self.end - self.start


@dataclass
class GroupLag:
    group: str
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        return max(self.end - self.committed, 0)


@dataclass(frozen=True)
class BrokerNode:
    id: int
    host: str
    port: int
    controller: bool


@dataclass(frozen=True)
class TopicLayout:
    """A topic's shape: partitions, replicas per partition, and the fewest in sync."""

    name: str
    partitions: int
    replication: int
    min_in_sync: int


class TopicAdmin:
    """A thin, bounded-time layer over ``AdminClient``; every call raises ``BrokerError``."""

    def __init__(self, settings: Settings, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._timeout = settings.kafka_timeout_s
        self._conf = client_config(settings, bootstrap)
        self._admin = AdminClient(self._conf)
        self._committers: dict[str, Consumer] = {}

    def topics(self) -> dict[str, int]:
        """Topic name → partition count, internal topics left out."""
        meta = self._metadata()
        return {
            name: len(t.partitions)
            for name, t in sorted(meta.topics.items())
            if not name.startswith("__")
        }

    def describe(self) -> tuple[list[BrokerNode], list[TopicLayout]]:
        """The brokers (with the controller marked) and every topic's layout, internal left out,
        from one metadata request."""
        meta = self._metadata()
        brokers = [
            BrokerNode(b.id, b.host, b.port, b.id == meta.controller_id)
            for b in sorted(meta.brokers.values(), key=lambda b: b.id)
        ]
        topics = [
            TopicLayout(
                name,
                len(t.partitions),
                max((len(p.replicas) for p in t.partitions.values()), default=0),
                min((len(p.isrs) for p in t.partitions.values()), default=0),
            )
            for name, t in sorted(meta.topics.items())
            if not name.startswith("__")
        ]
        return brokers, topics

    def create(
        self,
        name: str,
        partitions: int = 1,
        config: dict[str, str] | None = None,
        exist_ok: bool = False,
    ) -> bool:
        """Create a topic; returns False when it existed and ``exist_ok``."""
        if exist_ok and name in self.topics():
            return False
        # Replication -1: the cluster's default.replication.factor (3 on a 3-node cluster).
        future = self._admin.create_topics(
            [NewTopic(name, partitions, -1, config=config or {})], request_timeout=self._timeout
        )[name]
        try:
            self._wait(future, f"could not create topic {name!r}")
        except BrokerError as exc:
            if exist_ok and "already exists" in str(exc).lower():
                return False
            raise
        return True

    def delete(self, name: str) -> None:
        self._require(name)
        future = self._admin.delete_topics([name], request_timeout=self._timeout)[name]
        self._wait(future, f"could not delete topic {name!r}")

    def partitions(self, name: str) -> list[PartitionState]:
        """Per partition: leader, first offset and end offset (read_committed)."""
        meta = self._require(name)
        keys = [(name, p) for p in sorted(meta.partitions)]
        starts = self.offsets(keys, OffsetSpec.earliest())
        ends = self.end_offsets(keys)
        return [
            PartitionState(name, p, meta.partitions[p].leader, starts[(name, p)], ends[(name, p)])
            for _, p in keys
        ]

    def end_offsets(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The last stable offset of each partition: what a read_committed reader reaches."""
        return self.offsets(partitions, OffsetSpec.latest())

    def offsets(
        self, partitions: Iterable[tuple[str, int]], spec: OffsetSpec
    ) -> dict[tuple[str, int], int]:
        """ListOffsets for ``spec`` (earliest, latest) under read_committed isolation.

        Retriable answers (a leader still loading its log after a restart, a topic whose
        metadata has not reached every broker yet) are asked again within the timeout.
        """
        request = {TopicPartition(t, p): spec for t, p in partitions}
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                return self._list_offsets(request)
            except BrokerError as exc:
                cause = exc.__cause__
                error = cause.args[0] if isinstance(cause, KafkaException) else None
                retriable = error is not None and (error.retriable() or error.code() in _SETTLING)
                if not retriable or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def _list_offsets(
        self, request: dict[TopicPartition, OffsetSpec]
    ) -> dict[tuple[str, int], int]:
        if not request:
            return {}
        futures = self._admin.list_offsets(
            request, isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=self._timeout
        )
        return {
            (tp.topic, tp.partition): int(
                self._wait(f, f"could not list offsets of {tp.topic}").offset
            )
            for tp, f in futures.items()
        }

    def group_lags(self) -> list[GroupLag]:
        """Committed offset and lag of every consumer group on every partition it committed."""
        groups = self._wait(
            self._admin.list_consumer_groups(request_timeout=self._timeout),
            "could not list consumer groups",
        )
        if groups.errors:
            raise BrokerError(f"could not list consumer groups: {groups.errors[0]}")
        rows: list[GroupLag] = []
        for listing in sorted(groups.valid, key=lambda g: g.group_id):
            rows.extend(self._lags_of(listing.group_id))
        return rows

    def commit_offsets(self, group: str, offsets: dict[tuple[str, int], int]) -> None:
        """Store ``offsets`` as ``group``'s position (no membership), so lag can be shown."""
        if not offsets:
            return
        if group not in self._committers:
            self._committers[group] = Consumer(
                {**self._conf, "group.id": group, "enable.auto.commit": False}
            )
        try:
            self._committers[group].commit(
                offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            raise BrokerUnreachable(f"could not commit offsets of group {group!r}: {exc}") from exc

    def _lags_of(self, group: str) -> list[GroupLag]:
        request = [ConsumerGroupTopicPartitions(group)]
        futures = self._admin.list_consumer_group_offsets(request, request_timeout=self._timeout)
        result = self._wait(futures[group], f"could not read offsets of group {group!r}")
        committed = {
            (tp.topic, tp.partition): tp.offset
            for tp in result.topic_partitions or []
            if tp.offset >= 0
        }
        ends = self.end_offsets(committed.keys())
        return [
            GroupLag(group, t, p, off, ends[(t, p)]) for (t, p), off in sorted(committed.items())
        ]

    def _wait(self, future: Future[Any], failure: str) -> Any:
        """A request's result; its failure or a timeout as ``BrokerError``, never a hang.

        librdkafka gives up after ``request_timeout``; the future is waited on a little longer
        so its own error (with the reason) normally arrives before the local timeout does.
        """
        try:
            return future.result(timeout=self._timeout + 1)
        except KafkaException as exc:
            raise BrokerError(f"{failure}: {exc.args[0]}") from exc
        except FutureTimeout as exc:
            raise BrokerUnreachable(
                f"{failure}: no answer from {self.bootstrap} within {self._timeout:.0f} s",
                "check the address (`caudal config`) and that the broker runs (`caudal up`)",
            ) from exc

    def _metadata(self, topic: str | None = None) -> Any:
        try:
            return self._admin.list_topics(topic=topic, timeout=self._timeout)
        except KafkaException as exc:
            raise BrokerUnreachable(
                f"no Kafka broker answered at {self.bootstrap} within {self._timeout:.0f} s",
                "check the address (`caudal config`) and that the broker runs (`caudal up`)",
            ) from exc

    def _require(self, name: str) -> Any:
        meta = self._metadata()
        if name not in meta.topics:
            raise TopicNotFound(
                f"topic {name!r} does not exist",
                f"create it with `caudal topics create {name}`, or see `caudal topics list`",
            )
        return meta.topics[name]

    def close(self) -> None:
        for consumer in self._committers.values():
            consumer.close()
