"""`caudal run alerts` SIGKILLed at random moments: every alert in the CSV exactly once.

1,000 alerts, not 100,000, for CI's time: an alert is ~60 KB of Avro (three FITS cutouts)
decoded and put through the CNN, so 100,000 would be 6 GB to simulate and produce and ~5 minutes
a pass at ~325 alerts/s, per variant, in a suite already near CI's limit (docs/reliability.md);
1,000 in 100 files, in batches capped so that the stream outlasts the kills, take minutes.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from caudal.pipelines.alerts.model.simulate import write_alerts
from tests.support.cli import cli_env
from tests.support.random_kill import KILLS, run_with_random_kills

N = 1_000


def _written(path: Path) -> int:
    try:
        return len(pd.read_csv(path, usecols=["candid"]))
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError, ValueError):
        return 0


@pytest.mark.parametrize("kills", KILLS)
def test_random_kills_lose_and_duplicate_no_alert(
    bootstrap: str, tmp_path: Path, kills: int, reliability: Any
) -> None:
    write_alerts(tmp_path / "in", N, seed=11, per_file=10)
    out = tmp_path / "alerts.csv"
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"k{uuid.uuid4().hex[:6]}.",
        CAUDAL_MAX_OFFSETS_PER_TRIGGER=str(2 * N // (3 * kills)),
        CAUDAL_SPARK_MASTER="local[2]",
    )
    args = ["run", "alerts", "--input", str(tmp_path / "in"), "--output", str(out)]

    run = run_with_random_kills(
        args, env, lambda: _written(out), kills, seed=kills, log=tmp_path / "runs.log"
    )

    rows = pd.read_csv(out)
    truth = pd.read_csv(tmp_path / "in" / "labels.csv")
    assert rows["candid"].is_unique
    assert set(rows["candid"]) == set(truth["candid"])
    unclassified = rows[~rows["classified"].astype(bool)]
    assert unclassified["error"].notna().all()  # e.g. a simulated cutout mostly NaN: it says so
    assert len(unclassified) <= N // 100
    found = rows["candid"].nunique()
    reliability("alerts", records=N, kills_survived=run.kills, lost=N - found,
                duplicated=len(rows) - found, seconds=round(run.seconds))  # fmt: skip
