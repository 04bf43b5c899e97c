"""Simulated sensor readings: a random walk per sensor, with a few malformed records."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from caudal.pipelines.base import FeedCounters, Feeder


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

    def run(
        self, producer_conf: dict[str, Any], stop: threading.Event, counters: FeedCounters
    ) -> None:
        rng = random.Random(self.seed)
        producer = Producer({**producer_conf, "linger.ms": 5})
        temps = [20.0 + rng.gauss(0, 2) for _ in range(self.sensors)]
        started = time.monotonic()
        for i in range(self.count):
            if stop.is_set():
                break
            sensor = rng.randrange(self.sensors)
            temps[sensor] += rng.gauss(0, 0.4)
            producer.produce(
                self.topic, self._record(rng, sensor, temps[sensor]), key=f"s-{sensor:02d}".encode()
            )
            counters.produced += 1
            if i % 1000 == 0:
                producer.poll(0)
            if self.rate > 0:
                ahead = (i + 1) / self.rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        producer.flush(30)

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
