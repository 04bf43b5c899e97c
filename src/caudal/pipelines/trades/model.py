"""Per-symbol state over finished bars: sliding windows and an online regression, in plain Python.

For each symbol, bars (tumbling windows) arrive in time order. Each bar is used
prequentially: first the forecast made one bar earlier is scored against it (and so is the
naive last-value forecast, "the price stays where it is"), then the model learns from it,
then it forecasts the next bar. The model is recursive least squares with forgetting over
the last ``LAGS`` log returns (in basis points), so it adapts as a market's regime changes.
The sliding window ending at each bar is composed from the last ``slide_bars`` bars, which is
exact for OHLCV, VWAP, counts and the log-price dispersion (all are sums, extrema or ends).
State is a JSON-able dict so Spark can keep it in its state store and restore it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

LAGS = 3
FORGET = 0.995
EWM = 0.05
"""Weight of the newest error in the rolling (exponentially weighted) mean squared errors."""
BP = 1e4


@dataclass
class Rls:
    """Recursive least squares with forgetting; ``w`` and ``p`` as plain lists for JSON.

    Runs on executors (kept in the per-symbol state of job.py)."""

    w: list[float] = field(default_factory=lambda: [0.0] * (LAGS + 1))
    p: list[list[float]] = field(default_factory=lambda: (np.eye(LAGS + 1) * 1e2).tolist())

    def predict(self, x: list[float]) -> float:
        return float(np.dot(self.w, x))

    def learn(self, x: list[float], y: float) -> None:
        xv, pm = np.asarray(x), np.asarray(self.p)
        px = pm @ xv
        gain = px / (FORGET + xv @ px)
        self.w = (np.asarray(self.w) + gain * (y - xv @ self.w)).tolist()
        self.p = ((pm - np.outer(gain, px)) / FORGET).tolist()


@dataclass
class SymbolState:
    """One symbol's state between bars. Runs on executors: the stateful processor of job.py
    loads it from the state store, updates it with each finished bar and stores it back."""

    symbol: str
    last_start: int | None = None
    last_close: float | None = None
    returns_bp: list[float] = field(default_factory=list)
    recent: list[dict[str, Any]] = field(default_factory=list)
    pending: float | None = None
    """Forecast log return (bp) of the next bar, made at the last bar."""
    scored: int = 0
    sse_model: float = 0.0
    sse_naive: float = 0.0
    ewm_model: float | None = None
    ewm_naive: float | None = None
    rls: Rls = field(default_factory=Rls)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SymbolState:
        return cls(**{**data, "rls": Rls(**data["rls"])})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, bar: dict[str, Any], slide_bars: int) -> list[tuple[str, str, dict[str, Any]]]:
        """Documents (collection, key, doc) this bar produces; an already-seen bar produces none."""
        if self.last_start is not None and bar["start"] <= self.last_start:
            return []
        key = f"{self.symbol}|{bar['start']}"
        docs = [("windows", key, bar), ("sliding", key, self._slide(bar, slide_bars))]
        if self.last_close is not None:
            actual = math.log(bar["close"] / self.last_close) * BP
            if self.pending is not None:
                docs.append(("predictions", key, self._score(bar, actual)))
            if len(self.returns_bp) >= LAGS:
                self.rls.learn(self._features(), actual)
            self.returns_bp = (self.returns_bp + [actual])[-LAGS:]
        self.last_start, self.last_close = bar["start"], bar["close"]
        self.pending = self.rls.predict(self._features()) if len(self.returns_bp) >= LAGS else None
        docs.append(("models", self.symbol, self.summary()))
        return docs

    def _features(self) -> list[float]:
        return [1.0, *self.returns_bp[::-1]]

    def _score(self, bar: dict[str, Any], actual: float) -> dict[str, Any]:
        assert self.pending is not None and self.last_close is not None
        err_model, err_naive = self.pending - actual, -actual
        self.scored += 1
        self.sse_model += err_model**2
        self.sse_naive += err_naive**2
        self.ewm_model = _ewm(self.ewm_model, err_model**2)
        self.ewm_naive = _ewm(self.ewm_naive, err_naive**2)
        return {
            "symbol": self.symbol,
            "start": bar["start"],
            "end": bar["end"],
            "actual_close": bar["close"],
            "predicted_close": self.last_close * math.exp(_capped(self.pending / BP)),
            "naive_close": self.last_close,
            "actual_return_bp": actual,
            "predicted_return_bp": self.pending,
            "error_bp": err_model,
            "naive_error_bp": err_naive,
            "rolling_rmse_bp": math.sqrt(self.ewm_model or 0.0),
            "rolling_naive_rmse_bp": math.sqrt(self.ewm_naive or 0.0),
        }

    def _slide(self, bar: dict[str, Any], slide_bars: int) -> dict[str, Any]:
        span = (bar["end"] - bar["start"]) * slide_bars
        self.recent = [b for b in [*self.recent, bar] if b["start"] >= bar["end"] - span]
        return compose(self.symbol, self.recent, bar["end"] - span, bar["end"])

    def summary(self) -> dict[str, Any]:
        """The model-state document: weights, scores so far, and the forecast for the next bar."""
        n = max(self.scored, 1)
        return {
            "symbol": self.symbol,
            "last_start": self.last_start,
            "last_close": self.last_close,
            "weights": self.rls.w,
            "scored": self.scored,
            "rmse_bp": math.sqrt(self.sse_model / n),
            "naive_rmse_bp": math.sqrt(self.sse_naive / n),
            "next_return_bp": self.pending,
            "state": self.to_dict(),
        }


def _ewm(previous: float | None, value: float) -> float:
    """Runs on executors (inside the per-symbol stateful processor of job.py)."""
    return value if previous is None else (1 - EWM) * previous + EWM * value


def compose(symbol: str, bars: list[dict[str, Any]], start: int, end: int) -> dict[str, Any]:
    """One window over consecutive bars (in time order), from their sums and extremes.

    Runs on executors (inside the per-symbol stateful processor of job.py)."""
    n = sum(b["trades"] for b in bars)
    volume = sum(b["volume"] for b in bars)
    s1, s2 = sum(b["sum_logp"] for b in bars), sum(b["sum_logp2"] for b in bars)
    return {
        "symbol": symbol,
        "start": start,
        "end": end,
        "open": bars[0]["open"],
        "high": max(b["high"] for b in bars),
        "low": min(b["low"] for b in bars),
        "close": bars[-1]["close"],
        "volume": volume,
        "vwap": sum(b["vwap"] * b["volume"] for b in bars) / volume,
        "trades": n,
        "volatility": log_price_std(n, s1, s2),
        "bars": len(bars),
    }


def log_price_std(n: int, s1: float, s2: float) -> float | None:
    """Sample standard deviation of log prices from their count, sum and sum of squares.

    Runs on executors (inside the per-symbol stateful processor of job.py)."""
    if n < 2:
        return None
    return math.sqrt(max(s2 - s1 * s1 / n, 0.0) / (n - 1))


def _capped(log_return: float, cap: float = 50.0) -> float:
    """A forecast log return within ±``cap`` (a factor of 10^21): ``exp`` of more overflows."""
    return max(-cap, min(log_return, cap))
