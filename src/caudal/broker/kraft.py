"""Apache Kafka in KRaft mode from an install at ``KAFKA_HOME`` (single combined node)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from caudal.broker.exceptions import BrokerError


def kraft_command(kafka_home: Path, work_dir: Path, port: int, controller_port: int) -> list[str]:
    """Write ``server.properties``, format the log dir once, return the start command."""
    start = kafka_home / "bin" / "kafka-server-start.sh"
    storage = kafka_home / "bin" / "kafka-storage.sh"
    if not start.is_file():
        raise BrokerError(
            f"KAFKA_HOME={kafka_home} has no bin/kafka-server-start.sh",
            "point KAFKA_HOME at an Apache Kafka install, or unset it to use Tansu",
        )
    log_dir = work_dir / "kraft-logs"
    props = work_dir / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={log_dir}",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "num.partitions=1",
            ]
        )
        + "\n"
    )
    if not (log_dir / "meta.properties").exists():
        subprocess.run(
            [str(storage), "format", "-t", str(uuid.uuid4()), "-c", str(props), "--standalone"],
            check=True,
            capture_output=True,
        )
    return [str(start), str(props)]
