"""Kafka on the embedded broker: raw produce/consume rates vs Spark's own Kafka source.

    .venv/bin/python benchmarks/kafka_source.py [--records 1000000] [--size 200]

One run, one broker: (1) confluent-kafka produce rate, (2) raw ``assign()`` consume rate,
(3) Spark's ``format("kafka")`` source (read_committed, as the pipelines read) into a ``noop``
sink on ``local[2]`` with ``maxOffsetsPerTrigger`` batches: records/s and micro-batch latency
p50/p99. Prints a Markdown block for RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from confluent_kafka import Consumer, Producer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.embedded import start_broker, stop_broker
from caudal.settings import Settings

TOPIC = "bench.source"


def produce(bootstrap: str, n: int, size: int, partitions: int) -> float:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
        }
    )
    payload = os.urandom(size)
    started = time.perf_counter()
    for i in range(n):
        while True:
            try:
                producer.produce(TOPIC, payload, partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    return n / (time.perf_counter() - started)


def consume_raw(bootstrap: str, ends: dict[int, int]) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-raw",
            "enable.auto.commit": False,
            "fetch.min.bytes": 1 << 20,
            "fetch.wait.max.ms": 50,
            "fetch.max.bytes": 64 << 20,
            "max.partition.fetch.bytes": 16 << 20,
        }
    )
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in ends])
    total, want = 0, sum(ends.values())
    started = time.perf_counter()
    while total < want:
        total += sum(1 for m in consumer.consume(20_000, 5.0) if m.error() is None)
    rate = total / (time.perf_counter() - started)
    consumer.close()
    return rate


def spark_source(settings: Settings, bootstrap: str, n: int, per_batch: int) -> dict[str, float]:
    from caudal.streaming.session import spark_session

    spark = spark_session(settings, "caudal-bench")
    opts = {
        "kafka.bootstrap.servers": bootstrap,
        "subscribe": TOPIC,
        "startingOffsets": "earliest",
        "maxOffsetsPerTrigger": str(per_batch),
        "kafka.isolation.level": "read_committed",
    }
    checkpoint = tempfile.mkdtemp(prefix="bench-cp-")
    started = time.perf_counter()
    query = (
        spark.readStream.format("kafka")
        .options(**opts)
        .load()
        .writeStream.format("noop")
        .option("checkpointLocation", checkpoint)
        .trigger(processingTime="0 seconds")
        .start()
    )
    while sum(p["numInputRows"] for p in query.recentProgress) < n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    progress = [p for p in query.recentProgress if p["numInputRows"] > 0]
    query.stop()
    latencies = np.array([p["durationMs"]["triggerExecution"] for p in progress], float)
    phases = {
        k: float(np.median([p["durationMs"].get(k, 0) for p in progress[1:]]))
        for k in progress[-1]["durationMs"]
        if k != "triggerExecution"
    }
    first = progress[0]["durationMs"]["triggerExecution"] / 1000
    spark.stop()
    return {
        "rate_with_start": n / elapsed,
        "rate_steady": sum(p["numInputRows"] for p in progress[1:])
        / max(latencies[1:].sum() / 1000, 1e-9),
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "batches": len(progress),
        "first_batch_s": first,
        "phases": phases,
    }


def arguments(description: str) -> argparse.Namespace:
    """The workload options shared by the Kafka benchmarks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--per-batch", type=int, default=100_000)
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-")), spark_master="local[2]")
    info, _ = start_broker(settings)
    try:
        TopicAdmin(settings, info.bootstrap).create(TOPIC, args.partitions)
        produced = produce(info.bootstrap, args.records, args.size, args.partitions)
        ends = {p.partition: p.end for p in TopicAdmin(settings, info.bootstrap).partitions(TOPIC)}
        assert sum(ends.values()) == args.records, ends
        raw = consume_raw(info.bootstrap, ends)
        src = spark_source(settings, info.bootstrap, args.records, args.per_batch)
    finally:
        stop_broker(settings)
    print(
        f"\n### Kafka source — {datetime.now(UTC):%Y-%m-%d} — {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"broker {info.kind} {info.version}\n"
    )
    print(
        f"{args.records:,} records of {args.size} B, {args.partitions} partitions, "
        f"Spark `local[2]`, maxOffsetsPerTrigger {args.per_batch:,}\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| raw produce (confluent-kafka) | {produced:,.0f} rec/s |")
    print(f"| raw `assign()` consume | {raw:,.0f} rec/s |")
    print(f"| Spark source, query start included | {src['rate_with_start']:,.0f} rec/s |")
    print(
        f"| Spark source, steady (batches 2..n) | {src['rate_steady']:,.0f} rec/s "
        f"({src['rate_steady'] / raw:.2f}× raw consume) |"
    )
    print(
        f"| micro-batch latency p50 / p99 | {src['p50_ms']:,.0f} / {src['p99_ms']:,.0f} ms "
        f"({src['batches']} batches, first {src['first_batch_s']:.1f} s) |"
    )
    ranked = sorted(src["phases"].items(), key=lambda kv: -kv[1])
    phases = ", ".join(f"{k} {v:,.0f}" for k, v in ranked)
    print(f"| where a batch's time goes (median ms) | {phases} |")


if __name__ == "__main__":
    main()
