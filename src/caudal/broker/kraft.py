"""Apache Kafka in KRaft mode: the embedded cluster's layout, node configs and storage format.

Every node is a combined broker + controller listening on loopback. The controllers form a
static quorum (``controller.quorum.voters``), so the ports may change from one start to the
next: the configs are written anew at every start from ``cluster.json``, which keeps the
cluster id and the last ports (reused while free).
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from caudal.broker.exceptions import BrokerError

LOG4J_CONFIG = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""


@dataclass
class Node:
    id: int
    port: int
    controller_port: int


@dataclass
class ClusterLayout:
    """What ``<data_dir>/broker/cluster.json`` records about the embedded cluster."""

    cluster_id: str
    nodes: list[Node]

    @classmethod
    def load(cls, path: Path) -> ClusterLayout | None:
        try:
            data = json.loads(path.read_text())
            return cls(data["cluster_id"], [Node(**n) for n in data["nodes"]])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BrokerError(
                f"{path} is unreadable ({exc})",
                "restore it, or delete the broker folder to start an empty cluster",
            ) from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def node_dir(broker_dir: Path, node: Node) -> Path:
    return broker_dir / f"node-{node.id}"


def write_config(broker_dir: Path, layout: ClusterLayout, node: Node) -> Path:
    """``server.properties`` of one node; replication follows the cluster's size."""
    size = len(layout.nodes)
    replicas, min_isr = (3, 2) if size >= 3 else (size, 1)
    voters = ",".join(f"{n.id}@127.0.0.1:{n.controller_port}" for n in layout.nodes)
    home = node_dir(broker_dir, node)
    home.mkdir(parents=True, exist_ok=True)
    props = {
        "process.roles": "broker,controller",
        "node.id": node.id,
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:"
        f"{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": home / "log",
        "num.partitions": 1,
        "default.replication.factor": replicas,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": min_isr,
        # Pipelines create their topics with the partitions they need; a misspelt topic name
        # must be an error, not a new empty topic.
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": 0,
    }
    path = home / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return path


def java_command(java: Path, classpath: list[Path], heap_mb: int, broker_dir: Path) -> list[str]:
    """The JVM prefix shared by the storage tool and the server."""
    log4j = broker_dir / "log4j2.properties"
    log4j.write_text(LOG4J_CONFIG)
    return [
        str(java),
        f"-Xmx{heap_mb}m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        ":".join(str(j) for j in classpath),
    ]


def format_storage(java: list[str], config: Path, cluster_id: str) -> None:
    """Format a node's log dir for ``cluster_id`` (once: its meta.properties then exists)."""
    done = subprocess.run(
        # --cluster-id=<id>: a URL-safe id may start with "-", which as a separate argument
        # the tool's parser takes for an option (one start in 64 failed to format)
        [
            *java,
            "kafka.tools.StorageTool",
            "format",
            f"--cluster-id={cluster_id}",
            "-c",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        last = (done.stdout + done.stderr).strip().splitlines()[-1:]
        raise BrokerError(f"could not format the Kafka log dir: {' '.join(last)}")


def formatted_cluster_id(log_dir: Path) -> str | None:
    """The cluster id a log dir was formatted for, or None when it is not formatted."""
    meta = log_dir / "meta.properties"
    if not meta.exists():
        return None
    for line in meta.read_text().splitlines():
        if line.startswith("cluster.id="):
            return line.split("=", 1)[1].strip()
    return None
