"""What the local server plays: the live simulator, or a recorded JSONL file.

A recording has one line per message as received: ``{"at": <ms>, "msg": "<text>"}``.
Replaying re-stamps trade times onto the wall clock (``t' = start + (t - first) / speed``), so
the pipeline's checks and windows see a live feed, ``speed`` times as busy when faster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from caudal.pipelines.trades.market import TICK_MS, MarketSimulator, Outgoing
from caudal.pipelines.trades.protocol import trade_message


class Source(Protocol):
    symbols: frozenset[str]
    live: bool
    """A live source moves on whether or not anyone listens (as a market does); a recording
    waits for its first subscriber, so a replay is never played to nobody."""

    @property
    def finished(self) -> bool: ...

    def poll(self, now_ms: int) -> list[Outgoing]:
        """Messages due by ``now_ms``."""
        ...


class SimulatedSource:
    """The simulator on the wall clock; finite when ``max_trades`` is given."""

    def __init__(self, market: MarketSimulator, max_trades: int | None = None) -> None:
        self.market, self.max_trades = market, max_trades
        self.symbols = frozenset(market.symbols)
        self.live = True

    @property
    def finished(self) -> bool:
        return self.max_trades is not None and self.market.sent_good >= self.max_trades

    def poll(self, now_ms: int) -> list[Outgoing]:
        out: list[Outgoing] = []
        while not self.finished and self.market.now_ms + TICK_MS <= now_ms:
            out.extend(self.market.advance(self.market.now_ms + TICK_MS))
        return out


class ReplaySource:
    """A recording played at ``speed``× (0 = as fast as the server can send)."""

    def __init__(self, path: Path, symbols: frozenset[str], speed: float = 1.0) -> None:
        self.symbols, self.speed = symbols, speed
        self.live = False
        self._lines = _read(path)
        self._start: int | None = None
        self._first = self._lines[0][0] if self._lines else 0
        self._next = 0

    @property
    def finished(self) -> bool:
        return self._next >= len(self._lines)

    def poll(self, now_ms: int) -> list[Outgoing]:
        if self._start is None:
            self._start = now_ms
        out = []
        while not self.finished:
            at, text = self._lines[self._next]
            if self.speed and (at - self._first) / self.speed > now_ms - self._start:
                break
            out.append(self._restamp(text))
            self._next += 1
        return out

    def _restamp(self, text: str) -> Outgoing:
        try:
            message = json.loads(text)
            trades = message["data"] if message.get("type") == "trade" else None
        except (ValueError, AttributeError, KeyError):
            return Outgoing(text, 0)
        if not isinstance(trades, list):
            return Outgoing(text, 0)
        assert self._start is not None
        scale = self.speed or 1.0
        for trade in trades:
            if isinstance(trade, dict) and isinstance(trade.get("t"), int):
                trade["t"] = self._start + int((trade["t"] - self._first) / scale)
        return Outgoing(trade_message(trades), len(trades))


def _read(path: Path) -> list[tuple[int, str]]:
    lines = []
    with path.open() as fh:
        for line in fh:
            if line.strip():
                entry = json.loads(line)
                lines.append((int(entry["at"]), str(entry["msg"])))
    return lines


def record_line(out: IO[str], at_ms: int, text: str) -> None:
    out.write(json.dumps({"at": at_ms, "msg": text}) + "\n")


def simulated_recording(market: MarketSimulator, seconds: float) -> Iterator[tuple[int, str]]:
    """``seconds`` of the simulator in simulated time, as (at, message) pairs."""
    end = market.now_ms + int(seconds * 1000)
    while market.now_ms + TICK_MS <= end:
        at = market.now_ms + TICK_MS
        for message in market.advance(at):
            yield at, message.text


def wall_ms() -> int:
    return int(time.time() * 1000)
