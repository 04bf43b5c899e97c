"""The commands a new user types, run as a user would: a real process, a real broker."""

from __future__ import annotations

import time
from pathlib import Path

from caudal.broker.process import free_port
from tests.support.cli import caudal, cli_env


def test_up_topics_status_down(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    up = caudal("up", env=env)
    assert up.returncode == 0, up.stderr
    assert "broker up" in up.stdout and "Apache Kafka 4." in up.stdout and "KRaft" in up.stdout
    try:
        again = caudal("up", env=env)
        assert again.returncode == 1
        assert "already running" in again.stderr

        assert caudal("topics", "create", "x", "-p", "3", env=env).returncode == 0
        assert caudal("topics", "create", "x", env=env).returncode == 1
        described = caudal("topics", "describe", "x", env=env)
        assert described.returncode == 0 and described.stdout.count("│") > 0

        status = caudal("status", env=env)
        assert status.returncode == 0, status.stderr
        assert "x" in status.stdout and "consumer groups" in status.stdout
        assert "Apache Kafka 4." in status.stdout
    finally:
        down = caudal("down", env=env)
    assert down.returncode == 0 and "stopped" in down.stdout
    stopped = caudal("status", env=env)
    assert stopped.returncode == 1 and "not running" in stopped.stdout


def test_maven_unreachable_at_a_first_start_is_one_line_and_exit_1(tmp_path: Path) -> None:
    env = cli_env(
        tmp_path,
        CAUDAL_JARS_DIR=str(tmp_path / "no-jars-yet"),
        CAUDAL_MAVEN_REPO=f"http://127.0.0.1:{free_port()}/maven2/",
        COLUMNS="400",  # one line as written, not as a narrow terminal would wrap it
    )
    started = time.monotonic()
    up = caudal("up", env=env, timeout=120)

    assert time.monotonic() - started < 60  # the broker start timeout
    assert up.returncode == 1
    first, *rest = up.stderr.strip().splitlines()
    assert first.startswith("error: could not fetch kafka-broker jars from http://127.0.0.1:")
    assert "org.apache.kafka:kafka_2.13:4." in first
    assert "CAUDAL_JARS_DIR" in up.stderr and "Traceback" not in up.stderr
    assert len(rest) <= 1  # the "next:" line
    assert caudal("status", env=env).returncode == 1


def test_unreachable_broker_is_one_clear_line_within_bounded_time(tmp_path: Path) -> None:
    env = cli_env(tmp_path, CAUDAL_KAFKA_BOOTSTRAP="127.0.0.1:1", CAUDAL_KAFKA_TIMEOUT_S="3")
    started = time.monotonic()
    result = caudal("topics", "list", env=env, timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    assert result.stderr.startswith("error: no Kafka broker answered at 127.0.0.1:1")
    assert "Traceback" not in result.stderr


def test_missing_topic_and_tail(tmp_path: Path, bootstrap: str) -> None:
    env = cli_env(tmp_path, CAUDAL_KAFKA_BOOTSTRAP=bootstrap)
    missing = caudal("topics", "describe", "no-such-topic", env=env)
    assert missing.returncode == 1 and "does not exist" in missing.stderr

    from tests.support.cli import produce

    caudal("topics", "create", "tail-me", env=env)
    produce(bootstrap, "tail-me", [b'{"n": %d}' % i for i in range(30)])
    tail = caudal("topics", "tail", "tail-me", "-n", "5", env=env)
    assert tail.returncode == 0, tail.stderr
    assert '"n": 29' in tail.stdout and '"n": 24' not in tail.stdout


def test_config_masks_secrets(tmp_path: Path) -> None:
    secret = "hunter2-not-shown"  # pragma: allowlist secret
    env = cli_env(
        tmp_path,
        CAUDAL_KAFKA_SASL_PASSWORD=secret,
        CAUDAL_DATABASE_URL=f"postgresql://u:{secret}@db/x",
    )
    result = caudal("config", env=env)
    assert result.returncode == 0
    assert secret not in result.stdout
    assert "CAUDAL_KAFKA_SASL_PASSWORD" in result.stdout and "****" in result.stdout


def test_help_is_enough_on_its_own(tmp_path: Path) -> None:
    result = caudal("--help", env=cli_env(tmp_path))
    assert result.returncode == 0
    for word in ("up", "down", "status", "topics", "run", "demo", "config"):
        assert word in result.stdout


def test_a_command_that_needs_the_broker_starts_it_and_stops_it_again(tmp_path: Path) -> None:
    """As `caudal run` does: `caudal run emergencies --once` then `caudal emergencies check`
    used to answer "no broker is running"."""
    env = cli_env(tmp_path)
    created = caudal("topics", "create", "kept", env=env, timeout=180)
    assert created.returncode == 0, created.stderr
    assert "starting the embedded broker" in created.stderr
    assert caudal("status", env=env).returncode == 1  # stopped again afterwards
    listed = caudal("topics", "list", env=env, timeout=180)
    assert listed.returncode == 0, listed.stderr
    assert "kept" in listed.stdout  # the topic outlived the broker that made it
