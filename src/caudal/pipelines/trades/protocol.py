"""The Finnhub WebSocket protocol, both directions, and what makes a received trade valid.

Client → server: ``{"type":"subscribe","symbol":"AAPL"}`` (and ``unsubscribe``). Server →
client: ``{"type":"trade","data":[{"s","p","t","v","c"}, ...]}``, ``{"type":"ping"}`` and
``{"type":"error","msg":...}``. Shared by the simulator's server and the client, so both speak
exactly the same messages. Checks are pure functions: a reason string or ``None``.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MAX_FUTURE_MS = 60_000
"""A trade stamped more than a minute ahead of the receiver's clock is not believed."""
MAX_AGE_MS = 3_600_000
"""A trade older than an hour on arrival is not a live trade (a replay must re-stamp)."""
MIN_PRICE, MAX_PRICE = 1e-8, 1e9
"""No instrument trades outside this; a price far out of it (1e308) broke the model's forecast
(``exp`` overflow) and so the query, on every restart (found by fuzzing)."""
MIN_VOLUME, MAX_VOLUME = 1e-8, 10**10
"""What the job's ``decimal(18,8)`` volumes hold: less rounds to 0 and more overflows to null,
and Spark would drop the trade from its bar without a word (found by fuzzing). A larger single
trade is a dead letter (``volume_out_of_range``) rather than a wrong bar."""


@dataclass(frozen=True)
class Rejected:
    """One message or trade that is not passed on, and why (for the DLQ)."""

    kind: str
    """A short fixed label (metrics, DLQ key): ``malformed_json``, ``duplicate``, ..."""
    reason: str
    raw: str


def subscribe(symbol: str) -> str:
    return json.dumps({"type": "subscribe", "symbol": symbol})


def trade_message(trades: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "trade", "data": trades}, separators=(",", ":"))


def error_message(text: str) -> str:
    return json.dumps({"type": "error", "msg": text})


PING = json.dumps({"type": "ping"})


def parse_message(text: str | bytes) -> dict[str, Any] | Rejected:
    """The decoded message, or why it is not one (malformed JSON, not an object, no type)."""
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        return Rejected("malformed_json", f"malformed JSON: {exc}", raw)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return Rejected("not_a_message", "not a Finnhub message (no 'type')", raw)
    return message


def check_trade(trade: Any, now_ms: int, symbols: frozenset[str]) -> tuple[str, str] | None:
    """Why ``trade`` (one element of a trade message's ``data``) is unusable: (kind, reason)."""
    if not isinstance(trade, dict) or not isinstance(trade.get("s"), str):
        return "bad_fields", "trade is not an object with a symbol"
    s, t = trade["s"], trade.get("t")
    p: Any = trade.get("p")
    v: Any = trade.get("v")
    if s not in symbols:
        return "unknown_symbol", f"symbol {s!r} was not subscribed (unknown symbol)"
    if not _number(p) or not _number(v) or not isinstance(t, int) or isinstance(t, bool):
        return "bad_fields", "trade with a missing or non-numeric price, volume or timestamp"
    if not _conditions(trade.get("c")):
        return "bad_fields", "trade conditions 'c' are not a list of strings"
    if p <= 0:
        return "non_positive_price", f"non-positive price {p}"
    if v <= 0:
        return "non_positive_volume", f"non-positive volume {v}"
    if not MIN_PRICE <= p < MAX_PRICE:
        return "price_out_of_range", f"price {p} outside [{MIN_PRICE:g}, {MAX_PRICE:g})"
    if not MIN_VOLUME <= v < MAX_VOLUME:
        return "volume_out_of_range", f"volume {v} outside [{MIN_VOLUME:g}, {MAX_VOLUME:.0e})"
    if t > now_ms + MAX_FUTURE_MS:
        return "future_timestamp", f"timestamp {t} is {(t - now_ms) // 1000} s in the future"
    if t < now_ms - MAX_AGE_MS:
        return "past_timestamp", f"timestamp {t} is {(now_ms - t) // 1000} s in the past"
    return None


def _number(x: Any) -> bool:
    """A finite JSON number (an integer too large for a float is not a price or a volume)."""
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:
        return False


def _conditions(c: Any) -> bool:
    return c is None or (isinstance(c, list) and all(isinstance(x, str) for x in c))


class RecentTrades:
    """Remembers the last ``capacity`` trade identities to spot a trade delivered twice.

    Finnhub has no trade id, so the identity is (symbol, time, price, volume, conditions);
    two genuinely distinct trades identical in all five are indistinguishable to anyone.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[Any, ...], None] = OrderedDict()

    def seen_before(self, trade: dict[str, Any]) -> bool:
        conditions = trade.get("c")
        key = (trade["s"], trade["t"], trade["p"], trade["v"], tuple(conditions or ()))
        if key in self._seen:
            return True
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return False
