"""Exactly-once into Kafka topics with transactions, on the real broker and Spark."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.tail import committed_reader, read_range
from caudal.settings import Settings
from caudal.sinks.base import SinkContext
from caudal.sinks.batch_log import BatchLog, TransactionIntent
from caudal.sinks.kafka_topic import KafkaTopicSink, transactional_id

ROWS = [("a", "k1", "alpha"), ("b", "k2", "beta"), ("b", "k2", "beta"), ("a", None, "gamma")]
"""topic suffix, key, value; a true duplicate row must be there twice, not once."""


@pytest.fixture
def topics(admin: TopicAdmin) -> dict[str, str]:
    prefix = f"s-{uuid.uuid4().hex[:8]}"
    names = {s: f"{prefix}-{s}" for s in ("a", "b")}
    for name in names.values():
        admin.create(name, 2)
    return names


def opened(
    spark: Any, settings: Settings, admin: TopicAdmin, topics: dict[str, str], checkpoint: Path
) -> KafkaTopicSink:
    """The sink as the runner hands it a query: opened on the query's checkpoint."""
    sink = KafkaTopicSink("out", topics.values())
    sink.open(SinkContext(spark, checkpoint, client_config(settings, admin.bootstrap)))
    return sink


def frame(spark: Any, topics: dict[str, str], rows: list[tuple[str, str | None, str]]) -> Any:
    data = [(topics[t], k, v) for t, k, v in rows]
    return spark.createDataFrame(data, "topic string, key string, value string")


def committed(settings: Settings, admin: TopicAdmin, topic: str) -> Counter[tuple[Any, Any]]:
    """Key/value pairs a read_committed reader sees in ``topic``."""
    reader = committed_reader(settings, admin.bootstrap, "sink-tests")
    try:
        return Counter(
            (r.key and r.key.decode(), r.value and r.value.decode())
            for p in admin.partitions(topic)
            for r in read_range(reader, p, p.start, 10)
        )
    finally:
        reader.close()


def uncommitted_count(bootstrap: str, topic: str) -> int:
    """Records on the broker, aborted or open transactions included (read_uncommitted)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "raw", "isolation.level": "read_uncommitted"}
    )
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in (0, 1))
    finally:
        consumer.close()


def expect(topics: dict[str, str], rows: list[tuple[str, str | None, str]], topic: str) -> Counter:
    return Counter((k, v) for t, k, v in rows if topics[t] == topic)


def test_a_batch_goes_to_each_row_topic_once_and_a_repeat_is_skipped(
    spark: Any, settings: Settings, admin: TopicAdmin, topics: dict[str, str], tmp_path: Path
) -> None:
    sink = opened(spark, settings, admin, topics, tmp_path / "checkpoint")
    write = sink.write
    write(frame(spark, topics, ROWS), 0)
    write(frame(spark, topics, ROWS), 0)
    sink.close()

    for topic in topics.values():
        assert committed(settings, admin, topic) == expect(topics, ROWS, topic)
    assert sink.rows_written == 4 and sink.batches_skipped == 1
    assert sink.rows_by == {topics["a"]: 2, topics["b"]: 2}


def test_a_replay_after_the_broker_commit_but_before_the_batch_log_is_skipped(
    spark: Any, settings: Settings, admin: TopicAdmin, topics: dict[str, str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    first = opened(spark, settings, admin, topics, checkpoint)
    first.write(frame(spark, topics, ROWS), 0)
    first.close()
    # the crash fell after commit_transaction and before the batch log's commit marker
    (checkpoint / "sinks" / "out" / "commit" / "0").unlink()

    again = opened(spark, settings, admin, topics, checkpoint)
    again.write(frame(spark, topics, ROWS), 0)
    again.close()

    for topic in topics.values():
        assert committed(settings, admin, topic) == expect(topics, ROWS, topic)


def test_a_job_killed_inside_a_transaction_leaves_nothing_visible_and_the_replay_is_once(
    spark: Any, settings: Settings, admin: TopicAdmin, topics: dict[str, str], tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    log = BatchLog(checkpoint / "sinks" / "out")
    log.record_intent(0, TransactionIntent(transactional_id(log)))
    # a producer with the sink's transactional id writes half a batch, then dies by SIGKILL
    script = f"""
import os, signal
from confluent_kafka import Producer
p = Producer({{"bootstrap.servers": {admin.bootstrap!r},
              "transactional.id": {transactional_id(log)!r}}})
p.init_transactions(30)
p.begin_transaction()
for i in range(100):
    p.produce({topics["a"]!r}, b"half-%d" % i, partition=i % 2)
p.flush(30)
os.kill(os.getpid(), signal.SIGKILL)
"""
    killed = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert killed.returncode == -9
    assert uncommitted_count(admin.bootstrap, topics["a"]) == 100
    assert committed(settings, admin, topics["a"]) == Counter()

    sink = opened(spark, settings, admin, topics, checkpoint)
    sink.write(frame(spark, topics, ROWS), 0)
    sink.close()

    for topic in topics.values():
        assert committed(settings, admin, topic) == expect(topics, ROWS, topic)
