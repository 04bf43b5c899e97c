"""Sale events are counted when the broker has them: a topic that does not exist is an error,
not "n events produced" (the broker creates no topic by itself)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from caudal.broker.admin import TopicAdmin
from caudal.errors import CaudalError
from caudal.pipelines.lakehouse.publish import publish_sales
from caudal.registry.server import RegistryServer


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    server = RegistryServer(tmp_path / "registry").start()
    yield server.url
    server.stop()


def test_delivered_events_are_counted_and_a_missing_topic_fails(
    bootstrap: str, admin: TopicAdmin, topic: str, registry: str
) -> None:
    conf = {"bootstrap.servers": bootstrap, "topic.metadata.propagation.max.ms": 2000}
    assert publish_sales(conf, registry, topic, 25, seed=1) == 25
    assert sum(p.end for p in admin.partitions(topic)) == 25

    with pytest.raises(CaudalError, match="25 of 25 sale events not delivered"):
        publish_sales(conf, registry, f"missing-{uuid.uuid4().hex[:8]}", 25, seed=1)
