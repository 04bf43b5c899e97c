"""The WebSocket client: Finnhub protocol in, one Kafka record per good trade out.

The same code reads the real feed and the local simulator's server; only the URL differs.
Each good trade goes to ``trades.raw`` keyed by symbol (value: the trade's JSON plus ``rx``,
the receive time in ms); anything else goes to ``trades.dlq`` with its reason. A dropped
connection is retried with exponential back-off and jitter, and the subscriptions are sent
again; the feed ends only when the server closes with code 1000 and ``END_OF_FEED``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake
from websockets.sync.client import ClientConnection, connect

from caudal.metrics import PipelineMetrics
from caudal.pipelines.feeder import FeedCounters, Feeder, Record
from caudal.pipelines.trades.job import FLUSH_SYMBOL
from caudal.pipelines.trades.protocol import (
    RecentTrades,
    Rejected,
    check_trade,
    parse_message,
    subscribe,
)
from caudal.pipelines.trades.server import END_OF_FEED
from caudal.pipelines.trades.sources import record_line, wall_ms

MAX_RAW_CHARS = 2_000


@dataclass(frozen=True)
class TradeTopics:
    raw: str
    dlq: str
    bars: str

    @classmethod
    def named(cls, topic: Callable[[str], str]) -> TradeTopics:
        return cls(topic("trades.raw"), topic("trades.dlq"), topic("trades.bars"))


@dataclass
class Backoff:
    """Delay before reconnect attempt ``n`` (0-based): doubling from ``first_s`` to ``max_s``."""

    first_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * 2**attempt) * random.uniform(0.8, 1.2)


@dataclass
class FeedStats:
    """Beyond the runner's counters: why records were rejected, and the connection's life."""

    reasons: dict[str, int]
    connects: int = 0
    pings: int = 0


class TradeFeed(Feeder):
    """Connects, subscribes, produces; ``serve`` (the local server) lives as long as the run."""

    name = "websocket"

    def __init__(
        self,
        url: Callable[[], AbstractContextManager[str]] | str,
        symbols: list[str],
        topics: TradeTopics,
        token: str | None = None,
        backoff: Backoff | None = None,
        record: Path | None = None,
        metrics: PipelineMetrics | None = None,
        flush_after_ms: int = 0,
    ) -> None:
        self.url, self.symbols, self.topics, self.token = url, symbols, topics, token
        self.backoff = backoff or Backoff()
        self.record = record
        self.metrics = metrics or PipelineMetrics("trades")
        self.flush_after_ms = flush_after_ms
        self.stats = FeedStats({})
        self._newest = 0
        self._known = frozenset(symbols)
        self._recent = RecentTrades()

    def records(self, stop: threading.Event, counters: FeedCounters) -> Iterator[Record]:
        """Every trade (or dead letter) the server sends, until it ends the feed or ``stop``."""
        served = nullcontext(self.url) if isinstance(self.url, str) else self.url()
        recording = self.record.open("a") if self.record else None
        try:
            with served as base_url:
                ended = yield from self._connect_loop(base_url, stop, counters, recording)
                if ended:
                    yield self._flush_marker()
        finally:
            if recording:
                recording.close()

    def _connect_loop(
        self,
        base_url: str,
        stop: threading.Event,
        counters: FeedCounters,
        recording: IO[str] | None,
    ) -> Generator[Record, None, bool]:
        """Until stopped (False) or the server ends the feed (True)."""
        attempt = 0
        while not stop.is_set():
            try:
                with connect(self._address(base_url), max_size=2**24, open_timeout=10) as ws:
                    attempt = 0
                    self.stats.connects += 1
                    counters.sources_read += 1
                    for text in self._receive(ws, stop):
                        if recording:
                            record_line(recording, wall_ms(), text)
                        yield from self._handle(text)
                    return False
            except ConnectionClosedOK as closed:
                if closed.rcvd is not None and closed.rcvd.reason == END_OF_FEED:
                    return True
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            self.metrics.reconnects.labels(self.metrics.pipeline, self.name).inc()
            stop.wait(self.backoff.delay(attempt))
            attempt += 1
        return False

    def _flush_marker(self) -> Record:
        """Dated past the watermark, so the last bars are final without more trades."""
        marker = {"s": FLUSH_SYMBOL, "p": 1, "t": self._newest + self.flush_after_ms, "v": 1}
        return Record(
            self.topics.raw, json.dumps(marker).encode(), FLUSH_SYMBOL.encode(), tally=None
        )

    def _address(self, base_url: str) -> str:
        if not self.token:
            return base_url
        return f"{base_url}{'&' if '?' in base_url else '?'}{urlencode({'token': self.token})}"

    def _receive(self, ws: ClientConnection, stop: threading.Event) -> Iterator[str]:
        for symbol in self.symbols:
            ws.send(subscribe(symbol))
        while not stop.is_set():
            try:
                data = ws.recv(timeout=0.5)
            except TimeoutError:
                continue
            yield data if isinstance(data, str) else data.decode("utf-8", "replace")

    def _handle(self, text: str) -> Iterator[Record]:
        message = parse_message(text)
        if isinstance(message, Rejected):
            yield self._reject(message)
            return
        kind = message["type"]
        if kind == "ping":
            self.stats.pings += 1
        elif kind == "error":
            reason = f"server error: {message.get('msg')}"
            yield self._reject(Rejected("server_error", reason, text))
        elif kind != "trade" or not isinstance(message.get("data"), list):
            reason = f"unknown message type {kind!r}"
            yield self._reject(Rejected("unknown_type", reason, text))
        else:
            yield from self._trades(message["data"])

    def _trades(self, trades: list[Any]) -> Iterator[Record]:
        now, good = wall_ms(), 0
        for trade in trades:
            problem = check_trade(trade, now, self._known)
            if problem is None and self._recent.seen_before(trade):
                problem = "duplicate", "duplicate trade (same symbol, time, price, volume, c)"
            if problem is not None:
                yield self._reject(Rejected(*problem, json.dumps(trade)))
                continue
            value = json.dumps({**trade, "rx": now}, separators=(",", ":"))
            yield Record(self.topics.raw, value.encode(), trade["s"].encode())
            self._newest = max(self._newest, trade["t"])
            good += 1
        self.metrics.records.labels(self.metrics.pipeline, self.name).inc(good)

    def _reject(self, rejected: Rejected) -> Record:
        """A dead letter for ``trades.dlq``, counted by reason (and as rejected once sent)."""
        kind = rejected.kind
        self.stats.reasons[kind] = self.stats.reasons.get(kind, 0) + 1
        value = {
            "kind": kind,
            "reason": rejected.reason,
            "raw": rejected.raw[:MAX_RAW_CHARS],
            "at": wall_ms(),
        }
        self.metrics.rejects.labels(self.metrics.pipeline, kind).inc()
        return Record(self.topics.dlq, json.dumps(value).encode(), kind.encode(), tally="rejected")
