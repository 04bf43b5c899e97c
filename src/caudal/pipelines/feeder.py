"""Feeders: a pipeline's source data into Kafka, under one producer policy for every pipeline.

A pipeline's feeder only yields what to send (``records``); ``Feeder.run`` owns the producer:
one configuration (idempotent, batched), pacing to the feeder's ``rate``, a record counted only
once the broker has it (a delivery that fails counts as rejected, never as produced), waiting
for room when librdkafka's queue is full (``BufferError``) instead of dropping, flushing before
it returns, and a failure of the source reported in the counters. Runs in the feeder's thread
on the driver.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import Producer

log = logging.getLogger(__name__)

PRODUCER = {"enable.idempotence": True, "linger.ms": 10, "batch.num.messages": 10_000}
"""Every feeder's producer: no duplicate on a retried send, batches of up to 10 ms."""
POLL_EVERY = 1_000
"""Records between two delivery-report polls (besides the polls a paced feeder makes)."""


@dataclass
class FeedCounters:
    """Shared with the progress display; updated by the feeder thread."""

    produced: int = 0
    rejected: int = 0
    sources_read: int = 0
    """Source units consumed (files, connections); 0 when the feeder has no such unit."""
    done: bool = False
    error: Exception | None = None
    """Why the feeder stopped early (its source failed); None while it runs or when it ended."""
    delivery_error: str | None = None
    """The first reason the broker did not take a record (those are counted as rejected)."""


@dataclass(frozen=True)
class Record:
    """One record to produce, and what it counts as once the broker has it."""

    topic: str
    value: bytes
    key: bytes | None = None
    timestamp_ms: int | None = None
    tally: Literal["produced", "rejected"] | None = "produced"
    """``produced`` (input), ``rejected`` (a dead letter), None (a marker, not counted)."""


@dataclass(frozen=True)
class Delivered:
    """Wait until every record yielded before is delivered, then call ``then`` (e.g. remember a
    file as produced, so a restart does not send it again). Not called when stopped first;
    pacing starts again afterwards."""

    then: Callable[[], None]


class Feeder(ABC):
    """Pushes source data into Kafka from a thread; returns when its source is exhausted."""

    name: str = "feed"
    rate: float = 0.0
    """Counted records per second (0 = as fast as the broker takes them)."""

    @abstractmethod
    def records(
        self, stop: threading.Event, counters: FeedCounters
    ) -> Iterator[Record | Delivered]:
        """What to send, in order, until the source ends; ``stop`` is set when the run ends
        (the base stops reading at once; a generator waiting on its source should check it).
        ``counters``: for what never becomes a record (files read, unreadable files)."""

    def run(
        self, producer_conf: dict[str, Any], stop: threading.Event, counters: FeedCounters
    ) -> None:
        """Produce everything ``records`` yields, paced, until done or ``stop``; then flush."""
        producer = Producer({**producer_conf, **PRODUCER})
        reports = _delivery_reports(counters)
        pace = _Pace(self.rate, producer)
        items = self.records(stop, counters)
        try:
            for sent, item in enumerate(items):
                if stop.is_set():
                    break
                if isinstance(item, Delivered):
                    if _flush(producer, stop):
                        item.then()
                    pace.restart()
                    continue
                _produce(producer, item, reports.get(item.tally or ""))
                if item.tally is not None:
                    pace.counted()
                if sent % POLL_EVERY == 0:
                    producer.poll(0)
        except Exception as exc:
            counters.error = exc
            log.info("feed %s failed", self.name, exc_info=True)  # the runner reports it
        finally:
            if isinstance(items, Generator):
                items.close()  # the source's own clean-up (connections, files) runs now
            _flush(producer, stop)


class _Pace:
    """Sleeps so that counted records never run ahead of ``rate`` per second."""

    def __init__(self, rate: float, producer: Producer) -> None:
        self.rate, self.producer = rate, producer
        self.restart()

    def restart(self) -> None:
        """From now: time spent waiting for deliveries is not caught up with a burst."""
        self.count, self.started = 0, time.monotonic()

    def counted(self) -> None:
        self.count += 1
        if self.rate <= 0:
            return
        ahead = self.count / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            self.producer.poll(0)  # delivery reports while waiting: the counts stay live
            time.sleep(ahead)


Report = Callable[[Any, Any], None]


def _delivery_reports(counters: FeedCounters) -> dict[str, Report]:
    """Per tally, the delivery callback that counts a record once the broker has it; a failed
    delivery (the broker did not take it in time) counts as rejected, so the live table never
    claims records the topic lacks."""

    def produced(err: Any, _msg: Any) -> None:
        if err is None:
            counters.produced += 1
        else:
            rejected(err, _msg)

    def rejected(err: Any, _msg: Any) -> None:
        counters.rejected += 1
        if err is not None and counters.delivery_error is None:
            counters.delivery_error = str(err)

    return {"produced": produced, "rejected": rejected}


def _produce(producer: Producer, record: Record, on_delivery: Report | None) -> None:
    """Produce, waiting for room when librdkafka's queue is full (never drops a record)."""
    extra: dict[str, Any] = {"on_delivery": on_delivery} if on_delivery else {}
    if record.timestamp_ms is not None:
        extra["timestamp"] = record.timestamp_ms
    while True:
        try:
            producer.produce(record.topic, record.value, record.key, **extra)
            return
        except BufferError:
            producer.poll(0.05)


def _flush(producer: Producer, stop: threading.Event) -> bool:
    """Wait until every queued record is delivered (True), or until ``stop`` (False): a slow
    broker can hold more than one flush's timeout, and a record still queued when the producer
    goes away is lost."""
    while producer.flush(5):
        if stop.is_set():
            return False
    return True
