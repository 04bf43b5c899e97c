"""Alerts pipeline end to end: simulated alert files → Kafka → Spark join + CNN → CSV.

    .venv/bin/python benchmarks/alerts.py [--alerts 3000 --per-batch 2000] [--rate 300]

Simulated alerts carry realistic 63x63 gzip-FITS cutouts (~40-60 KB per alert, like the ZTF
samples). Two runs over the same files, each with its own data dir (issue 17's goals: ≥ 1,000
alerts/s, file produced → CSV row p99 < 5 s at a steady 300 alerts/s):
1. throughput: the feeder reads the files flat out, the query takes batches of --per-batch;
   alerts/s from the first row written to the last (sustained) and over the whole run;
2. latency: the first file is fed and classified (Spark and its Python workers are up), then
   the rest at --rate alerts/s; each alert's latency is its row's ``classified_at`` minus its
   Kafka timestamp (``produced_at``).
Peak memory of the whole run (driver, Python workers, broker) is sampled throughout.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pandas as pd
from harness import Goal, PeakMemory, QueryProgress, Result, machine, p99, percentiles

from caudal.pipelines.alerts.feed import AlertFileFeed
from caudal.pipelines.alerts.model.simulate import write_alerts
from caudal.pipelines.alerts.pipeline import alerts_pipeline
from caudal.pipelines.base import Pipeline
from caudal.pipelines.feeder import Delivered, FeedCounters, Feeder, Record
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings
from caudal.streaming.session import spark_session


class WarmedFeed(Feeder):
    """The first file flat out, a wait until the query has read it, then the rest at
    ``rate``: the latency measured is the running pipeline's, not Spark's start-up."""

    name = "alert files"

    def __init__(self, files: AlertFileFeed, progress: QueryProgress, rate: float) -> None:
        self.files, self.progress, self.rate = files, progress, rate
        self.timed_from = pd.Timestamp.max  # naive UTC, as the CSV's times read back

    def records(
        self, stop: threading.Event, counters: FeedCounters
    ) -> Iterator[Record | Delivered]:
        warm = False
        for item in self.files.records(stop, counters):
            yield item
            if isinstance(item, Delivered) and not warm:
                warm = True
                yield Delivered(lambda: self._read(stop, counters.produced))

    def _read(self, stop: threading.Event, alerts: int) -> None:
        """Until the query has read ``alerts`` alerts: a metadata and a cutouts record each."""
        while (
            not stop.is_set() and sum(b["numInputRows"] for b in self.progress.busy()) < 2 * alerts
        ):
            time.sleep(0.2)
        self.timed_from = pd.Timestamp.now(tz="UTC").tz_localize(None)


def _run(pipeline: Pipeline, settings: Settings, out: Path) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    run_pipeline(pipeline, settings, once=True)
    whole = time.perf_counter() - started
    return pd.read_csv(out, parse_dates=["produced_at", "classified_at"]), whole


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--per-batch", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    started = time.perf_counter()
    write_alerts(work / "in", args.alerts, seed=7, per_file=50)
    simulated = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (work / "in").rglob("*.avro")) / args.alerts
    with PeakMemory(match=str(work)) as memory:
        spark = spark_session(Settings(data_dir=work / "spark", spark_master="local[2]"))
        progress = QueryProgress(spark)
        # 1. throughput: files read flat out, batches of --per-batch
        bulk = Settings(
            data_dir=work / "bulk", spark_master="local[2]", max_offsets_per_trigger=args.per_batch
        )
        out = work / "bulk.csv"
        rows, whole = _run(alerts_pipeline(bulk, work / "in", out, watch=False), bulk, out)
        span = (rows["classified_at"].max() - rows["classified_at"].min()).total_seconds()
        sustained = len(rows) / max(span, 1e-9)
        breakdown = progress.breakdown()
        # 2. latency at a steady offered rate, once the query runs
        live = Settings(data_dir=work / "live", spark_master="local[2]")
        out = work / "live.csv"
        pipeline = alerts_pipeline(live, work / "in", out, watch=False)
        feed = WarmedFeed(pipeline.feeders[0], progress, args.rate)  # type: ignore[arg-type]
        progress.batches.clear()
        timed, _ = _run(replace(pipeline, feeders=[feed]), live, out)
        timed = timed[timed["produced_at"] >= feed.timed_from]
        latency = (timed["classified_at"] - timed["produced_at"]).dt.total_seconds()
        live_breakdown = progress.breakdown()
        spark.stop()
    print(f"\n### Alerts pipeline — {machine()}, Spark `local[2]`\n")
    print(
        f"{args.alerts:,} simulated alerts, {size / 1024:.0f} KB each on average "
        f"(simulation took {simulated:.0f} s)\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| rows written | {len(rows):,} ({int(rows['classified'].sum()):,} classified) |")
    print(f"| sustained (first to last row) | {sustained:,.0f} alerts/s |")
    print(f"| whole run incl. Spark start | {len(rows) / whole:,.0f} alerts/s ({whole:.0f} s) |")
    print(f"| where a backlog batch's time goes (median ms) | {breakdown} |")
    print(f"| offered load after the first file | {len(timed):,} alerts at {args.rate:,.0f}/s |")
    print(f"| latency produced → CSV row p50 / p99 / max | {percentiles(latency)} |")
    print(f"| where a live batch's time goes (median ms) | {live_breakdown} |")
    print(f"| peak memory (driver, Python workers, broker) | {memory.peak_mb:,.0f} MiB |")
    Result(
        "alerts",
        f"benchmarks/alerts.py --alerts {args.alerts} --per-batch {args.per_batch} "
        f"--rate {args.rate:.0f}",
        [
            Goal("alerts/s, sustained over a backlog", sustained, 1_000, "alerts/s"),
            Goal(
                f"produced → CSV row p99 at {args.rate:.0f} alerts/s", p99(latency), 5, "s", False
            ),
        ],
        memory.peak_mb,
    ).save()


if __name__ == "__main__":
    main()
