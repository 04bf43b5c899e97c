"""The embedded broker's life cycle, topic admin and true end offsets, against a real Tansu."""

from __future__ import annotations

import json
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
from caudal.broker.client import client_config
from caudal.broker.embedded import running_broker, start_broker, stop_broker, wait_ready
from caudal.broker.exceptions import (
    BrokerAlreadyRunning,
    BrokerError,
    BrokerUnreachable,
    PortInUse,
)
from caudal.broker.offsets import EndOffsetProbe
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
    pid_file = own_settings.broker_dir / "broker.pid"
    pid_file.write_text(
        json.dumps({"pid": gone, "command": ["tansu"], "port": 1, "started_at": 0, "facts": {}})
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


def test_end_probe_finds_every_record_after_batched_produce(
    settings: Settings, bootstrap: str, admin: TopicAdmin, topic: str
) -> None:
    delivered: Counter[int] = Counter()

    def on_delivery(err: object, msg: object) -> None:
        if err is None:
            delivered[msg.partition()] += 1  # type: ignore[attr-defined]

    producer = Producer({"bootstrap.servers": bootstrap})  # librdkafka's default linger
    for i in range(50_000):
        key = str(i).encode()
        while True:
            try:
                producer.produce(topic, b"x" * 200, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0
    assert sum(delivered.values()) == 50_000 and set(delivered) == {0, 1}

    probe = EndOffsetProbe(client_config(settings, bootstrap))
    try:
        reported = {p: probe.watermarks((topic, p))[1] for p in (0, 1)}
        ends = probe.end_offsets([(topic, 0), (topic, 1)])
    finally:
        probe.close()
    print(
        f"\ndelivered {dict(delivered)}; broker ListOffsets(latest) {reported}"
        f" (under-reported: {any(reported[p] < delivered[p] for p in reported)})"
    )

    assert ends == {(topic, p): delivered[p] for p in (0, 1)}
    assert {s.partition: s.end for s in admin.partitions(topic)} == dict(delivered)


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
