"""`caudal run trades` SIGKILLed mid-stream and restarted: bars and model state stay exact.

The trades are put on ``trades.raw`` first (``--feed none``), so the killed run and the rerun
read the very same input. After the rerun, every bar equals a pandas recomputation (so no bar
was lost or counted twice) and each symbol's model state equals one uninterrupted pass of the
same bars through ``SymbolState``: the state restored from the checkpoint continued exactly.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from caudal.broker.admin import TopicAdmin
from caudal.docstore.sqlite import SqliteStore
from caudal.pipelines.trades.job import FLUSH_SYMBOL
from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.model import SymbolState
from tests.support.cli import CAUDAL, cli_env, produce
from tests.support.trades import bars_of, simulated_trades

SYMBOLS = ("AAPL", "MSFT", "BINANCE:BTCUSDT")
BAR_S, LATENESS_S, SLIDE = 2, 5, 3
START_MS = 1_800_000_000_000


def _windows(path: Path) -> int:
    if not path.exists():
        return 0
    store = SqliteStore(path)
    try:
        return store.count("windows")
    finally:
        store.close()


def _trades() -> pd.DataFrame:
    market = MarketSimulator(SYMBOLS, 150, START_MS, seed=21, momentum=1.0, late_fraction=0)
    return simulated_trades(market, 90)


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


@pytest.mark.slow
def test_kill_and_restart_leaves_bars_and_model_state_exact(
    bootstrap: str, admin: TopicAdmin, tmp_path: Path
) -> None:
    prefix = f"tk{uuid.uuid4().hex[:6]}."
    trades = _trades()
    admin.create(f"{prefix}trades.raw", 2)
    records = [json.dumps(t, separators=(",", ":")).encode() for t in trades.to_dict("records")]
    keys = [s.encode() for s in trades["s"]]
    flush = {"s": FLUSH_SYMBOL, "p": 1, "t": int(trades["t"].max()) + 10_000, "v": 1}
    produce(bootstrap, f"{prefix}trades.raw", [*records, json.dumps(flush).encode()],
            [*keys, FLUSH_SYMBOL.encode()])  # fmt: skip
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER="1500",
        CAUDAL_SPARK_MASTER="local[2]",
    )
    args = [*CAUDAL, "run", "trades", "--feed", "none", "--symbols", ",".join(SYMBOLS), "--once",
            "--bar", str(BAR_S), "--lateness", str(LATENESS_S), "--slide", str(SLIDE)]  # fmt: skip
    store_path = tmp_path / "data" / "documents.sqlite"
    expected = bars_of(trades, BAR_S * 1000)

    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _windows(store_path) < 30 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    assert job.poll() is None, "the run finished before it could be killed"
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert 0 < _windows(store_path) < len(expected)

    rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

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
