"""The embedded Apache Kafka broker: start-up times and produce/consume rates.

    .venv/bin/python benchmarks/broker.py [--records 1000000] [--size 200]

One run: (1) broker start on an empty data dir (jars already cached), (2) Kafka's own
ProducerPerformance (kafka-tools) with acks=all, (3) confluent-kafka produce and raw
``assign()`` consume of the same workload, (4) restart after kill -9 of a broker holding it,
(5) three-node cluster start. Prints a Markdown block for RESULTS.md.
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka_source import TOPIC, arguments, consume_raw, produce

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import running_broker, start_broker, stop_broker
from caudal.broker.process import pid_alive
from caudal.jars import KAFKA_VERSION, ArtifactSet, resolve
from caudal.settings import Settings
from caudal.streaming.java import find_java_home

KAFKA_TOOLS = ArtifactSet("kafka-tools", (f"org.apache.kafka:kafka-tools:{KAFKA_VERSION}",))


def timed_start(settings: Settings, brokers: int = 1) -> tuple[float, str]:
    began = time.perf_counter()
    info, _ = start_broker(settings, brokers)
    return time.perf_counter() - began, info.bootstrap


def producer_performance(settings: Settings, bootstrap: str, n: int, size: int) -> str:
    """Kafka's own load generator; its summary line (records/s, MB/s, latencies)."""
    classpath = ":".join(str(j) for j in resolve(KAFKA_TOOLS, settings))
    done = subprocess.run(
        [
            str(find_java_home() / "bin" / "java"),
            "-cp",
            classpath,
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            "bench.perf",
            "--num-records",
            str(n),
            "--record-size",
            str(size),
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bootstrap}",
            "acks=all",
            "linger.ms=20",
            "batch.size=262144",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    work = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    settings = Settings(data_dir=work / "one")
    start_s, bootstrap = timed_start(settings)
    try:
        admin = TopicAdmin(settings, bootstrap)
        admin.create(TOPIC, args.partitions)
        admin.create("bench.perf", args.partitions)
        perf = producer_performance(settings, bootstrap, args.records, args.size)
        produced = produce(bootstrap, args.records, args.size, args.partitions)
        ends = {p.partition: p.end for p in admin.partitions(TOPIC)}
        assert sum(ends.values()) == args.records, ends
        raw = consume_raw(bootstrap, ends)
        admin.close()
        info = running_broker(settings)
        assert info is not None
        pids = info.pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        while any(pid_alive(p) for p in pids):
            time.sleep(0.05)
        restart_s, bootstrap = timed_start(settings)
        after = {p.partition: p.end for p in TopicAdmin(settings, bootstrap).partitions(TOPIC)}
        assert after == ends, (after, ends)
    finally:
        stop_broker(settings)
    cluster = Settings(data_dir=work / "three")
    try:
        three_s, _ = timed_start(cluster, brokers=3)
    finally:
        stop_broker(cluster)
    print(
        f"\n### Broker — {datetime.now(UTC):%Y-%m-%d} — {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Apache Kafka {KAFKA_VERSION} (KRaft, embedded)\n"
    )
    print(f"{args.records:,} records of {args.size} B, {args.partitions} partitions\n")
    print("| measure | value |\n|---|---|")
    print(f"| broker start, empty data dir (jars cached) | {start_s:.1f} s |")
    print(f"| Kafka ProducerPerformance, acks=all | {perf} |")
    print(f"| confluent-kafka produce | {produced:,.0f} rec/s |")
    print(f"| confluent-kafka `assign()` consume | {raw:,.0f} rec/s |")
    print(f"| restart after kill -9 ({args.records:,} records kept) | {restart_s:.1f} s |")
    print(f"| three-node cluster start | {three_s:.1f} s |")


if __name__ == "__main__":
    main()
