"""The embedded broker in memory vs durable (s3) mode, side by side on the same workload.

    .venv/bin/python benchmarks/broker_modes.py [--records 1000000] [--size 200]

For each ``CAUDAL_BROKER_STORAGE`` mode, a fresh broker on a fresh data dir runs the measures
of ``kafka_source.py`` (imported, not copied): confluent-kafka produce rate, raw ``assign()``
consume rate, and the caudal-kafka Spark source into a ``noop`` sink on ``local[2]``. Broker
start/stop times and the store's size on disk are added, since they are what s3 mode costs
besides throughput. Prints a Markdown block for RESULTS.md; the goal is s3 / memory >= 0.5.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kafka_source as ks  # noqa: E402

from caudal.broker.admin import TopicAdmin  # noqa: E402
from caudal.broker.embedded import start_broker, stop_broker  # noqa: E402
from caudal.settings import Settings  # noqa: E402

MODES = ("memory", "s3")
RATES = ("produce", "consume", "spark_with_start", "spark_steady")
LABELS = {
    "start_s": "broker start (s)",
    "produce": "produce (rec/s)",
    "consume": "raw `assign()` consume (rec/s)",
    "spark_with_start": "Spark source, query start included (rec/s)",
    "spark_steady": "Spark source, steady, batches 2..n (rec/s)",
    "p50_ms": "micro-batch latency p50 (ms)",
    "p99_ms": "micro-batch latency p99 (ms)",
    "stop_s": "broker stop (s)",
    "disk_mb": "data dir on disk after the run (MB)",
}


def measure(mode: str, args: argparse.Namespace) -> dict[str, float]:
    """One broker in ``mode``: start, produce, read raw, read with Spark, stop."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
    settings = Settings(data_dir=data, spark_master="local[2]", broker_storage=mode)
    began = time.perf_counter()
    info, _ = start_broker(settings)
    row: dict[str, float] = {"start_s": time.perf_counter() - began}
    try:
        admin = TopicAdmin(settings, info.bootstrap)
        admin.create(ks.TOPIC, args.partitions)
        row["produce"] = ks.produce(info.bootstrap, args.records, args.size, args.partitions)
        ends = {p.partition: p.end for p in admin.partitions(ks.TOPIC)}
        admin.close()
        assert sum(ends.values()) == args.records, f"{mode}: true ends {ends}"
        row["consume"] = ks.consume_raw(info.bootstrap, ends)
        src = ks.spark_source(settings, info.bootstrap, args.records, args.per_batch)
        row["spark_with_start"], row["spark_steady"] = src["rate_with_start"], src["rate_steady"]
        row["p50_ms"], row["p99_ms"] = src["p50_ms"], src["p99_ms"]
    finally:
        began = time.perf_counter()
        stop_broker(settings)
        row["stop_s"] = time.perf_counter() - began
        row["disk_mb"] = _disk_mb(data)
        shutil.rmtree(data, ignore_errors=True)
    return row


def _disk_mb(path: Path) -> float:
    """``du``, not the sum of file sizes: SeaweedFS volume files may be sparse."""
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def report(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    print(
        f"\n### Broker modes — {datetime.now(UTC):%Y-%m-%d} — {platform.node()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, Tansu memory vs s3 "
        "(SeaweedFS)\n"
    )
    print(
        f"{args.records:,} records of {args.size} B, {args.partitions} partitions, Spark "
        f"`local[2]`, maxOffsetsPerTrigger {args.per_batch:,}; one fresh broker per mode, "
        "run one after the other on a shared machine\n"
    )
    print("| measure | memory | s3 (durable) | s3 / memory |\n|---|---|---|---|")
    for key, label in LABELS.items():
        mem, dur = rows["memory"][key], rows["s3"][key]
        ratio = f"{dur / mem:.2f}×" if key in RATES and mem else ""
        print(f"| {label} | {_fmt(mem)} | {_fmt(dur)} | {ratio} |")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def main() -> None:
    args = ks.arguments(__doc__.splitlines()[0])
    rows = {mode: measure(mode, args) for mode in MODES}
    report(rows, args)


if __name__ == "__main__":
    main()
