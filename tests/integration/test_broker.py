"""The embedded Apache Kafka broker: life cycle, faults, topic admin and offsets, for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import running_broker, start_broker, stop_broker, wait_ready
from caudal.broker.exceptions import (
    BrokerAlreadyRunning,
    BrokerError,
    BrokerUnreachable,
    PortInUse,
)
from caudal.broker.process import free_port, pid_alive
from caudal.settings import Settings


@pytest.fixture
def own_settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings for a broker of this test only; whatever it started is stopped afterwards."""
    settings = Settings(data_dir=tmp_path / "caudal", kafka_timeout_s=3)
    yield settings
    stop_broker(settings)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def test_second_start_on_the_same_data_dir_is_refused(settings: Settings, bootstrap: str) -> None:
    with pytest.raises(BrokerAlreadyRunning, match=bootstrap):
        start_broker(settings)

    info = running_broker(settings)
    assert info is not None and info.bootstrap == bootstrap


def test_stale_pid_file_is_reported_and_replaced(own_settings: Settings) -> None:
    gone = dead_pid()
    own_settings.broker_dir.mkdir(parents=True)
    pid_file = own_settings.broker_dir / "broker-1.pid"
    pid_file.write_text(
        json.dumps({"pid": gone, "command": ["java"], "port": 1, "started_at": 0, "facts": {}})
    )

    info, warnings = start_broker(own_settings)

    assert any("stale pid file" in w for w in warnings), warnings
    assert info.pid != gone and pid_alive(info.pid)
    assert json.loads(pid_file.read_text())["pid"] == info.pid
    assert TopicAdmin(own_settings, info.bootstrap).topics() == {}
    assert stop_broker(own_settings)
    assert not pid_file.exists()
    assert not pid_alive(info.pid)


def test_configured_port_already_taken_is_refused(
    own_settings: Settings, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PortInUse, match=str(taken_port)):
        start_broker(own_settings.model_copy(update={"broker_port": taken_port}))

    monkeypatch.setenv("CAUDAL_BROKER_PORT", str(taken_port))
    from_env = Settings(data_dir=own_settings.data_dir)
    assert from_env.broker_port == taken_port
    with pytest.raises(PortInUse, match="CAUDAL_BROKER_PORT"):
        start_broker(from_env)
    assert running_broker(from_env) is None


def test_wait_ready_on_a_closed_port_gives_up_within_its_timeout() -> None:
    closed = f"127.0.0.1:{free_port()}"
    began = time.monotonic()

    with pytest.raises(BrokerUnreachable, match=closed):
        wait_ready(Settings(kafka_timeout_s=2), closed, timeout_s=2)

    assert time.monotonic() - began < 2 + 3


@pytest.mark.parametrize("call", ["topics", "create", "partitions", "group_lags", "delete"])
def test_admin_with_a_wrong_bootstrap_fails_quickly_with_a_broker_error(call: str) -> None:
    admin = TopicAdmin(Settings(kafka_timeout_s=1), f"127.0.0.1:{free_port()}")
    calls = {
        "topics": admin.topics,
        "create": lambda: admin.create("orders", 2),
        "partitions": lambda: admin.partitions("orders"),
        "group_lags": admin.group_lags,
        "delete": lambda: admin.delete("orders"),
    }
    began = time.monotonic()

    with pytest.raises(BrokerError):
        calls[call]()

    assert time.monotonic() - began < 1 + 3
    admin.close()


def produce(bootstrap: str, topic: str, n: int, **conf: object) -> Counter[int]:
    """``n`` records of 200 bytes with librdkafka's batching; delivered count per partition."""
    delivered: Counter[int] = Counter()

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            delivered[msg.partition()] += 1  # type: ignore[attr-defined]

    producer = Producer({"bootstrap.servers": bootstrap, **conf})
    for i in range(n):
        while True:
            try:
                producer.produce(topic, b"x" * 200, str(i).encode(), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0
    return delivered


def committed_values(bootstrap: str, topic: str, partitions: int = 2) -> list[bytes]:
    """Every record a ``read_committed`` consumer gets from ``topic``, to each partition's end."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{uuid.uuid4().hex[:6]}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    values, at_end, deadline = [], set(), time.monotonic() + 30
    try:
        while len(at_end) < partitions and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                at_end.add(msg.partition())
                continue
            values.append(msg.value())
    finally:
        consumer.close()
    assert len(at_end) == partitions, "a partition's end was never reached"
    return values


def test_end_offsets_are_exact_after_batched_produce(
    bootstrap: str, admin: TopicAdmin, topic: str
) -> None:
    delivered = produce(bootstrap, topic, 50_000)

    assert sum(delivered.values()) == 50_000 and set(delivered) == {0, 1}
    assert {s.partition: s.end for s in admin.partitions(topic)} == dict(delivered)
    assert admin.end_offsets([(topic, 0), (topic, 1)]) == {(topic, p): delivered[p] for p in (0, 1)}


def test_read_committed_never_sees_an_aborted_transaction(
    bootstrap: str, admin: TopicAdmin, topic: str
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic})
    producer.init_transactions(30)
    producer.begin_transaction()
    for i in range(100):
        producer.produce(topic, b"aborted-%d" % i, partition=i % 2)
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    for i in range(10):
        producer.produce(topic, b"committed-%d" % i, partition=i % 2)
    producer.commit_transaction(30)

    values = committed_values(bootstrap, topic)

    assert sorted(values) == sorted(b"committed-%d" % i for i in range(10))
    # the offsets count the 100 aborted records and the two transactions' markers
    assert sum(p.end for p in admin.partitions(topic)) == 100 + 10 + 4


def test_records_survive_kill_9_of_the_broker_and_a_restart(own_settings: Settings) -> None:
    info, _ = start_broker(own_settings)
    TopicAdmin(own_settings, info.bootstrap).create("kept", 2)
    delivered = produce(info.bootstrap, "kept", 5_000, acks="all")
    os.kill(info.pid, signal.SIGKILL)
    while pid_alive(info.pid):
        time.sleep(0.05)

    again, warnings = start_broker(own_settings)

    assert any("stale pid file" in w for w in warnings), warnings
    assert again.bootstrap == info.bootstrap  # clients of the killed broker find it again
    assert len(committed_values(again.bootstrap, "kept")) == sum(delivered.values()) == 5_000


def test_a_data_dir_formatted_for_another_cluster_is_refused(own_settings: Settings) -> None:
    start_broker(own_settings)
    stop_broker(own_settings)
    layout = own_settings.broker_dir / "cluster.json"
    data = json.loads(layout.read_text())
    data["cluster_id"] = "AAAAAAAAAAAAAAAAAAAAAA"
    layout.write_text(json.dumps(data))

    with pytest.raises(BrokerError, match="was formatted for cluster") as refused:
        start_broker(own_settings)

    assert "CAUDAL_DATA_DIR" in (refused.value.hint or "")
    assert running_broker(own_settings) is None


def test_a_data_dir_of_one_node_is_refused_for_three(own_settings: Settings) -> None:
    start_broker(own_settings)
    stop_broker(own_settings)

    with pytest.raises(BrokerError, match="1-node cluster"):
        start_broker(own_settings, brokers=3)


@pytest.mark.slow
def test_three_node_cluster_replicates_and_survives_kill_9_of_one_node(
    own_settings: Settings,
) -> None:
    info, _ = start_broker(own_settings, brokers=3)
    assert info.nodes == 3 and len(info.pids) == 3
    admin = TopicAdmin(own_settings, info.bootstrap)
    admin.create("replicated", 2)
    meta = admin._admin.list_topics("replicated", timeout=10).topics["replicated"]
    assert all(len(p.replicas) == 3 for p in meta.partitions.values())
    first = produce(info.bootstrap, "replicated", 2_000, acks="all")

    os.kill(info.pids[0], signal.SIGKILL)
    survivors = ",".join(info.bootstrap.split(",")[1:])
    second = produce(survivors, "replicated", 2_000, acks="all")

    assert len(committed_values(survivors, "replicated")) == 4_000
    assert sum(first.values()) + sum(second.values()) == 4_000
    status = running_broker(own_settings)
    assert status is not None and "2 of 3 nodes up" in status.description
    admin.close()


def test_group_lag_is_the_true_end_minus_the_committed_offset(
    settings: Settings, bootstrap: str, topic: str
) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(16):
        producer.produce(topic, b"v%d" % i, partition=0 if i < 10 else 1)
    assert producer.flush(10) == 0
    group = f"lag-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    consumer.commit(
        offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 6)], asynchronous=False
    )
    consumer.close()

    admin = TopicAdmin(settings, bootstrap)
    try:
        lags = {(g.partition): g for g in admin.group_lags() if g.group == group}
    finally:
        admin.close()

    assert {p: (g.committed, g.end, g.lag) for p, g in lags.items()} == {
        0: (4, 10, 6),
        1: (6, 6, 0),
    }
    assert all(g.topic == topic for g in lags.values())


def test_a_cluster_id_starting_with_a_dash_formats_and_starts(
    own_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """URL-safe ids start with "-" one time in 64; the storage tool took that for an option."""
    import caudal.broker.embedded as embedded

    monkeypatch.setattr(embedded, "new_cluster_id", lambda: "-" + "Q" * 21)
    info, _ = start_broker(own_settings)
    try:
        assert info.pids and pid_alive(info.pid)
    finally:
        stop_broker(own_settings)
