"""Small helpers shared by tests: run the real CLI, produce records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from confluent_kafka import Producer

CAUDAL = [sys.executable, "-m", "caudal.cli.main"]


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAUDAL_")}
    return {**env, "CAUDAL_DATA_DIR": str(data_dir), "COLUMNS": "160", **extra}


def caudal(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CAUDAL, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def produce(
    bootstrap: str, topic: str, values: list[bytes], keys: list[bytes] | None = None, **conf: object
) -> None:
    """Produce with librdkafka's batching; every record delivered."""
    producer = Producer({"bootstrap.servers": bootstrap, **conf})
    for i, value in enumerate(values):
        producer.produce(topic, value, keys[i] if keys else None)
        if i % 5000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
