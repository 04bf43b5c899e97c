"""SIGKILL a real `caudal run` at seeded random moments, restart it each time, let it finish.

Every pipeline's kill test uses this one harness; the test brings the input (produced before
the first start, so every restart reads the same stream), a cheap way to see the sink grow,
and the exactly-once check it runs once the last run exited cleanly.

A kill moment is drawn as: wait until the sink has grown since this (re)start (the job is past
its start-up and writing), then a seeded random delay of up to ``max_delay_s`` more. So kills
land mid-batch, between batches, during a commit, at different places on every seed, and each
cycle still moves the stream forward, which is what lets N kills fit in one finite run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.cli import CAUDAL


@dataclass
class KillRun:
    """What happened: the kill points the job survived and its sink size at each of them."""

    kills: int = 0
    progress_at_kill: list[int] = field(default_factory=list)
    seconds: float = 0.0


def run_with_random_kills(
    args: list[str],
    env: dict[str, str],
    progress: Callable[[], int],
    kills: int,
    seed: int,
    log: Path,
    max_delay_s: float = 2.0,
    timeout_s: float = 1400.0,
) -> KillRun:
    """Runs ``caudal *args``, SIGKILLs it ``kills`` times at random moments (restarting it
    after each), then lets the last run end; fails if a run ends before its kill or the
    last run does not exit 0. ``log`` collects every run's stderr (shown on failure)."""
    rng = random.Random(seed)
    started = time.monotonic()
    deadline = started + timeout_s
    run = KillRun()
    with log.open("ab") as err:
        for i in range(kills):
            job = subprocess.Popen([*CAUDAL, *args], env=env, stdout=subprocess.DEVNULL,
                                   stderr=err, stdin=subprocess.DEVNULL)  # fmt: skip
            what = f"kill {i + 1} of {kills}"
            try:
                _wait_for_growth(job, progress, deadline, what, log)
                time.sleep(rng.uniform(0, max_delay_s))
                if job.poll() is not None:
                    raise AssertionError(_ended_early(what, job.returncode, log))
            finally:
                job.send_signal(signal.SIGKILL)
                job.wait()
            run.kills += 1
            run.progress_at_kill.append(progress())
        left = max(deadline - time.monotonic(), 60)
        last = subprocess.run([*CAUDAL, *args], env=env, stdout=subprocess.DEVNULL, stderr=err,
                              stdin=subprocess.DEVNULL, timeout=left)  # fmt: skip
    assert last.returncode == 0, f"the last run failed:\n{_tail(log)}"
    run.seconds = time.monotonic() - started
    return run


def _wait_for_growth(
    job: subprocess.Popen[bytes],
    progress: Callable[[], int],
    deadline: float,
    what: str,
    log: Path,
) -> None:
    before = progress()
    while progress() <= before:
        if job.poll() is not None:
            raise AssertionError(_ended_early(what, job.returncode, log))
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the sink did not grow in time\n{_tail(log)}")
        time.sleep(0.2)


def _ended_early(what: str, returncode: int | None, log: Path) -> str:
    return (
        f"{what}: the run ended (exit {returncode}) before it could be killed; lower the batch "
        f"cap so the stream outlasts the kills\n{_tail(log)}"
    )


def _tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:]


SOAK = pytest.mark.skipif(
    not os.environ.get("CAUDAL_SOAK"),
    reason="10 kills per pipeline add ~30 min to the suite: CI and `make soak` run them",
)
KILLS = [
    pytest.param(3, id="3-kills", marks=pytest.mark.timeout(1200)),
    pytest.param(10, id="10-kills", marks=[pytest.mark.slow, SOAK, pytest.mark.timeout(1500)]),
]
"""``kills`` for a test: 3 in every run, 10 in CI and ``make soak`` (both set CAUDAL_SOAK=1);
each restart starts a JVM, so these outlast pytest's default 600 s bound on a slow machine."""
