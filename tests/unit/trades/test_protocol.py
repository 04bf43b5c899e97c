"""What the client accepts from a Finnhub-protocol feed, and why it rejects the rest."""

from __future__ import annotations

import json

import pytest

from caudal.pipelines.trades.feed import Backoff
from caudal.pipelines.trades.market import FAULTS, MarketSimulator
from caudal.pipelines.trades.protocol import (
    RecentTrades,
    Rejected,
    check_trade,
    parse_message,
)

NOW = 1_800_000_000_000
KNOWN = frozenset({"AAPL"})
GOOD = {"s": "AAPL", "p": 190.5, "t": NOW - 50, "v": 100, "c": ["1"]}


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"p": -1.0}, "non_positive_price"),
        ({"p": 0}, "non_positive_price"),
        ({"v": 0}, "non_positive_volume"),
        ({"v": -3}, "non_positive_volume"),
        ({"t": NOW + 3_600_000}, "future_timestamp"),
        ({"t": NOW - 86_400_000}, "past_timestamp"),
        ({"s": "NOPE"}, "unknown_symbol"),
        ({"p": "190.5"}, "bad_fields"),
        ({"p": float("nan")}, "bad_fields"),
        ({"t": 1.5}, "bad_fields"),
        ({"s": None}, "bad_fields"),
        ({"p": 10**400}, "bad_fields"),
        ({"c": 1.5}, "bad_fields"),
        ({"c": ["1", 2]}, "bad_fields"),
        ({"v": 10**10}, "volume_out_of_range"),
        ({"p": 1e308}, "price_out_of_range"),
        ({"t": 10**400}, "future_timestamp"),
        ({"t": -(10**400)}, "past_timestamp"),
        ({"p": 1e-12}, "price_out_of_range"),
        ({"v": 1e-12}, "volume_out_of_range"),
    ],
)
def test_a_bad_trade_is_rejected_with_its_kind(change: dict[str, object], kind: str) -> None:
    problem = check_trade({**GOOD, **change}, NOW, KNOWN)
    assert problem is not None and problem[0] == kind and problem[1]


def test_a_good_trade_passes() -> None:
    assert check_trade(GOOD, NOW, KNOWN) is None
    assert check_trade({**GOOD, "c": None, "v": 0.0005}, NOW, KNOWN) is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [('{"type":"trade","data":[{"s":"AA', "malformed_json"), ("[1, 2]", "not_a_message"),
     ('{"data": []}', "not_a_message"), (b"\xff\xfe", "malformed_json"),
     ("[" * 100_000, "malformed_json")],
)  # fmt: skip
def test_a_message_that_is_not_finnhub_json_is_rejected(text: str | bytes, kind: str) -> None:
    result = parse_message(text)
    assert isinstance(result, Rejected) and result.kind == kind


def test_a_trade_delivered_twice_is_seen_as_a_duplicate_within_capacity() -> None:
    recent = RecentTrades(capacity=2)
    assert not recent.seen_before(GOOD)
    assert recent.seen_before(dict(GOOD))
    assert not recent.seen_before({**GOOD, "c": ["1", "12"]})
    assert not recent.seen_before({**GOOD, "v": 200})
    assert not recent.seen_before(GOOD)  # forgotten: older than the last `capacity`


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(first_s=0.5, max_s=4)
    delays = [backoff.delay(n) for n in range(6)]
    assert 0.4 <= delays[0] <= 0.6 and 0.8 <= delays[1] <= 1.2
    assert all(3.2 <= d <= 4.8 for d in delays[3:])


def test_the_simulator_is_seeded_and_makes_every_fault_kind() -> None:
    def run(seed: int) -> list[str]:
        market = MarketSimulator(("AAPL", "MSFT"), 500, NOW, seed=seed, bad_fraction=0.01)
        return [m.text for m in market.advance(NOW + 60_000)]

    assert run(1) == run(1) and run(1) != run(2)
    market = MarketSimulator(("AAPL", "MSFT"), 500, NOW, seed=1, bad_fraction=0.01)
    messages = market.advance(NOW + 60_000)
    assert set(market.sent_bad) == set(FAULTS)
    assert sum(m.good for m in messages) == market.sent_good
    trades = [t for m in messages if m.good for t in json.loads(m.text)["data"]]
    assert all(check_trade(t, NOW + 60_000, frozenset({"AAPL", "MSFT"})) is None for t in trades)
    keys = {(t["s"], t["t"], t["p"], t["v"], tuple(t["c"] or ())) for t in trades}
    assert len(keys) == len(trades), "genuine trades are never identical"
    newest, late = 0, 0
    for t in trades:
        late += t["t"] < newest - 4_000
        newest = max(newest, t["t"])
    assert 0.001 * len(trades) < late < 0.004 * len(trades), "about 0.2 % arrive late"
