"""Broker faults under a running pipeline: kill -9 of the only broker, and of one node of three.

Each test runs its own embedded cluster in its own data dir (not the session broker), with
`caudal up` and `caudal run` as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import running_broker
from caudal.broker.exceptions import BrokerError
from caudal.broker.process import pid_alive
from caudal.broker.tail import count_records
from caudal.settings import Settings
from tests.support.cli import CAUDAL, caudal, cli_env, produce

N = 6000


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _has_records(admin: TopicAdmin, topic: str) -> bool:
    try:
        return any(p.end > 0 for p in admin.partitions(topic))
    except BrokerError:  # not created yet, or its metadata not everywhere yet
        return False


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_of_the_single_broker_mid_stream_loses_nothing(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data", CAUDAL_MAX_OFFSETS_PER_TRIGGER="300", CAUDAL_SPARK_MASTER="local[2]"
    )
    assert caudal("up", env=env).returncode == 0
    settings = Settings(data_dir=tmp_path / "data")
    try:
        info = running_broker(settings)
        assert info is not None
        TopicAdmin(settings, info.bootstrap).create("faults.readings", 2)
        produce(info.bootstrap, "faults.readings", [b'{"sensor": "s-1", "temperature": %d}' % i
                                                    for i in range(N)])  # fmt: skip
        out = tmp_path / "out.jsonl"
        args = [*CAUDAL, "run", "sensors", "--no-feed", "--topic", "faults.readings"]
        log = (tmp_path / "job.log").open("w")
        job = subprocess.Popen(
            [*args, "--output", str(out)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 240
        while len(_rows(out)) < N // 4 and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.1)
        assert job.poll() is None, "the job finished before the broker could be killed"

        _kill(info.pid)
        time.sleep(3)  # the query sees its broker gone
        assert caudal("up", env=env).returncode == 0
        try:  # the run waits for its broker and goes on by itself
            assert job.wait(timeout=300) == 0, (tmp_path / "job.log").read_text()[-3000:]
        finally:
            job.kill()

        offsets = Counter((r["partition"], r["offset"]) for r in _rows(out))
        assert len(offsets) == N and set(offsets.values()) == {1}
    finally:
        caudal("down", env=env)


@pytest.mark.slow
def test_kill_9_of_one_node_of_three_leaves_every_call_routed_once(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data", CAUDAL_MAX_OFFSETS_PER_TRIGGER="500", CAUDAL_SPARK_MASTER="local[2]"
    )
    up = caudal("up", "--brokers", "3", env=env, timeout=180)
    assert up.returncode == 0, up.stderr
    settings = Settings(data_dir=tmp_path / "data")
    try:
        info = running_broker(settings)
        assert info is not None and len(info.pids) == 3
        log = tmp_path / "job.log"
        job = subprocess.Popen(
            [*CAUDAL, "run", "emergencies", "--count", str(N), "--rate", "2000", "--once"],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        admin = TopicAdmin(settings, info.bootstrap)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and job.poll() is None:  # kill once calls are routed
            if _has_records(admin, "emergencias.dlq"):
                break
            time.sleep(0.5)
        admin.close()
        assert job.poll() is None, "the run finished before a broker could be killed"
        _kill(info.pids[1])

        assert job.wait(timeout=600) == 0, log.read_text()[-2000:]
        check = caudal("emergencies", "check", env=env, timeout=180)
        assert check.returncode == 0, check.stdout + check.stderr
        survivors = running_broker(settings)
        assert survivors is not None and len(survivors.pids) == 2
        admin = TopicAdmin(settings, survivors.bootstrap)
        assert count_records(settings, admin, "emergencias.avisos") == N
        admin.close()
    finally:
        caudal("down", env=env)
