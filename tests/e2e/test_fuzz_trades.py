"""Fuzzed Finnhub messages through the real WebSocket client, broker and Spark job.

Each example draws a stream of messages (good trades, trades with NaN or infinite prices, huge
volumes, unknown symbols, missing and extra fields, resent and reordered trades, timestamps far
off, malformed or non-UTF-8 messages), serves it from the real local Finnhub server and runs
the pipeline once. Every trade (or message that is not a trade message) must be either on
``trades.raw`` or on ``trades.dlq`` with a reason, and every trade on ``trades.raw`` must be
counted in exactly one bar: nothing dropped between the feed and the documents.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from caudal.broker.admin import TopicAdmin
from caudal.broker.tail import tail
from caudal.docstore.sqlite import SqliteStore
from caudal.metrics import PipelineMetrics
from caudal.pipelines.runner import run_pipeline
from caudal.pipelines.trades.feed import TradeFeed, TradeTopics
from caudal.pipelines.trades.job import FLUSH_SYMBOL, Windows
from caudal.pipelines.trades.market import Outgoing
from caudal.pipelines.trades.pipeline import TradesOptions, trades_pipeline
from caudal.pipelines.trades.server import FinnhubServer
from caudal.pipelines.trades.sources import wall_ms
from caudal.settings import Settings
from tests.support.fuzzing import Tally, batches

SYMBOLS = ("AAPL", "MSFT", "BINANCE:BTCUSDT")
WINDOWS = Windows(bar_s=2, lateness_s=120, slide_bars=3)
"""Lateness over the spread of the drawn good times (±30 s): a reordered trade is not late."""
HOUR_MS = 3_600_000
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
NUMBER = st.one_of(st.integers(), st.floats(), st.sampled_from([10**40, 10**400, -0.0]))
ANY = st.one_of(st.none(), st.booleans(), NUMBER, TEXT, st.lists(st.integers(), max_size=2))


class Scripted:
    """A recorded-like source: waits for the client's subscription, then sends ``messages``."""

    live = False

    def __init__(self, messages: list[str | bytes]) -> None:
        self.messages, self.symbols, self._sent = messages, frozenset(SYMBOLS), False

    @property
    def finished(self) -> bool:
        return self._sent

    def poll(self, now_ms: int) -> list[Outgoing]:
        self._sent = True
        return [Outgoing(m, 0) for m in self.messages]  # type: ignore[arg-type]  # bytes: binary


@st.composite
def trade(draw: st.DrawFn, now: int) -> dict[str, Any]:
    """Mostly good trades; otherwise one thing wrong with it."""
    good = {
        "s": draw(st.sampled_from(SYMBOLS)),
        "p": draw(st.integers(1, 10**7)) / 100,
        "t": now + draw(st.integers(-30_000, 30_000)),
        "v": draw(st.one_of(st.integers(1, 10**8).map(lambda x: x / 10**4), st.integers(1, 10**6))),
        "c": draw(st.one_of(st.none(), st.lists(st.sampled_from(["1", "12", "T"]), max_size=2))),
    }
    fault = draw(st.sampled_from(["none"] * 6 + sorted(FAULTS)))
    return good if fault == "none" else FAULTS[fault](draw, good, now)


FAULTS: dict[str, Callable[[st.DrawFn, dict[str, Any], int], dict[str, Any]]] = {
    "price": lambda draw, t, now: {
        **t,
        "p": draw(
            st.sampled_from(
                [float("nan"), float("inf"), -float("inf"), 0, -1.5, 1e308, 10**400, "12.5", None]
            )
        ),
    },  # fmt: skip
    "volume": lambda draw, t, now: {
        **t,
        "v": draw(st.sampled_from([10**10, 10**20, 1e300, float("nan"), 0, -3, 1e-12, "100"])),
    },  # fmt: skip
    "symbol": lambda draw, t, now: {**t, "s": draw(st.one_of(TEXT, st.just("x" * 100_000)))},
    "time": lambda draw, t, now: {**t, "t": _far_time(draw, now)},
    "missing": lambda draw, t, now: {
        k: v for k, v in t.items() if k != draw(st.sampled_from(sorted(t)))
    },
    "extra": lambda draw, t, now: {**t, draw(TEXT): draw(ANY)},
    "wrong type": lambda draw, t, now: {**t, draw(st.sampled_from(sorted(t))): draw(ANY)},
}


def _far_time(draw: st.DrawFn, now: int) -> Any:
    """Hours to years off, or not an integer (drawn relative to ``now``: the draws do not
    depend on the clock, so hypothesis can replay them)."""
    kind = draw(st.sampled_from(["past", "future", "float", "text", "bool", "none"]))
    if kind in ("past", "future"):
        offset = draw(st.integers(2 * HOUR_MS, 10**13))
        return now - offset if kind == "past" else now + offset
    return {"float": float(now), "text": str(now), "bool": True, "none": None}[kind]


def _trade_message(trades: list[Any]) -> str:
    return json.dumps({"type": "trade", "data": trades}, allow_nan=True)


MESSAGES: dict[str, Callable[[st.DrawFn, list[Any]], str | bytes]] = {
    "trades": lambda draw, trades: _trade_message(trades),
    "malformed": lambda draw, trades: _trade_message(trades)[: draw(st.integers(0, 60))],
    "not UTF-8": lambda draw, trades: b'{"type":"trade","data":[\xff]}',
    "nested": lambda draw, trades: "[" * draw(st.integers(1, 100_000)),
    "not an object": lambda draw, trades: json.dumps(trades),
    "unknown type": lambda draw, trades: json.dumps({"type": draw(TEXT), "data": trades}),
    "data not a list": lambda draw, trades: json.dumps({"type": "trade", "data": draw(ANY)}),
    "error": lambda draw, trades: json.dumps({"type": "error", "msg": draw(TEXT)}),
    "ping": lambda draw, trades: json.dumps({"type": "ping"}),
}


@st.composite
def stream(draw: st.DrawFn) -> list[str | bytes]:
    """Trade messages of 1-8 trades, some resent, some of another kind, in a drawn order."""
    now, sent, messages = wall_ms(), [], []
    for _ in range(draw(st.integers(40, 100))):
        trades = [draw(trade(now)) for _ in range(draw(st.integers(1, 8)))]
        if sent and draw(st.booleans()):
            trades.append(draw(st.sampled_from(sent)))
        sent.extend(trades)
        kind = draw(st.sampled_from(["trades"] * 8 + sorted(MESSAGES)))
        messages.append(MESSAGES[kind](draw, trades))
    return draw(st.permutations(messages))


def units(message: str | bytes) -> int:
    """Input records in one message: its trades, one for any other message, none for a ping."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return 1
    if not isinstance(decoded, dict):
        return 1
    if decoded.get("type") == "trade" and isinstance(decoded.get("data"), list):
        return len(decoded["data"])
    return 0 if decoded.get("type") == "ping" else 1


def _run(settings: Settings, messages: list[str | bytes]) -> tuple[Settings, TradeTopics]:
    """One run of the pipeline over ``messages``, in topics and a data folder of its own."""
    run = uuid.uuid4().hex[:6]
    here = settings.model_copy(
        update={"topic_prefix": f"tz{run}.", "data_dir": settings.data_dir / f"trades-fuzz-{run}"}
    )
    options = TradesOptions(symbols=SYMBOLS, feed="none", windows=WINDOWS)
    pipeline, _ = trades_pipeline(here, options, PipelineMetrics("trades"))
    topics = TradeTopics.named(here.topic)
    server = FinnhubServer(Scripted(messages), tick_s=0.01)
    flush_after = (WINDOWS.bar_s + WINDOWS.lateness_s + 1) * 1000
    pipeline.feeders.append(
        TradeFeed(server.running, list(SYMBOLS), topics, flush_after_ms=flush_after)
    )
    run_pipeline(pipeline, here, once=True)
    return here, topics


def test_every_fuzzed_trade_is_in_a_bar_or_the_dlq_once(
    settings: Settings,
    bootstrap: str,
    admin: TopicAdmin,
    spark: object,
    reliability: Callable[..., None],
) -> None:
    tally = Tally()
    here = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    @batches(examples=3)
    @given(messages=stream())
    def conserved(messages: list[str | bytes]) -> None:
        run, topics = _run(here, messages)
        raw = [json.loads(r.value or b"") for r in tail(run, admin, topics.raw, 10**9)]
        dlq = [json.loads(r.value or b"") for r in tail(run, admin, topics.dlq, 10**9)]
        trades = [r for r in raw if r["s"] != FLUSH_SYMBOL]
        expected = sum(units(m) for m in messages)
        assert len(trades) + len(dlq) == expected
        assert all(isinstance(d["reason"], str) and d["reason"] for d in dlq)
        store = SqliteStore(run.data_dir / "documents.sqlite")
        try:
            bars = [b for b in store.find("windows") if b["symbol"] != FLUSH_SYMBOL]
        finally:
            store.close()
        assert sum(b["trades"] for b in bars) == len(trades), "trades lost between Kafka and bars"
        tally.add(expected)

    conserved()
    reliability("trades", fuzz_cases=tally.cases, fuzz_runs=tally.examples)
    assert tally.examples == 3
