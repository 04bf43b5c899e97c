"""What the local server plays: the live simulator, or a recorded JSONL file.

A recording has one line per message as received: ``{"at": <ms>, "msg": "<text>"}``.
A replay sends the lines on the recording's rhythm (``speed`` times faster) and moves every
trade time by one shift, a whole number of bars: the trades keep their spacing, so the replay's
bars are the recording's bars, whatever the speed (see ``ReplaySource``).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Protocol

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
    """A recording played at ``speed``× (0 = as fast as the server can send).

    Line ``i`` is sent ``(at_i - at_0) / speed`` after the start; every trade time moves by
    the same ``shift``, rounded down to a whole ``bar_ms``. The recording's trade clock is its
    receive clock minus ``offset`` (the median of receive − trade time), so a recorder whose
    clock was off, or a recording of old trades, replays the same. The shift is the latest
    that sends no typical trade ahead of the replay's clock: at 1× the replay looks live; faster,
    event time runs ahead of the clock, so the recording is dated back by its length ×
    (1 − 1/speed) and at speed 0 it ends when the replay starts.
    """

    def __init__(
        self, path: Path, symbols: frozenset[str], speed: float = 1.0, bar_ms: int = 1000
    ) -> None:
        self.symbols, self.speed, self.bar_ms = symbols, speed, bar_ms
        self.live = False
        self._lines = _read(path)
        self._start: int | None = None
        self._shift = 0
        self._next = 0

    @property
    def finished(self) -> bool:
        return self._next >= len(self._lines)

    @property
    def backdate_ms(self) -> int:
        """How far the first trades are dated behind the clock that sends them."""
        if not self._lines:
            return 0
        length = self._lines[-1][0] - self._lines[0][0]
        return int(max(0.0, length * (1 - (1 / self.speed if self.speed else 0))))

    def poll(self, now_ms: int) -> list[Outgoing]:
        if self._start is None:
            self._start = now_ms
            first = self._lines[0][0] - _offset(self._lines) if self._lines else 0
            shift = now_ms - first - self.backdate_ms
            self._shift = shift - shift % self.bar_ms
        out = []
        while not self.finished:
            at, text = self._lines[self._next]
            if self.speed and (at - self._lines[0][0]) / self.speed > now_ms - self._start:
                break
            out.append(self._restamp(text))
            self._next += 1
        return out

    def _restamp(self, text: str) -> Outgoing:
        trades = _trades(text)
        if trades is None:
            return Outgoing(text, 0)
        for trade in trades:
            if isinstance(trade, dict) and _is_time(trade.get("t")):
                trade["t"] += self._shift
        return Outgoing(trade_message(trades), len(trades))


def _trades(text: str) -> list[Any] | None:
    """The ``data`` of a trade message, or None for any other text."""
    try:
        message = json.loads(text)
        trades = message["data"] if message.get("type") == "trade" else None
    except (ValueError, AttributeError, KeyError):
        return None
    return trades if isinstance(trades, list) else None


def _is_time(t: object) -> bool:
    return isinstance(t, int) and not isinstance(t, bool)


def _offset(lines: list[tuple[int, str]]) -> int:
    """Median of (receive time − trade time) over the recording's trades: robust to the few
    late, out-of-order or faulty ones."""
    gaps = [
        at - trade["t"]
        for at, text in lines
        for trade in _trades(text) or []
        if isinstance(trade, dict) and _is_time(trade.get("t"))
    ]
    return statistics.median_low(gaps) if gaps else 0


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
