"""The WebSocket client against the real local server and a real broker (no Spark).

What the end-to-end run cannot show cheaply: a subscription to a symbol that does not exist
(the server answers with an error message) and a server that is not up yet when the client
starts (connection refused, back-off, connect).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.process import free_port
from caudal.broker.tail import tail
from caudal.metrics import PipelineMetrics
from caudal.pipelines.feeder import FeedCounters
from caudal.pipelines.trades.feed import Backoff, TradeFeed, TradeTopics
from caudal.pipelines.trades.job import FLUSH_SYMBOL
from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.server import FinnhubServer
from caudal.pipelines.trades.sources import (
    ReplaySource,
    SimulatedSource,
    record_line,
    simulated_recording,
    wall_ms,
)
from caudal.settings import Settings

SYMBOLS = ("AAPL", "BINANCE:BTCUSDT")


def _topics(admin: TopicAdmin, settings: Settings) -> TradeTopics:
    prefix = f"tf{uuid.uuid4().hex[:6]}."
    topics = TradeTopics.named(lambda name: prefix + name)
    admin.create(topics.raw, 2)
    admin.create(topics.dlq, 1)
    return topics


def _server(count: int, rate: float = 2_000) -> FinnhubServer:
    """A live market from now: what it makes before the client subscribes is missed."""
    market = MarketSimulator(SYMBOLS, rate, wall_ms(), seed=3, late_fraction=0)
    return FinnhubServer(SimulatedSource(market, count))


def _feed(
    settings: Settings, bootstrap: str, feed: TradeFeed, timeout_s: float = 60
) -> FeedCounters:
    counters, stop = FeedCounters(), threading.Event()
    thread = threading.Thread(
        target=feed.run, args=(client_config(settings, bootstrap), stop, counters)
    )
    thread.start()
    thread.join(timeout_s)
    stop.set()
    thread.join(10)
    return counters


def _values(settings: Settings, admin: TopicAdmin, topic: str) -> list[dict[str, object]]:
    return [json.loads(r.value or b"") for r in tail(settings, admin, topic, 10**9)]


def test_an_unknown_symbol_is_a_dlq_record_and_the_others_flow(
    settings: Settings, bootstrap: str, admin: TopicAdmin
) -> None:
    topics, server = _topics(admin, settings), _server(3_000)
    feed = TradeFeed(server.running, [*SYMBOLS, "NOSUCH:XYZ"], topics)
    counters = _feed(settings, bootstrap, feed)
    dlq = _values(settings, admin, topics.dlq)
    assert [d["kind"] for d in dlq] == ["server_error"]
    assert "NOSUCH:XYZ" in str(dlq[0]["reason"])
    raw = [r for r in _values(settings, admin, topics.raw) if r["s"] != FLUSH_SYMBOL]
    assert len(raw) == counters.produced == server.stats.good_trades_sent >= 3_000
    assert counters.rejected == 1


def test_a_server_not_up_yet_is_retried_with_backoff_then_read_fully(
    settings: Settings, bootstrap: str, admin: TopicAdmin
) -> None:
    topics, port = _topics(admin, settings), free_port()
    servers: list[FinnhubServer] = []

    @contextmanager
    def late_server() -> Iterator[str]:
        """The URL at once; the server on it only 1.5 s later (a restarting exchange)."""

        def serve() -> None:
            time.sleep(1.5)
            servers.append(_server(6_000, rate=1_000))  # its market opens now, for 6 s
            with servers[0].running(port):
                done.wait()

        done = threading.Event()
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            done.set()
            thread.join(15)

    metrics = PipelineMetrics("trades")
    feed = TradeFeed(late_server, list(SYMBOLS), topics, backoff=Backoff(0.2, 1.0), metrics=metrics)
    counters = _feed(settings, bootstrap, feed)
    reconnects = metrics.registry.get_sample_value(
        "caudal_feed_reconnects_total", {"pipeline": "trades", "feed": "websocket"}
    )
    assert reconnects is not None and reconnects >= 2, "refused attempts are retried"
    assert feed.stats.connects == 1
    raw = [r for r in _values(settings, admin, topics.raw) if r["s"] != FLUSH_SYMBOL]
    assert len(raw) == counters.produced == servers[0].stats.good_trades_sent >= 2_000


def test_a_three_minute_recording_replayed_flat_out_is_all_on_trades_raw(
    settings: Settings, bootstrap: str, admin: TopicAdmin, tmp_path: Path
) -> None:
    """Sent at once, its trades keep their 3 minutes of spacing: none may be in the future."""
    topics, recording = _topics(admin, settings), tmp_path / "market.jsonl"
    market = MarketSimulator(SYMBOLS, 3_000 / 180, wall_ms() - 86_400_000, seed=3)  # yesterday
    with recording.open("w") as fh:
        for at, text in simulated_recording(market, 180):
            record_line(fh, at, text)
    assert 2_700 < market.sent_good < 3_300
    server = FinnhubServer(ReplaySource(recording, frozenset(SYMBOLS), speed=0))
    counters = _feed(settings, bootstrap, TradeFeed(server.running, list(SYMBOLS), topics))
    assert _values(settings, admin, topics.dlq) == [] and counters.rejected == 0
    raw = [r for r in _values(settings, admin, topics.raw) if r["s"] != FLUSH_SYMBOL]
    assert len(raw) == counters.produced == market.sent_good
