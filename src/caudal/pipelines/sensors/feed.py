"""Simulated sensor readings: a random walk per sensor, with a few malformed records."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

from caudal.pipelines.feeder import FeedCounters, Feeder, Record


class SensorFeed(Feeder):
    """``count`` readings from ``sensors`` sensors at ``rate`` per second (0 = as fast as can)."""

    name = "sensors"

    def __init__(
        self,
        topic: str,
        count: int,
        rate: float,
        sensors: int = 8,
        bad_fraction: float = 0.01,
        seed: int = 0,
    ) -> None:
        self.topic, self.count, self.rate = topic, count, rate
        self.sensors, self.bad_fraction, self.seed = sensors, bad_fraction, seed

    def records(self, stop: threading.Event, counters: FeedCounters) -> Iterator[Record]:
        rng = random.Random(self.seed)
        temps = [20.0 + rng.gauss(0, 2) for _ in range(self.sensors)]
        for _ in range(self.count):
            sensor = rng.randrange(self.sensors)
            temps[sensor] += rng.gauss(0, 0.4)
            value = self._record(rng, sensor, temps[sensor])
            yield Record(self.topic, value, f"s-{sensor:02d}".encode())

    def _record(self, rng: random.Random, sensor: int, temperature: float) -> bytes:
        if rng.random() < self.bad_fraction:
            return b'{"sensor": "s-%02d", "temperature": ' % sensor
        return json.dumps(
            {
                "sensor": f"s-{sensor:02d}",
                "ts": datetime.now(UTC).isoformat(),
                "temperature": round(temperature, 2),
                "humidity": round(rng.uniform(30, 60), 1),
            }
        ).encode()
