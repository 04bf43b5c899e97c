"""A job SIGKILLed at random moments and restarted leaves every source offset in the sink once."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tests.support.cli import cli_env, produce
from tests.support.random_kill import run_with_random_kills

N = 6000


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_kill_and_restart_writes_each_offset_once(bootstrap: str, admin, tmp_path: Path) -> None:
    topic = "eo.readings"
    admin.create(topic, partitions=2, exist_ok=True)
    values = [
        json.dumps({"sensor": f"s-{i % 5}", "temperature": 20 + i % 7}).encode() for i in range(N)
    ]
    produce(bootstrap, topic, values)
    out = tmp_path / "out.jsonl"
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER="300",
        CAUDAL_SPARK_MASTER="local[2]",
    )
    args = ["run", "sensors", "--no-feed", "--topic", topic, "--output", str(out)]

    run = run_with_random_kills(
        args, env, lambda: len(_rows(out)), kills=2, seed=1, log=tmp_path / "runs.log"
    )

    assert run.kills == 2 and 0 < run.progress_at_kill[0] < N
    offsets = Counter((r["partition"], r["offset"]) for r in _rows(out))
    assert sum(offsets.values()) == N
    assert set(offsets.values()) == {1}
    assert len(offsets) == N
