"""A job SIGKILLed mid-stream and restarted leaves every source offset in the sink exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.cli import CAUDAL, cli_env, produce

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
    args = [*CAUDAL, "run", "sensors", "--no-feed", "--topic", topic, "--output", str(out)]

    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while len(_rows(out)) < N // 4 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    assert job.poll() is None, "the job finished before it could be killed; lower the batch cap"
    job.send_signal(signal.SIGKILL)
    job.wait()
    killed_at = len(_rows(out))
    assert 0 < killed_at < N

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

    offsets = Counter((r["partition"], r["offset"]) for r in _rows(out))
    assert sum(offsets.values()) == N
    assert set(offsets.values()) == {1}
    assert len(offsets) == N
