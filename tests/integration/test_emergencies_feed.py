"""The call feeder against a real broker: what it counts as produced is what the topic holds,
and calls the broker never took are counted as rejected, not as produced."""

from __future__ import annotations

import threading

from caudal.broker.admin import TopicAdmin
from caudal.broker.process import free_port
from caudal.pipelines.emergencies.feed import CallFeed
from caudal.pipelines.feeder import FeedCounters


def test_every_call_counted_as_produced_is_in_the_topic(
    bootstrap: str, admin: TopicAdmin, topic: str
) -> None:
    counters = FeedCounters()
    CallFeed(topic, 5_000, 0, bad_fraction=0.02, seed=1).run(
        {"bootstrap.servers": bootstrap}, threading.Event(), counters
    )
    assert counters.produced == 5_000 and counters.rejected == 0
    assert sum(p.offsets for p in admin.partitions(topic)) == 5_000  # no transactions here


def test_calls_the_broker_never_took_are_rejected_not_produced() -> None:
    counters = FeedCounters()
    unreachable = {"bootstrap.servers": f"127.0.0.1:{free_port()}", "message.timeout.ms": 1_000}
    CallFeed("emergencias.avisos", 20, 0, seed=2).run(unreachable, threading.Event(), counters)
    assert counters.produced == 0 and counters.rejected == 20
