"""`caudal run emergencies` SIGKILLed at random moments over 100,000 calls: none lost or doubled.

The calls (1 % broken) are on the input topic before the first start, so every restart routes
the same stream. After the last run, the check behind `caudal emergencies check` must pass: every
input record in exactly one route topic or the DLQ, which also proves no replayed batch wrote twice.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest

from caudal.broker.admin import TopicAdmin
from caudal.pipelines.emergencies.conservation import run_check
from caudal.pipelines.emergencies.feed import BREAKAGES
from caudal.pipelines.emergencies.generator import CallGenerator
from caudal.pipelines.emergencies.pipeline import INPUT
from caudal.settings import Settings
from tests.support.cli import cli_env, produce
from tests.support.random_kill import KILLS, run_with_random_kills

N = 100_000


def _calls(seed: int) -> list[bytes]:
    rng, gen = random.Random(seed), CallGenerator(seed=seed)
    broken = list(BREAKAGES.values())
    return [
        rng.choice(broken)(gen.call()) if rng.random() < 0.01 else json.dumps(gen.call()).encode()
        for _ in range(N)
    ]


def _written(admin: TopicAdmin, prefix: str) -> int:
    """Records on the route topics and the DLQ (aborted attempts included: it only grows)."""
    names = [t for t in admin.topics() if t.startswith(prefix) and not t.endswith(".avisos")]
    return sum(p.end for t in names for p in admin.partitions(t))


@pytest.mark.parametrize("kills", KILLS)
def test_random_kills_lose_and_duplicate_no_call(
    bootstrap: str, admin: TopicAdmin, tmp_path: Path, kills: int, reliability: Any
) -> None:
    prefix = f"k{uuid.uuid4().hex[:6]}."
    admin.create(prefix + INPUT, 2)
    produce(bootstrap, prefix + INPUT, _calls(seed=kills))
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER=str(N // (3 * kills)),
        CAUDAL_SPARK_MASTER="local[2]",
    )
    run = run_with_random_kills(
        ["run", "emergencies", "--no-feed"],
        env,
        lambda: _written(admin, prefix),
        kills,
        seed=kills,
        log=tmp_path / "runs.log",
    )

    checked = Settings(data_dir=tmp_path / "data", kafka_bootstrap=bootstrap, topic_prefix=prefix)
    report = run_check(checked, bootstrap)
    out = sum(report.routed.values()) + report.dead_letters
    assert report.ok, report.problems
    assert report.inputs == N and out == N
    reliability("emergencies", records=N, kills_survived=run.kills, lost=max(N - out, 0),
                duplicated=max(out - N, 0), seconds=round(run.seconds))  # fmt: skip
