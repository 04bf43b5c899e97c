"""One look at a Kafka cluster for people: brokers, topics, consumer groups with their lag.

What ``caudal status`` prints and the UI's Cluster page draws, from Kafka's admin API only
(``TopicAdmin``). A rate needs two looks: ``with_rates`` compares a look with the one before.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, replace

from caudal.broker.admin import BrokerNode, TopicAdmin


@dataclass(frozen=True)
class TopicRow:
    name: str
    partitions: int
    replication: int
    min_in_sync: int
    end_offset: int
    """Sum of the partitions' end offsets (what a read_committed reader reaches)."""
    offsets: int
    """Offsets held (end − start): records, plus transaction markers on transactional topics."""
    per_s: float | None = None
    """Offsets added per second since the previous look (None on a first look)."""


@dataclass(frozen=True)
class GroupRow:
    group: str
    topic: str
    partitions: int
    committed: int
    lag: int


@dataclass(frozen=True)
class ClusterLook:
    bootstrap: str
    taken_at: float
    brokers: list[BrokerNode]
    topics: list[TopicRow]
    groups: list[GroupRow]


def look(admin: TopicAdmin) -> ClusterLook:
    """Brokers, topics (layout, offsets) and consumer groups (lag per topic), now."""
    brokers, layouts = admin.describe()
    topics = []
    for layout in layouts:
        parts = admin.partitions(layout.name)
        topics.append(
            TopicRow(
                layout.name,
                layout.partitions,
                layout.replication,
                layout.min_in_sync,
                sum(p.end for p in parts),
                sum(p.offsets for p in parts),
            )
        )
    return ClusterLook(admin.bootstrap, time.time(), brokers, topics, _groups(admin))


def with_rates(previous: ClusterLook | None, current: ClusterLook) -> ClusterLook:
    """``current`` with each topic's offsets per second since ``previous`` (same cluster)."""
    if previous is None or previous.bootstrap != current.bootstrap:
        return current
    elapsed = current.taken_at - previous.taken_at
    before = {t.name: t.end_offset for t in previous.topics}
    if elapsed <= 0:
        return current
    topics = [
        replace(t, per_s=max(t.end_offset - before[t.name], 0) / elapsed) if t.name in before else t
        for t in current.topics
    ]
    return replace(current, topics=topics)


def _groups(admin: TopicAdmin) -> list[GroupRow]:
    """Per group and topic: partitions committed, their committed offsets and lag, summed."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in admin.group_lags():
        entry = sums[(row.group, row.topic)]
        entry[0] += 1
        entry[1] += row.committed
        entry[2] += row.lag
    return [
        GroupRow(g, t, n, committed, lag) for (g, t), (n, committed, lag) in sorted(sums.items())
    ]
