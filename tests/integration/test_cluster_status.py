"""A look at the real broker: topics with their layout and offsets, a group with its lag."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.cluster import look, with_rates
from tests.support.cli import produce


def test_a_topic_its_offsets_rate_and_a_lagging_group(bootstrap: str, admin: TopicAdmin) -> None:
    topic, group = f"c-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    admin.create(topic, partitions=3)
    produce(bootstrap, topic, [b"x"] * 30, [str(i).encode() for i in range(30)])
    committer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    committer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    committer.close()

    first = look(admin)
    produce(bootstrap, topic, [b"y"] * 20)
    second = with_rates(first, look(admin))

    assert [b.controller for b in second.brokers] == [True]
    row = next(t for t in second.topics if t.name == topic)
    assert (row.partitions, row.replication, row.min_in_sync) == (3, 1, 1)
    assert row.end_offset == row.offsets == 50
    assert row.per_s is not None and row.per_s > 0
    (lagging,) = [g for g in second.groups if g.group == group]
    assert (lagging.topic, lagging.partitions, lagging.committed) == (topic, 1, 1)
    ends = admin.end_offsets([(topic, 0)])
    assert lagging.lag == ends[(topic, 0)] - 1
