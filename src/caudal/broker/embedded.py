"""The embedded broker behind ``caudal up`` / ``down`` / ``status``.

Apache Kafka (KRaft) when ``KAFKA_HOME`` is set, else Tansu. One broker per data dir: the pid
file under ``<data_dir>/broker`` is the single source of truth for its address.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient

from caudal.broker.client import client_config
from caudal.broker.exceptions import (
    BrokerAlreadyRunning,
    BrokerError,
    BrokerNotRunning,
    BrokerUnreachable,
    PortInUse,
)
from caudal.broker.kraft import kraft_command
from caudal.broker.process import ManagedProcess, ProcessRecord, free_port, port_is_free
from caudal.broker.tansu import MEMORY_ONLY_NOTICE, find_tansu, tansu_command
from caudal.settings import Settings


@dataclass
class BrokerInfo:
    """A running embedded broker as ``status`` shows it."""

    bootstrap: str
    kind: str
    pid: int
    storage: str
    notice: str | None
    incarnation: str | None


def _process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(settings.broker_dir, "broker")


def _info(record: ProcessRecord) -> BrokerInfo:
    return BrokerInfo(
        bootstrap=f"127.0.0.1:{record.port}",
        kind=record.facts.get("kind", "?"),
        pid=record.pid,
        storage=record.facts.get("storage", "?"),
        notice=record.facts.get("notice"),
        incarnation=record.facts.get("incarnation"),
    )


def running_broker(settings: Settings) -> BrokerInfo | None:
    record = _process(settings).running()
    return _info(record) if record else None


def start_broker(settings: Settings) -> tuple[BrokerInfo, list[str]]:
    """Start the embedded broker and wait until it answers; returns it and warnings to show."""
    proc = _process(settings)
    warnings: list[str] = []
    live = proc.running()
    if live is not None:
        raise BrokerAlreadyRunning(
            f"the embedded broker is already running at 127.0.0.1:{live.port} (pid {live.pid})",
            "use it as it is, or `caudal down` first",
        )
    if proc.is_stale():
        warnings.append(f"removed a stale pid file ({proc.pid_file}): its broker had died")
        proc.pid_file.unlink(missing_ok=True)
    port = _choose_port(settings)
    settings.broker_dir.mkdir(parents=True, exist_ok=True)
    if settings.kafka_home is not None:
        command = kraft_command(settings.kafka_home, settings.broker_dir, port, free_port())
        facts = {"kind": "apache-kafka-kraft", "storage": str(settings.broker_dir / "kraft-logs")}
    else:
        command = tansu_command(find_tansu(settings), port)
        facts = {
            "kind": "tansu",
            "storage": "memory",
            "notice": MEMORY_ONLY_NOTICE,
            "incarnation": uuid.uuid4().hex,
        }
    record = proc.start(command, port, facts=facts)
    try:
        wait_ready(settings, f"127.0.0.1:{port}", settings.broker_start_timeout_s, proc)
    except BrokerError:
        proc.stop(timeout_s=2)
        raise
    return _info(record), warnings


def stop_broker(settings: Settings) -> bool:
    """Stop the embedded broker; False when none was running."""
    return _process(settings).stop()


def resolve_bootstrap(settings: Settings) -> str:
    """The configured cluster, else the running embedded broker; never guesses a default."""
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap
    info = running_broker(settings)
    if info is None:
        raise BrokerNotRunning(
            f"no broker is running for data dir {settings.data_dir}",
            "run `caudal up`, or set CAUDAL_KAFKA_BOOTSTRAP=host:port for an existing cluster",
        )
    return info.bootstrap


def wait_ready(
    settings: Settings, bootstrap: str, timeout_s: float, proc: ManagedProcess | None = None
) -> None:
    """Block until the broker answers a metadata request, or raise within ``timeout_s``."""
    admin = AdminClient(client_config(settings, bootstrap))
    deadline = time.monotonic() + timeout_s
    while True:
        if proc is not None and proc.running() is None:
            raise BrokerError(
                f"the broker exited during start-up; log {proc.log_file}:\n{proc.log_tail()}"
            )
        try:
            admin.list_topics(timeout=min(1.0, timeout_s))
            return
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise BrokerUnreachable(
                    f"no Kafka broker answered at {bootstrap} within {timeout_s:.0f} s ({exc})",
                    "check the address and that the broker runs (`caudal status`)",
                ) from exc
            time.sleep(0.1)


def _choose_port(settings: Settings) -> int:
    if settings.broker_port is None:
        return free_port()
    if not port_is_free(settings.broker_port):
        raise PortInUse(
            f"port {settings.broker_port} is already in use",
            "pick another CAUDAL_BROKER_PORT, or unset it to take a free one",
        )
    return settings.broker_port
