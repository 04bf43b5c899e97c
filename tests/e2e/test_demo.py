"""`caudal demo`, as `make demo` runs it: the alerts pipeline on the shipped simulated alerts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from caudal.pipelines.alerts.demo import SAMPLES
from tests.support.cli import caudal, cli_env


@pytest.mark.slow
def test_demo_classifies_every_shipped_alert(tmp_path: Path) -> None:
    out = tmp_path / "alerts.csv"
    result = caudal("demo", "--output", str(out), env=cli_env(tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary" in result.stdout and "predicted right" in result.stdout
    rows = pd.read_csv(out)
    truth = pd.read_csv(SAMPLES / "labels.csv")
    assert sorted(rows["candid"]) == sorted(truth["candid"])
    assert rows["classified"].all()
    right = rows.merge(truth, on="candid", suffixes=("", "_true"))
    assert (right["class"] == right["class_true"]).mean() > 0.8
