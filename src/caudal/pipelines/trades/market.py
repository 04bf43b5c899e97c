"""A market simulator with the behaviour a trade pipeline must cope with.

Per symbol, the log price moves every 100 ms tick by a GARCH(1,1) shock (volatility clusters),
rare jumps, and an optional slowly mean-reverting drift (``momentum``: 0 is a pure random walk
with nothing to learn; 1 makes a 5 s bar's return about as much drift as noise, so the next
bar's return is partly predictable). Trades arrive as a Poisson stream whose intensity bursts
and decays (Hawkes-like) and rises with volatility; prices sit on a tick grid, sizes are round
lots with some odd lots (stocks) or fractional (crypto), with Finnhub condition codes. A few
trades arrive out of order (within a second) or late (5-30 s); with ``bad_fraction`` the feed
also carries the faults a real feed has (see ``FAULTS``). Seeded: same seed, same market.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from caudal.pipelines.trades.protocol import RecentTrades, trade_message

TICK_MS = 100
START_PRICES = {"AAPL": 190.0, "MSFT": 410.0, "AMZN": 180.0, "NVDA": 120.0, "TSLA": 240.0}
START_PRICES |= {"BINANCE:BTCUSDT": 65_000.0, "BINANCE:ETHUSDT": 3_400.0}
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "BINANCE:BTCUSDT")
UNKNOWN_SYMBOL = "NOSUCH:SYMBOL"
FAULTS = (
    "malformed",
    "unknown_type",
    "negative_price",
    "zero_volume",
    "future",
    "past",
    "duplicate",
    "unknown_symbol",
)
BASE_VOL = 1.5e-4
"""Per-tick log-return volatility (about 0.1 % per 5 s bar)."""


class Outgoing(NamedTuple):
    """One message for the feed: its text, its good trades, and the fault it carries if any."""

    text: str
    good: int
    fault: str | None = None


@dataclass
class _Symbol:
    name: str
    log_price: float
    variance: float = BASE_VOL**2
    drift: float = 0.0
    burst: float = 1.0
    last_shock: float = 0.0

    @property
    def crypto(self) -> bool:
        return ":" in self.name


@dataclass
class MarketSimulator:
    """Generates Finnhub trade messages in simulated time; ``advance`` moves the clock."""

    symbols: tuple[str, ...]
    rate: float
    """Mean trades per second over all symbols (bursts go above it)."""
    start_ms: int
    seed: int = 0
    momentum: float = 0.5
    bad_fraction: float = 0.0
    disorder_fraction: float = 0.02
    late_fraction: float = 0.002
    now_ms: int = field(init=False)
    sent_good: int = field(init=False, default=0)
    sent_bad: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.now_ms = self.start_ms - self.start_ms % TICK_MS
        self._rng = np.random.default_rng(self.seed)
        self._state = [
            _Symbol(s, math.log(START_PRICES.get(s, 100.0 + 10 * i)))
            for i, s in enumerate(self.symbols)
        ]
        self._last_good: dict[str, Any] | None = None
        self._recent = RecentTrades()

    def advance(self, until_ms: int) -> list[Outgoing]:
        """Every message whose tick ends by ``until_ms``, in sending order."""
        messages: list[Outgoing] = []
        while self.now_ms + TICK_MS <= until_ms:
            trades = [t for sym in self._state for t in self._tick(sym)]
            self._rng.shuffle(trades)  # symbols interleave, as on a real feed
            for start in range(0, len(trades), 500):
                chunk = trades[start : start + 500]
                messages.append(Outgoing(trade_message(chunk), len(chunk)))
            self.sent_good += len(trades)
            if trades:
                self._last_good = trades[-1]
            if self.bad_fraction and self._rng.random() < self.bad_fraction * max(1, len(trades)):
                messages.append(self._fault())
            self.now_ms += TICK_MS
        return messages

    def _tick(self, sym: _Symbol) -> list[dict[str, Any]]:
        rng = self._rng
        sym.variance = BASE_VOL**2 * 0.05 + 0.10 * sym.last_shock**2 + 0.85 * sym.variance
        sym.last_shock = math.sqrt(sym.variance) * rng.standard_normal()
        phi = math.exp(-TICK_MS / 30_000)
        sym.drift = phi * sym.drift + self.momentum * 0.0115 * BASE_VOL * rng.standard_normal()
        jump = 20 * BASE_VOL * rng.standard_normal() if rng.random() < 5e-4 else 0.0
        sym.log_price += sym.drift + sym.last_shock + jump
        sym.burst = 1 + (sym.burst - 1) * math.exp(-TICK_MS / 2_000)
        if rng.random() < 2e-3:
            sym.burst += rng.uniform(2, 8)
        vol_ratio = math.sqrt(sym.variance) / BASE_VOL
        intensity = self.rate / len(self._state) * sym.burst * min(vol_ratio, 3.0) / 1.17
        n = int(rng.poisson(intensity * TICK_MS / 1000))
        return [self._unique(self._trade(sym)) for _ in range(n)]

    def _unique(self, trade: dict[str, Any]) -> dict[str, Any]:
        """Two genuine trades never look identical, so a duplicate on the feed is a fault."""
        while self._recent.seen_before(trade):
            trade["t"] += 1
        return trade

    def _trade(self, sym: _Symbol) -> dict[str, Any]:
        rng = self._rng
        t = self.now_ms + int(rng.integers(0, TICK_MS))
        u = rng.random()
        if u < self.late_fraction:
            t -= int(rng.integers(5_000, 30_000))
        elif u < self.late_fraction + self.disorder_fraction:
            t -= int(rng.integers(0, 1_000))
        price = math.exp(sym.log_price + 2e-5 * rng.standard_normal())
        if sym.crypto:
            volume = round(float(rng.exponential(0.05)) + 1e-5, 5)
            return {"s": sym.name, "p": round(price, 2), "t": t, "v": volume, "c": None}
        if rng.random() < 0.2:
            return {"s": sym.name, "p": round(price, 2), "t": t, "v": int(rng.integers(1, 100)),
                    "c": ["1", "I"]}  # fmt: skip
        lots = int(rng.geometric(0.35))
        conditions = ["1"] if rng.random() < 0.9 else ["1", "12"]
        return {"s": sym.name, "p": round(price, 2), "t": t, "v": 100 * lots, "c": conditions}

    def _fault(self) -> Outgoing:
        kind = FAULTS[int(self._rng.integers(0, len(FAULTS)))]
        if kind == "duplicate" and self._last_good is None:
            kind = "malformed"
        self.sent_bad[kind] = self.sent_bad.get(kind, 0) + 1
        name = self._state[0].name
        good = {"s": name, "p": 100.0, "t": self.now_ms, "v": 100, "c": ["1"]}
        bad: dict[str, Any] | None = {
            "negative_price": {**good, "p": -1.5},
            "zero_volume": {**good, "v": 0},
            "future": {**good, "t": self.now_ms + 86_400_000},
            "past": {**good, "t": self.now_ms - 86_400_000},
            "duplicate": self._last_good,
            "unknown_symbol": {**good, "s": UNKNOWN_SYMBOL},
        }.get(kind)
        if bad is not None:
            return Outgoing(trade_message([bad]), 0, kind)
        if kind == "unknown_type":
            news = json.dumps({"type": "news", "data": [{"headline": "not a trade"}]})
            return Outgoing(news, 0, kind)
        return Outgoing(trade_message([good])[:25], 0, kind)
