"""Alerts pipeline end to end: simulated alert files → Kafka → Spark join + CNN → CSV.

    .venv/bin/python benchmarks/alerts.py [--alerts 3000]

Simulated alerts carry realistic 63x63 gzip-FITS cutouts (~60 KB per alert, like the ZTF
samples). Reports alerts/s from the first row written to the last (sustained) and over the
whole run, and the latency from produce (Kafka timestamp) to classification (p50/p99).
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
import pandas as pd

from caudal.pipelines.alerts.pipeline import alerts_pipeline
from caudal.pipelines.alerts.simulate import write_alerts
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--per-batch", type=int, default=2000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    started = time.perf_counter()
    write_alerts(work / "in", args.alerts, seed=7, per_file=50)
    simulated = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (work / "in").rglob("*.avro")) / args.alerts
    settings = Settings(
        data_dir=work / "data", spark_master="local[2]", max_offsets_per_trigger=args.per_batch
    )
    out = work / "alerts.csv"
    started = time.perf_counter()
    run_pipeline(alerts_pipeline(settings, work / "in", out, watch=False), settings, once=True)
    whole = time.perf_counter() - started
    rows = pd.read_csv(out, parse_dates=["produced_at", "classified_at"])
    latency = (rows["classified_at"] - rows["produced_at"]).dt.total_seconds().to_numpy()
    span = (rows["classified_at"].max() - rows["classified_at"].min()).total_seconds()
    print(
        f"\n### Alerts pipeline — {datetime.now(UTC):%Y-%m-%d} — {platform.node()}, "
        f"{os.cpu_count()} cores, Spark `local[2]`\n"
    )
    print(
        f"{args.alerts:,} simulated alerts, {size / 1024:.0f} KB each on average, "
        f"maxOffsetsPerTrigger {args.per_batch:,} (simulation took {simulated:.0f} s)\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| rows written | {len(rows):,} ({int(rows['classified'].sum()):,} classified) |")
    print(f"| sustained (first to last row) | {len(rows) / max(span, 1e-9):,.0f} alerts/s |")
    print(f"| whole run incl. Spark start | {len(rows) / whole:,.0f} alerts/s ({whole:.0f} s) |")
    print(
        f"| latency produce → classified p50 / p99 | {np.percentile(latency, 50):.2f} / "
        f"{np.percentile(latency, 99):.2f} s |"
    )


if __name__ == "__main__":
    main()
