"""`caudal trades record` then `caudal run trades --feed replay`, as a user runs them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from caudal.docstore.sqlite import SqliteStore
from tests.support.cli import caudal, cli_env


@pytest.mark.slow
def test_a_recording_replayed_flat_out_ends_as_bars_of_its_trades(
    bootstrap: str, tmp_path: Path
) -> None:
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"tc{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
    )
    recording = tmp_path / "market.jsonl"
    # 90 s: flat out, a trade over 60 s into the recording once landed in the future (DLQ)
    made = caudal("trades", "record", "--out", str(recording), "--seconds", "90", "--rate", "60",
                  "--symbols", "AAPL,BINANCE:ETHUSDT", "--seed", "4", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    messages = [json.loads(line)["msg"] for line in recording.read_text().splitlines()]
    recorded = sum(len(json.loads(m)["data"]) for m in messages)
    assert f"{recorded:,} trades" in made.stdout

    args = ["--feed", "replay", "--replay", str(recording), "--speed", "0", "--bar", "2"]
    run = caudal("run", "trades", "--symbols", "AAPL,BINANCE:ETHUSDT", *args, env=env, timeout=400)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "metrics: http://127.0.0.1:" in run.stdout and "documents.sqlite" in run.stdout

    store = SqliteStore(tmp_path / "data" / "documents.sqlite")
    windows = store.find("windows")
    assert {w["symbol"] for w in windows} == {"AAPL", "BINANCE:ETHUSDT"}
    in_bars = sum(w["trades"] for w in windows)
    assert 0.97 * recorded <= in_bars <= recorded, "all but the few late trades are in bars"
    assert store.count("models") == 2


def test_a_replay_without_a_recording_says_what_to_do(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    missing = tmp_path / "none.jsonl"
    run = caudal("run", "trades", "--feed", "replay", "--replay", str(missing), env=env)
    assert run.returncode == 1
    assert f"no recording to replay at {missing}" in run.stderr
    assert "caudal trades record" in run.stderr
