"""The embedded broker behind ``caudal up`` / ``down`` / ``status``.

Apache Kafka (KRaft) when ``KAFKA_HOME`` is set, else Tansu: in memory, or durable on an
embedded SeaweedFS S3 store (``CAUDAL_BROKER_STORAGE=s3``), which starts before Tansu and stops
after it. One broker per data dir: the pid file under ``<data_dir>/broker`` is the single source
of truth for its address.
"""

from __future__ import annotations

import re
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
from caudal.broker.seaweedfs import BUCKET, start_store, stop_store, store_process
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
    """Set only on a memory-only broker: its topics die with it (see pipelines/runner.py)."""
    data: str | None = None
    """Where a durable broker keeps its topics on disk."""


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
STORE_DOWN_NOTICE = (
    "its SeaweedFS store is not running: topics can be neither read nor written "
    "(run `caudal down`, then `caudal up`)"
)


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
        data=record.facts.get("data"),
    )


def running_broker(settings: Settings) -> BrokerInfo | None:
    """The live broker; a durable one whose store died carries a notice saying so."""
    record = _process(settings).running()
    if record is None:
        return None
    info = _info(record)
    if info.storage == "s3" and store_process(settings).running() is None:
        info.notice = STORE_DOWN_NOTICE
    return info


def start_broker(settings: Settings) -> tuple[BrokerInfo, list[str]]:
    """Start the embedded broker and wait until it answers; returns it and warnings to show."""
    proc = _process(settings)
    warnings = _clear_stale(settings, proc)
    settings.broker_dir.mkdir(parents=True, exist_ok=True)
    record: ProcessRecord | None = None
    try:
        record = _launch(settings, proc)
        wait_ready(settings, f"127.0.0.1:{record.port}", settings.broker_start_timeout_s, proc)
    except BrokerError as exc:
        proc.stop(timeout_s=2)
        stop_store(settings)
        if isinstance(exc, BrokerUnreachable) and record and record.facts["storage"] == "s3":
            raise _unreadable_store(record.facts["data"], proc) from exc
        raise
    return _info(record), warnings


def _unreadable_store(data: str, proc: ManagedProcess) -> BrokerError:
    """Tansu answers no request while it cannot read its cluster state from S3 (measured with
    a volume file deleted), so a silent broker on a running store means a damaged store."""
    lines = [ANSI_ESCAPE.sub("", line)[:240] for line in proc.log_tail(3).splitlines()]
    return BrokerError(
        f"Tansu could not read its topics from the SeaweedFS store {data} (damaged?); "
        f"log {proc.log_file}, last lines:\n" + "\n".join(lines),
        "restore the store from a backup, or delete it and seaweedfs.json to start empty",
    )


def _clear_stale(settings: Settings, proc: ManagedProcess) -> list[str]:
    """Refuse a live broker; drop pid files whose processes died (Tansu's or its store's)."""
    live = proc.running()
    if live is not None:
        raise BrokerAlreadyRunning(
            f"the embedded broker is already running at 127.0.0.1:{live.port} (pid {live.pid})",
            "use it as it is, or `caudal down` first",
        )
    warnings = []
    for stale, what in ((proc, "broker"), (store_process(settings), "SeaweedFS store")):
        if stale.is_stale():
            warnings.append(f"removed a stale pid file ({stale.pid_file}): its {what} had died")
            stale.pid_file.unlink(missing_ok=True)
    return warnings


def _launch(settings: Settings, proc: ManagedProcess) -> ProcessRecord:
    """Start the broker process, after its store if it has one."""
    if settings.kafka_home is not None:
        port = _choose_port(settings)
        command = kraft_command(settings.kafka_home, settings.broker_dir, port, free_port())
        facts = {"kind": "apache-kafka-kraft", "storage": str(settings.broker_dir / "kraft-logs")}
        return proc.start(command, port, facts=facts)
    binary = find_tansu(settings)
    if settings.broker_storage == "memory":
        port = _choose_port(settings)
        facts = {
            "kind": "tansu",
            "storage": "memory",
            "notice": MEMORY_ONLY_NOTICE,
            "incarnation": uuid.uuid4().hex,
        }
        return proc.start(tansu_command(binary, port), port, facts=facts)
    # The store first: the ports it reuses are not reserved until it listens on them, and a
    # free port picked before that became its master's port once (measured).
    store = start_store(settings)
    port = _choose_port(settings)
    facts = {"kind": "tansu", "storage": "s3", "data": str(store.data), "store": store.endpoint}
    command = tansu_command(binary, port, f"s3://{BUCKET}/")
    return proc.start(command, port, env=store.client_env(), facts=facts)


def stop_broker(settings: Settings) -> bool:
    """Stop the embedded broker, then its store (Tansu may write until it exits); False when
    neither was running."""
    broker = _process(settings).stop()
    store = stop_store(settings)
    return broker or store


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
