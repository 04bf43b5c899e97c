"""A recording replayed at any speed: every trade accepted, spaced as recorded, same bars."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from caudal.errors import CaudalError
from caudal.metrics import PipelineMetrics
from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.pipeline import TradesOptions, trades_pipeline
from caudal.pipelines.trades.protocol import check_trade, trade_message
from caudal.pipelines.trades.sources import ReplaySource, record_line, simulated_recording
from caudal.settings import Settings
from tests.support.trades import bars_of

NOW = 1_800_000_000_123
RECORDED = 1_700_000_000_000
SYMBOLS = ("AAPL", "MSFT")
BAR_MS = 5_000


def _record(path: Path, seconds: float, rate: float, clock_off_ms: int = 0) -> pd.DataFrame:
    """A simulator recording (receive times ``clock_off_ms`` off its trade times); its trades."""
    market = MarketSimulator(SYMBOLS, rate, RECORDED, seed=5)
    trades = []
    with path.open("w") as fh:
        for at, text in simulated_recording(market, seconds):
            record_line(fh, at + clock_off_ms, text)
            trades.extend(json.loads(text)["data"])
    return pd.DataFrame(trades, columns=["s", "p", "t", "v"])


def _replay(path: Path, speed: float, step_ms: int = 50) -> pd.DataFrame:
    """Every trade the replay sends, each checked as the client checks it when it arrives."""
    source = ReplaySource(path, frozenset(SYMBOLS), speed, BAR_MS)
    now, sent = NOW, []
    while not source.finished:
        for message in source.poll(now):
            for trade in json.loads(message.text)["data"]:
                assert check_trade(trade, now, source.symbols) is None, (trade, now)
                sent.append(trade)
        now += step_ms
    return pd.DataFrame(sent, columns=["s", "p", "t", "v"])


@pytest.mark.parametrize("clock_off_ms", [0, 2 * 3_600_000, -86_400_000])
def test_a_flat_out_replay_of_three_minutes_sends_every_trade_as_good(
    tmp_path: Path, clock_off_ms: int
) -> None:
    recorded = _record(tmp_path / "rec.jsonl", 180, 3_000 / 180, clock_off_ms)
    assert 2_700 < len(recorded) < 3_300
    replayed = _replay(tmp_path / "rec.jsonl", speed=0)
    assert len(replayed) == len(recorded)
    assert replayed["t"].max() <= NOW, "nothing dated after the replay started"


@pytest.mark.parametrize("speed", [0, 1, 4, 0.5])
def test_replayed_bars_are_the_recordings_bars_at_any_speed(tmp_path: Path, speed: float) -> None:
    recorded = _record(tmp_path / "rec.jsonl", 120, 50)
    replayed = _replay(tmp_path / "rec.jsonl", speed, step_ms=200)
    shifts = (replayed["t"] - recorded["t"]).unique()
    assert len(shifts) == 1 and shifts[0] % BAR_MS == 0, "one shift, by whole bars"
    moved = bars_of(replayed, BAR_MS).assign(
        start=lambda b: b["start"] - shifts[0], end=lambda b: b["end"] - shifts[0]
    )
    pd.testing.assert_frame_equal(moved, bars_of(recorded, BAR_MS))


def test_a_replay_keeps_the_recordings_rhythm_at_its_speed(tmp_path: Path) -> None:
    _record(tmp_path / "rec.jsonl", 10, 100)
    source = ReplaySource(tmp_path / "rec.jsonl", frozenset(SYMBOLS), speed=2, bar_ms=BAR_MS)
    assert source.poll(NOW) and not source.finished
    source.poll(NOW + 4_800)
    assert not source.finished, "10 s at 2x take 5 s"
    source.poll(NOW + 5_000)
    assert source.finished


def test_a_replay_that_would_date_trades_past_the_age_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    with path.open("w") as fh:
        for at in (RECORDED, RECORDED + 3_700_000):  # an hour and 100 s
            record_line(fh, at, trade_message([{"s": "AAPL", "p": 1.0, "t": at, "v": 1}]))
    settings, metrics = Settings(data_dir=tmp_path), PipelineMetrics("trades")
    flat_out = TradesOptions(SYMBOLS, feed="replay", replay=path, speed=0)
    with pytest.raises(CaudalError, match="dated 62 min back, past the feed's 60 min limit"):
        trades_pipeline(settings, flat_out, metrics)
    trades_pipeline(settings, TradesOptions(SYMBOLS, feed="replay", replay=path), metrics)
