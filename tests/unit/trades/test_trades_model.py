"""The online regression, scored prequentially on simulated bars, against the naive forecast."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.model import SymbolState, compose, log_price_std
from tests.support.trades import bars_of, simulated_trades

BAR_MS = 5_000


def _bars(momentum: float, seed: int, seconds: float = 4 * 3600) -> pd.DataFrame:
    market = MarketSimulator(("AAPL",), 20, 0, seed=seed, momentum=momentum, late_fraction=0)
    trades = simulated_trades(market, seconds)
    trades["logp"] = np.log(trades["p"])
    bars = bars_of(trades, BAR_MS)
    return bars


def _score(bars: pd.DataFrame) -> SymbolState:
    state = SymbolState("AAPL")
    for bar in bars.to_dict("records"):
        state.update({**bar, "sum_logp": 0.0, "sum_logp2": 0.0}, slide_bars=6)
    return state


def test_the_model_beats_the_naive_forecast_when_returns_are_predictable() -> None:
    state = _score(_bars(momentum=1.0, seed=1))
    assert state.scored > 2000
    assert state.sse_model < 0.9 * state.sse_naive


def test_the_model_does_not_beat_the_naive_forecast_on_a_pure_random_walk() -> None:
    state = _score(_bars(momentum=0.0, seed=2))
    assert state.scored > 2000
    assert state.sse_model >= 0.97 * state.sse_naive


def test_state_survives_a_json_round_trip_mid_stream_exactly() -> None:
    bars = _bars(momentum=1.0, seed=3, seconds=600).to_dict("records")
    whole, split = SymbolState("AAPL"), SymbolState("AAPL")
    for bar in bars:
        whole.update({**bar, "sum_logp": 0.0, "sum_logp2": 0.0}, 6)
    for i, bar in enumerate(bars):
        if i == len(bars) // 2:
            split = SymbolState.from_dict(__import__("json").loads(
                __import__("json").dumps(split.to_dict())))  # fmt: skip
        split.update({**bar, "sum_logp": 0.0, "sum_logp2": 0.0}, 6)
    assert split.to_dict() == whole.to_dict()


def test_a_bar_seen_again_is_ignored() -> None:
    bar = {"start": 0, "end": 5000, "close": 10.0, "open": 10.0, "high": 10.0, "low": 10.0}
    bar |= {"volume": 1.0, "vwap": 10.0, "trades": 1, "sum_logp": 0.0, "sum_logp2": 0.0}
    state = SymbolState("X")
    assert state.update(bar, 6)
    assert state.update(bar, 6) == []


def test_a_sliding_window_is_composed_exactly_from_its_bars() -> None:
    bars = [
        {"open": 10.0, "high": 12.0, "low": 9.0, "close": 11.0, "volume": 2.0, "vwap": 10.5,
         "trades": 2, "sum_logp": 2 * math.log(10), "sum_logp2": 2 * math.log(10) ** 2},
        {"open": 11.0, "high": 11.5, "low": 8.0, "close": 8.5, "volume": 6.0, "vwap": 9.0,
         "trades": 3, "sum_logp": 3 * math.log(9), "sum_logp2": 3 * math.log(9) ** 2},
    ]  # fmt: skip
    window = compose("X", bars, 0, 10_000)
    assert (window["open"], window["high"], window["low"], window["close"]) == (10, 12, 8, 8.5)
    assert window["volume"] == 8.0 and window["trades"] == 5
    assert window["vwap"] == (10.5 * 2 + 9.0 * 6) / 8
    logs = [math.log(10)] * 2 + [math.log(9)] * 3
    assert math.isclose(window["volatility"], float(np.std(logs, ddof=1)))
    assert log_price_std(1, 1.0, 1.0) is None
