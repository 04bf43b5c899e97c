"""The feeder: generated calls into the input topic at a chosen rate, a few of them broken.

Broken calls are on purpose: they exercise the dead-letter path in every run, the way real
switchboard integrations send the odd truncated or out-of-range message.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.feeder import FeedCounters, Feeder, Record

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

    def records(self, stop: threading.Event, counters: FeedCounters) -> Iterator[Record]:
        rng = random.Random(self.seed)
        generator = CallGenerator(self.seed)
        breakages = list(BREAKAGES.values())
        for _ in range(self.count):
            call = generator.call()
            broken = rng.random() < self.bad_fraction
            value = rng.choice(breakages)(call) if broken else _dumps(call)
            yield Record(self.topic, value, call["id_aviso"].encode())
