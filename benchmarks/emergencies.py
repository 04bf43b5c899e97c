"""Emergencies pipeline: routed calls/s and input → routed-topic latency on ``local[2]``.

    .venv/bin/python benchmarks/emergencies.py [--calls 500000 --per-batch 100000]
                                               [--rate 10000 --seconds 30]

Two runs on one embedded broker and one Spark session (issue 17's goals: ≥ 20,000 calls/s
over a backlog, input → routed p99 < 2 s at a steady 10,000 calls/s); peak memory of the whole
run (driver, Python workers, broker) is sampled throughout:
1. throughput: ``--calls`` generated calls are produced first (not timed), then routed with
   ``--no-feed`` in batches of ``--per-batch``; reported: the whole run (Spark start included)
   and the steady rate of batches 2..n (their input rows over their durations, from Spark's
   progress events; the sink produces a batch's records inside the batch);
2. latency: a warm-up burst is fed and routed completely (Spark and its Python workers are up),
   then calls are fed at ``--rate`` per second for ``--seconds``; the latency of each of those
   calls is its routed record's broker timestamp minus its input record's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from harness import Goal, PeakMemory, QueryProgress, Result, machine, p99, percentiles

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import start_broker, stop_broker
from caudal.broker.export import read_topic
from caudal.broker.tail import count_records
from caudal.pipelines.emergencies.feed import CallFeed
from caudal.pipelines.emergencies.pipeline import DLQ, INPUT, emergencies_pipeline, load_routes
from caudal.pipelines.feeder import Delivered, FeedCounters, Feeder, Record
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings
from caudal.streaming.session import spark_session


def _produce(settings: Settings, bootstrap: str, count: int) -> float:
    TopicAdmin(settings, bootstrap).create(settings.topic(INPUT), 2, exist_ok=True)
    started = time.perf_counter()
    CallFeed(settings.topic(INPUT), count, 0, 0.01, seed=1).run(
        client_config(settings, bootstrap), threading.Event(), FeedCounters()
    )
    return count / (time.perf_counter() - started)


def _timings(
    settings: Settings, bootstrap: str, since_ms: float = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Routed calls' broker timestamps (s, sorted) and their latency from input (s), for the
    calls produced at or after ``since_ms``."""
    admin = TopicAdmin(settings, bootstrap)
    produced = {r.key: r.timestamp_ms for r in read_topic(settings, admin, settings.topic(INPUT))}
    pairs = sorted(
        (r.timestamp_ms, produced[r.key])
        for route in load_routes(settings)
        for r in read_topic(settings, admin, route.topic)
        if r.key in produced and produced[r.key] >= since_ms
    )
    admin.close()
    out = np.array([o for o, _ in pairs], dtype=float) / 1000
    return out, out - np.array([i for _, i in pairs], dtype=float) / 1000


def _outputs(admin: TopicAdmin, settings: Settings) -> int:
    topics = [r.topic for r in load_routes(settings)] + [settings.topic(DLQ)]
    existing = admin.topics()
    return sum(count_records(settings, admin, t) for t in topics if t in existing)


class WarmedFeed(Feeder):
    """``warmup`` calls, waits until all are routed, then ``count`` more, all at ``rate``: the
    latency measured afterwards is the running pipeline's, not Spark's start-up."""

    name = "calls"

    def __init__(self, settings: Settings, bootstrap: str, warmup: int, count: int, rate: float):
        self.settings, self.bootstrap = settings, bootstrap
        self.warmup, self.count, self.rate = warmup, count, rate
        self.timed_from_ms = 0.0
        self.counters = FeedCounters()

    def records(
        self, stop: threading.Event, counters: FeedCounters
    ) -> Iterator[Record | Delivered]:
        self.counters = counters
        topic = self.settings.topic(INPUT)
        yield from CallFeed(topic, self.warmup, 0, 0.01, seed=2).records(stop, counters)
        yield Delivered(partial(self._routed, stop))
        yield from CallFeed(topic, self.count, 0, 0.01, seed=3).records(stop, counters)

    def _routed(self, stop: threading.Event) -> None:
        """Waits for the warm-up calls to be routed; the timed calls start now."""
        admin = TopicAdmin(self.settings, self.bootstrap)
        try:
            while not stop.is_set() and _outputs(admin, self.settings) < self.warmup:
                time.sleep(0.2)
        finally:
            admin.close()
        self.timed_from_ms = time.time() * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=500_000)
    parser.add_argument("--per-batch", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=int, default=2_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-emergencies-"))
    base = Settings(data_dir=work / "data", spark_master="local[2]")
    info, _ = start_broker(base)
    try:
        with PeakMemory(info.pids) as memory:
            spark = spark_session(base, app_name="bench-emergencies")
            progress = QueryProgress(spark)
            # 1. throughput over a backlog, in batches of --per-batch
            bulk = base.model_copy(
                update={"topic_prefix": "bulk.", "max_offsets_per_trigger": args.per_batch}
            )
            produce_rate = _produce(bulk, info.bootstrap, args.calls)
            started = time.perf_counter()
            summary = run_pipeline(emergencies_pipeline(bulk, 0, 0, feed=False), bulk, once=True)
            whole = time.perf_counter() - started
            progress.wait_for_rows(args.calls)
            breakdown, batches = progress.breakdown(), len(progress.busy())
            steady = progress.steady_rate()
            # 2. latency at a steady offered rate, once the pipeline runs: own data dir (so its
            # own checkpoints), same broker, no batch cap (a live query takes what has come)
            live = base.model_copy(
                update={
                    "topic_prefix": "live.",
                    "data_dir": work / "live",
                    "kafka_bootstrap": info.bootstrap,
                }
            )
            count = int(args.rate * args.seconds)
            feed = WarmedFeed(live, info.bootstrap, args.warmup, count, args.rate)
            pipeline = replace(emergencies_pipeline(live, 0, 0, feed=False), feeders=[feed])
            progress.batches.clear()
            run_pipeline(pipeline, live, once=True)
            live_breakdown = progress.breakdown()
            spark.stop()
        out_live, lat_live = _timings(live, info.bootstrap, feed.timed_from_ms)
    finally:
        stop_broker(base)
    written = summary.written.get("routes", 0)
    print(f"\n### Emergencies pipeline — {machine()}\n")
    print("| measure | value |\n|---|---|")
    print(f"| calls produced first (feeder alone) | {args.calls:,} at {produce_rate:,.0f}/s |")
    cap = f"{batches} batches of ≤ {args.per_batch:,}"
    print(f"| routed + dead letters written | {written:,} in {cap} |")
    print(f"| whole run incl. Spark start | {written / whole:,.0f} calls/s ({whole:.0f} s) |")
    print(f"| steady, batches 2..n | {steady:,.0f} calls/s |")
    print(f"| where a backlog batch's time goes (median ms) | {breakdown} |")
    print(f"| offered load after {args.warmup:,} warm-up calls | {count:,} at {args.rate:,.0f}/s |")
    print(f"| latency input → routed topic p50 / p99 / max | {percentiles(lat_live)} |")
    print(f"| where a live batch's time goes (median ms) | {live_breakdown} |")
    print(f"| timed calls found routed (1 % are broken on purpose: DLQ) | {len(out_live):,} |")
    print(f"| calls the broker did not take (feeder: rejected) | {feed.counters.rejected:,} |")
    print(f"| peak memory (driver, Python workers, broker) | {memory.peak_mb:,.0f} MiB |")
    Result(
        "emergencies",
        f"benchmarks/emergencies.py --calls {args.calls} --per-batch {args.per_batch} "
        f"--rate {args.rate:.0f} --seconds {args.seconds:.0f}",
        [
            Goal("routed calls/s, steady backlog", steady, 20_000, "calls/s"),
            Goal(f"input → routed p99 at {args.rate:,.0f} calls/s", p99(lat_live), 2, "s", False),
        ],
        memory.peak_mb,
    ).save()
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
