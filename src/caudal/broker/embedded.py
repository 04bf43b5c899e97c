"""The embedded Apache Kafka cluster behind ``caudal up`` / ``down`` / ``status``.

One KRaft node by default, three with ``caudal up --brokers 3``; each node is a JVM started
from the Maven jars (``caudal.jars``) with its log under ``<data_dir>/broker/node-<id>``, so
topics survive ``caudal down``/``up`` and kill -9. The pid files under ``<data_dir>/broker``
are the single source of truth for the cluster's address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient

from caudal.broker.client import client_config
from caudal.broker.exceptions import (
    BrokerAlreadyRunning,
    BrokerError,
    BrokerNotRunning,
    BrokerUnreachable,
    PortInUse,
)
from caudal.broker.kraft import (
    ClusterLayout,
    Node,
    format_storage,
    formatted_cluster_id,
    java_command,
    new_cluster_id,
    node_dir,
    write_config,
)
from caudal.broker.process import ManagedProcess, free_port, port_is_free
from caudal.jars import KAFKA_BROKER, KAFKA_VERSION, resolve
from caudal.settings import Settings
from caudal.streaming.java import find_java_home


@dataclass
class BrokerInfo:
    """A running embedded cluster as ``status`` shows it."""

    bootstrap: str
    kind: str
    version: str
    pids: list[int]
    nodes: int
    """Nodes the cluster was made with; ``len(pids)`` of them are running."""
    data: str

    @property
    def pid(self) -> int:
        return self.pids[0]

    @property
    def description(self) -> str:
        nodes = f"{self.nodes} node" + ("s" if self.nodes > 1 else "")
        if len(self.pids) < self.nodes:
            nodes = f"{len(self.pids)} of {nodes} up"
        pids = ", ".join(str(p) for p in self.pids)
        return f"{self.kind} {self.version}, KRaft, {nodes}, pid {pids}"


KIND = "Apache Kafka"


def _layout_file(settings: Settings) -> Path:
    return settings.broker_dir / "cluster.json"


def _node_process(settings: Settings, node_id: int) -> ManagedProcess:
    return ManagedProcess(settings.broker_dir, f"broker-{node_id}")


def node_processes(settings: Settings) -> list[ManagedProcess]:
    """The pid/log files of every node the data dir's cluster has (none before a first start)."""
    layout = ClusterLayout.load(_layout_file(settings))
    return [_node_process(settings, n.id) for n in layout.nodes] if layout else []


def running_broker(settings: Settings) -> BrokerInfo | None:
    """The embedded cluster when at least one of its nodes is alive."""
    layout = ClusterLayout.load(_layout_file(settings))
    if layout is None:
        return None
    live = [
        (node, record)
        for node in layout.nodes
        if (record := _node_process(settings, node.id).running()) is not None
    ]
    if not live:
        return None
    return BrokerInfo(
        bootstrap=",".join(f"127.0.0.1:{record.port}" for _, record in live),
        kind=KIND,
        version=str(live[0][1].facts.get("version", "?")),
        pids=[record.pid for _, record in live],
        nodes=len(layout.nodes),
        data=str(settings.broker_dir),
    )


def start_broker(settings: Settings, brokers: int = 1) -> tuple[BrokerInfo, list[str]]:
    """Start the nodes of the embedded cluster that are not running; wait until all answer.

    Returns the cluster and warnings to show (stale pid files removed). Refuses when every
    node already runs, and a data dir made for another number of nodes.
    """
    settings.broker_dir.mkdir(parents=True, exist_ok=True)
    layout = ClusterLayout.load(_layout_file(settings))
    if layout is not None and len(layout.nodes) != brokers:
        raise BrokerError(
            f"the data dir {settings.data_dir} holds a {len(layout.nodes)}-node cluster",
            f"run `caudal up --brokers {len(layout.nodes)}`, or use another CAUDAL_DATA_DIR",
        )
    warnings = _clear_stale(settings, brokers)
    classpath = resolve(KAFKA_BROKER, settings)
    java = java_command(
        find_java_home() / "bin" / "java", classpath, settings.broker_heap_mb, settings.broker_dir
    )
    layout = _prepare(settings, layout, brokers, java)
    started: list[ManagedProcess] = []
    try:
        for node in layout.nodes:
            proc = _node_process(settings, node.id)
            if proc.running() is None:
                config = node_dir(settings.broker_dir, node) / "server.properties"
                facts = {"version": KAFKA_VERSION, "node": node.id}
                proc.start([*java, "kafka.Kafka", str(config)], node.port, facts=facts)
                started.append(proc)
        wait_ready(
            settings, layout.bootstrap, settings.broker_start_timeout_s, started, brokers=brokers
        )
    except BaseException:
        for proc in started:
            proc.stop(timeout_s=2)
        raise
    info = running_broker(settings)
    assert info is not None
    return info, warnings


def _clear_stale(settings: Settings, brokers: int) -> list[str]:
    """Refuse a cluster whose nodes all run; drop pid files whose processes died."""
    procs = [_node_process(settings, i) for i in range(1, brokers + 1)]
    live = [record for p in procs if (record := p.running()) is not None]
    if len(live) == brokers:
        where = ",".join(f"127.0.0.1:{r.port}" for r in live)
        raise BrokerAlreadyRunning(
            f"the embedded broker is already running at {where} "
            f"(pid {', '.join(str(r.pid) for r in live)})",
            "use it as it is, or `caudal down` first",
        )
    warnings = []
    for proc in procs:
        if proc.is_stale():
            warnings.append(f"removed a stale pid file ({proc.pid_file}): its broker had died")
            proc.pid_file.unlink(missing_ok=True)
    return warnings


def _prepare(
    settings: Settings, layout: ClusterLayout | None, brokers: int, java: list[str]
) -> ClusterLayout:
    """Ports for the nodes about to start, configs for all, storage formatted once."""
    fresh = layout is None
    if layout is None:
        layout = ClusterLayout(new_cluster_id(), [Node(i, 0, 0) for i in range(1, brokers + 1)])
    for node in layout.nodes:
        record = _node_process(settings, node.id).running()
        if record is None:
            wanted = settings.broker_port if node.id == 1 else None
            node.port = _port(node.port, wanted)
            node.controller_port = _port(node.controller_port, None, taken={node.port})
    for node in layout.nodes:
        config = write_config(settings.broker_dir, layout, node)
        log_dir = node_dir(settings.broker_dir, node) / "log"
        found = formatted_cluster_id(log_dir)
        if found is None:
            if not fresh and any(log_dir.glob("*-*")):
                raise _damaged(log_dir)
            format_storage(java, config, layout.cluster_id)
        elif found != layout.cluster_id:
            raise BrokerError(
                f"the Kafka log dir {log_dir} was formatted for cluster {found}, but this data "
                f"dir's cluster is {layout.cluster_id}",
                "point CAUDAL_DATA_DIR at the data dir it belongs to, or delete "
                f"{settings.broker_dir} to start an empty cluster",
            )
    layout.save(_layout_file(settings))
    return layout


def _damaged(log_dir: Path) -> BrokerError:
    return BrokerError(
        f"the Kafka log dir {log_dir} holds topics but no meta.properties (damaged?)",
        "restore it from a backup, or delete it to start that node empty",
    )


def _port(previous: int, wanted: int | None, taken: set[int] | None = None) -> int:
    """``wanted`` (refused when busy), else the previous port while free, else a free one."""
    if wanted is not None:
        if not port_is_free(wanted):
            raise PortInUse(
                f"port {wanted} is already in use",
                "pick another CAUDAL_BROKER_PORT, or unset it to take a free one",
            )
        return wanted
    if previous and previous not in (taken or set()) and port_is_free(previous):
        return previous
    port = free_port()
    while port in (taken or set()):
        port = free_port()
    return port


def stop_broker(settings: Settings) -> bool:
    """Stop every node (all signalled first: a KRaft node waits for its quorum to leave);
    False when none was running."""
    procs = node_processes(settings)
    for proc in procs:
        proc.signal_stop()
    return any([proc.stop(timeout_s=20) for proc in procs])


def resolve_bootstrap(settings: Settings) -> str:
    """The configured cluster, else the running embedded one; never guesses a default."""
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
    settings: Settings,
    bootstrap: str,
    timeout_s: float,
    procs: list[ManagedProcess] | None = None,
    brokers: int = 1,
) -> None:
    """Block until ``brokers`` brokers answer a metadata request, or raise within ``timeout_s``."""
    admin = AdminClient(client_config(settings, bootstrap))
    deadline = time.monotonic() + timeout_s
    while True:
        for proc in procs or []:
            if proc.running() is None:
                raise BrokerError(
                    f"a Kafka broker exited during start-up; log {proc.log_file}:\n"
                    f"{proc.log_tail()}"
                )
        try:
            answered = len(admin.list_topics(timeout=min(1.0, timeout_s)).brokers)
            if answered >= brokers:
                return
            reason = f"{answered} of {brokers} brokers registered"
        except Exception as exc:
            reason = str(exc)
        if time.monotonic() >= deadline:
            raise BrokerUnreachable(
                f"no Kafka broker answered at {bootstrap} within {timeout_s:.0f} s ({reason})",
                "check the address and that the broker runs (`caudal status`)",
            )
        time.sleep(0.1)


@contextmanager
def broker_session(settings: Settings, notes: list[str]) -> Iterator[str]:
    """The configured or running broker, else an embedded one started for the caller and
    stopped again afterwards (its topics stay on disk); start-up warnings go to ``notes``."""
    if settings.kafka_bootstrap or running_broker(settings):
        bootstrap = resolve_bootstrap(settings)
        wait_ready(settings, bootstrap, settings.kafka_timeout_s)
        yield bootstrap
        return
    info, warnings = start_broker(settings)
    notes.extend(warnings)
    try:
        yield info.bootstrap
    finally:
        stop_broker(settings)
