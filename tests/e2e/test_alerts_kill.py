"""`caudal run alerts` SIGKILLed mid-stream and restarted: every alert in the CSV exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from caudal.pipelines.alerts.simulate import write_alerts
from tests.support.cli import CAUDAL, cli_env

N = 300


def _written(path: Path) -> int:
    try:
        return len(pd.read_csv(path, usecols=["candid"]))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


@pytest.mark.slow
def test_kill_and_restart_loses_and_duplicates_nothing(bootstrap: str, tmp_path: Path) -> None:
    write_alerts(tmp_path / "in", N, seed=11, per_file=10)
    out = tmp_path / "alerts.csv"
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"k{uuid.uuid4().hex[:6]}.",
        CAUDAL_MAX_OFFSETS_PER_TRIGGER="20",
        CAUDAL_SPARK_MASTER="local[2]",
    )
    args = [*CAUDAL, "run", "alerts", "--input", str(tmp_path / "in"), "--output", str(out)]

    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _written(out) < 40 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    assert job.poll() is None, "the run finished before it could be killed"
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert 0 < _written(out) < N

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

    rows = pd.read_csv(out)
    truth = pd.read_csv(tmp_path / "in" / "labels.csv")
    assert rows["candid"].is_unique
    assert set(rows["candid"]) == set(truth["candid"])
    assert rows["classified"].all()
