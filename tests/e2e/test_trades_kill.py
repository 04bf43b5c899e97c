"""`caudal run trades` SIGKILLed at random moments over 100,000 trades: bars and model exact.

The trades are put on ``trades.raw`` first (``--feed none``), so every run reads the very same
input. After the last run, every bar equals a pandas recomputation (so no trade was lost or
counted twice) and each symbol's model state equals one uninterrupted pass of the same bars
through ``SymbolState``: the state restored from the checkpoint continued exactly, each time.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from caudal.broker.admin import TopicAdmin
from caudal.docstore.sqlite import SqliteStore
from caudal.pipelines.trades.job import FLUSH_SYMBOL
from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.model import SymbolState
from tests.support.cli import cli_env, produce
from tests.support.random_kill import KILLS, run_with_random_kills
from tests.support.trades import bars_of, simulated_trades

SYMBOLS = ("AAPL", "MSFT", "BINANCE:BTCUSDT")
BAR_S, LATENESS_S, SLIDE = 2, 5, 3
START_MS = 1_800_000_000_000
N = 100_000


def _windows(path: Path) -> int:
    if not path.exists():
        return 0
    store = SqliteStore(path)
    try:
        return store.count("windows")
    finally:
        store.close()


def _trades() -> pd.DataFrame:
    """100,000 trades (1,000 a second for 100 s of market time)."""
    market = MarketSimulator(SYMBOLS, 1_000, START_MS, seed=21, momentum=1.0, late_fraction=0)
    trades = simulated_trades(market, 110).head(N)
    assert len(trades) == N
    return trades


def _expected_models(bars: pd.DataFrame) -> dict[str, dict[str, object]]:
    """One uninterrupted pass of the bars, in time order, through each symbol's state."""
    states = {s: SymbolState(s) for s in SYMBOLS}
    for bar in bars.sort_values("start").to_dict("records"):
        states[bar["symbol"]].update({**bar, "sum_logp": 0.0, "sum_logp2": 0.0}, SLIDE)
    return {s: _comparable(state.to_dict()) for s, state in states.items()}


def _comparable(state: dict[str, object]) -> dict[str, object]:
    """The state without ``recent`` (bars kept for sliding windows, whose float sums depend on
    summation order); everything the model learns and scores is compared exactly."""
    recent = state["recent"]
    assert isinstance(recent, list)
    return {**state, "recent": [b["start"] for b in recent]}


@pytest.mark.parametrize("kills", KILLS)
def test_random_kills_leave_bars_and_model_state_exact(
    bootstrap: str, admin: TopicAdmin, tmp_path: Path, kills: int, reliability: Any
) -> None:
    prefix = f"tk{uuid.uuid4().hex[:6]}."
    trades = _trades()
    # One partition: the batch cap that makes the stream outlast the kills splits a backlog
    # between partitions by offset, and the global watermark then drops a lagging partition's
    # on-time trades (docs/trades.md; 2 partitions lost 10 bars at 10 kills). This test is
    # about the kills.
    admin.create(f"{prefix}trades.raw", 1)
    records = [json.dumps(t, separators=(",", ":")).encode() for t in trades.to_dict("records")]
    keys = [s.encode() for s in trades["s"]]
    flush = {"s": FLUSH_SYMBOL, "p": 1, "t": int(trades["t"].max()) + 10_000, "v": 1}
    produce(bootstrap, f"{prefix}trades.raw", [*records, json.dumps(flush).encode()],
            [*keys, FLUSH_SYMBOL.encode()])  # fmt: skip
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER=str(N // (3 * kills)),
        CAUDAL_SPARK_MASTER="local[2]",
    )
    args = ["run", "trades", "--feed", "none", "--symbols", ",".join(SYMBOLS), "--once",
            "--bar", str(BAR_S), "--lateness", str(LATENESS_S), "--slide", str(SLIDE)]  # fmt: skip
    store_path = tmp_path / "data" / "documents.sqlite"
    expected = bars_of(trades, BAR_S * 1000)

    run = run_with_random_kills(
        args, env, lambda: _windows(store_path), kills, seed=kills, log=tmp_path / "runs.log"
    )

    store = SqliteStore(store_path)
    got = pd.DataFrame(store.find("windows")).set_index(["symbol", "start"]).sort_index()
    want = expected.set_index(["symbol", "start"]).sort_index()
    cols = ["open", "high", "low", "close", "trades", "volume", "end"]
    pd.testing.assert_frame_equal(got[cols], want[cols], check_dtype=False)
    assert store.count("sliding") == len(want)

    models = {m["symbol"]: _comparable(m["state"]) for m in store.find("models")}
    assert models == _expected_models(expected)
    predictions = pd.DataFrame(store.find("predictions"))
    assert predictions.groupby("symbol").size().to_dict() == {
        s: m["scored"] for s, m in models.items()
    }
    counted = int(got["trades"].sum())
    reliability("trades", records=N, kills_survived=run.kills, lost=max(N - counted, 0),
                duplicated=max(counted - N, 0), seconds=round(run.seconds))  # fmt: skip
