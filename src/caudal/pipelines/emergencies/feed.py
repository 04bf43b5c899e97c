"""The feeder: generated calls into the input topic at a chosen rate, a few of them broken.

Broken calls are on purpose: they exercise the dead-letter path in every run, the way real
switchboard integrations send the odd truncated or out-of-range message.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from caudal.pipelines.base import FeedCounters, Feeder
from caudal.pipelines.emergencies.generator import CallGenerator

Breakage = Callable[[dict[str, Any]], bytes]


def _dumps(call: dict[str, Any]) -> bytes:
    return json.dumps(call, ensure_ascii=False).encode()


BREAKAGES: dict[str, Breakage] = {
    "truncated JSON": lambda c: _dumps(c)[: len(_dumps(c)) // 2],
    "missing field": lambda c: _dumps({k: v for k, v in c.items() if k != "urgencia"}),
    "unknown urgency": lambda c: _dumps({**c, "urgencia": "urgentisima"}),
    "outside Spain": lambda c: _dumps({**c, "lat": 48.8566, "lon": 2.3522}),
    "unknown field": lambda c: _dumps({**c, "matricula": "1234ABC"}),
    "wrong type": lambda c: _dumps({**c, "heridos": "dos"}),
}
"""How a generated call is broken; each kind must end in the dead-letter topic."""


class CallFeed(Feeder):
    """``count`` calls at ``rate`` per second (0 = as fast as possible)."""

    name = "calls"

    def __init__(
        self,
        topic: str,
        count: int,
        rate: float,
        bad_fraction: float = 0.01,
        seed: int | None = None,
    ) -> None:
        self.topic, self.count, self.rate = topic, count, rate
        self.bad_fraction, self.seed = bad_fraction, seed

    def run(
        self, producer_conf: dict[str, Any], stop: threading.Event, counters: FeedCounters
    ) -> None:
        rng = random.Random(self.seed)
        generator = CallGenerator(self.seed)
        producer = Producer({**producer_conf, "linger.ms": 5, "batch.num.messages": 10_000})
        breakages = list(BREAKAGES.values())
        delivered = _delivery_counter(counters)
        started = time.monotonic()
        for i in range(self.count):
            if stop.is_set():
                break
            call = generator.call()
            broken = rng.random() < self.bad_fraction
            value = rng.choice(breakages)(call) if broken else _dumps(call)
            _produce(producer, self.topic, value, call["id_aviso"].encode(), delivered)
            if i % 1000 == 0:
                producer.poll(0)
            if self.rate > 0:
                ahead = (i + 1) / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        # a slow broker can hold more than flush's timeout in the queue: whatever is still
        # queued when the producer goes away is lost, so wait for it (unless told to stop)
        while producer.flush(5) and not stop.is_set():
            pass


def _delivery_counter(counters: FeedCounters) -> Callable[[Any, Any], None]:
    """Counts a call as produced once the broker has it; a failed delivery (the broker did not
    take it in time) as rejected, so the live table never claims calls the input lacks."""

    def report(err: Any, _msg: Any) -> None:
        if err is None:
            counters.produced += 1
        else:
            counters.rejected += 1

    return report


def _produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes,
    on_delivery: Callable[[Any, Any], None],
) -> None:
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)
