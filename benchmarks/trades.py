"""Trades pipeline: Spark throughput over a full topic, and live latency at a steady rate.

    .venv/bin/python benchmarks/trades.py [--trades 1000000] [--rate 20000 --seconds 60]

1. Throughput: ``--trades`` simulated trades (the feed's exact record format) are produced
   into ``trades.raw`` first; then the pipeline's Spark query (bars → per-symbol state →
   SQLite documents) runs until every bar is written. Reports trades/s over the query's
   batches (Spark start excluded) and where a batch's time goes.
2. Latency: trades are produced live at ``--rate``/s, stamped with the wall clock, for
   ``--seconds``; for each bar, the time from its end (its last possible trade) to its
   document being written (p50/p99). A trade's own wait adds up to one bar length to that.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from harness import Goal, PeakMemory, Result, machine, p99, rows_per_s

from caudal.docstore.sqlite import SqliteStore
from caudal.metrics import PipelineMetrics
from caudal.pipelines.feeder import FeedCounters, Feeder, Record
from caudal.pipelines.runner import run_pipeline
from caudal.pipelines.trades.feed import TradeTopics
from caudal.pipelines.trades.job import FLUSH_SYMBOL, Windows
from caudal.pipelines.trades.market import DEFAULT_SYMBOLS, TICK_MS, MarketSimulator
from caudal.pipelines.trades.pipeline import TradesOptions, trades_pipeline
from caudal.settings import Settings
from caudal.streaming.session import spark_session

WINDOWS = Windows(bar_s=5, lateness_s=2)


class SteadyFeed(Feeder):
    """Produces simulated trades straight to Kafka at ``rate``/s on the wall clock
    (or, with ``rate`` 0, ``count`` trades stamped over the past as fast as it can)."""

    name = "bench"

    def __init__(self, topic: str, rate: float, seconds: float, count: int) -> None:
        self.topic, self.trades_per_s, self.seconds, self.count = topic, rate, seconds, count

    def records(self, stop: threading.Event, counters: FeedCounters) -> Iterator[Record]:
        live = self.trades_per_s > 0
        span_ms = int(self.seconds * 1000) if live else max(self.count // 20, 10_000)
        start = int(time.time() * 1000) - (0 if live else span_ms)
        per_s = self.trades_per_s or self.count * 1000 / span_ms
        market = MarketSimulator(DEFAULT_SYMBOLS, per_s, start)
        newest = start
        while not stop.is_set() and market.now_ms + TICK_MS <= start + span_ms:
            until = int(time.time() * 1000) if live else market.now_ms + 1000
            for message in market.advance(min(until, start + span_ms)):
                if not message.good:
                    continue
                for trade in json.loads(message.text)["data"]:
                    value = json.dumps({**trade, "rx": int(time.time() * 1000)}).encode()
                    yield Record(self.topic, value, trade["s"].encode())
                    newest = max(newest, trade["t"])
            if live:
                time.sleep(0.05)
        marker = {"s": FLUSH_SYMBOL, "p": 1, "t": newest + 60_000, "v": 1}
        yield Record(self.topic, json.dumps(marker).encode(), b"", tally=None)


def _run(settings: Settings, feed: SteadyFeed) -> tuple[list[dict[str, Any]], float]:
    metrics = PipelineMetrics("trades")
    progress: list[dict[str, Any]] = []
    original = metrics.observe_progress

    def keep(p: Any) -> None:
        progress.append(json.loads(p.json))
        original(p)

    metrics.observe_progress = keep  # type: ignore[method-assign]
    options = TradesOptions(feed="none", windows=WINDOWS)
    pipeline, _ = trades_pipeline(settings, options, metrics)
    pipeline.feeders = [feed]
    # The session is ours, not the runner's, so it outlives the run until Spark's listener bus
    # has delivered the last batches' progress (it does so asynchronously).
    spark = spark_session(settings, app_name="bench-trades")
    started = time.perf_counter()
    summary = run_pipeline(pipeline, settings, once=True)
    elapsed = time.perf_counter() - started
    deadline = time.monotonic() + 30
    while sum(p["numInputRows"] for p in progress) < summary.produced:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    spark.stop()
    return progress, elapsed


def throughput(work: Path, trades: int, per_batch: int) -> float:
    """Trades/s over a backlog, batches after the first (Spark's start-up excluded)."""
    settings = Settings(
        data_dir=work / "tp",
        spark_master="local[2]",
        max_offsets_per_trigger=per_batch,
    )
    topic = TradeTopics.named(settings.topic).raw
    progress, whole = _run(settings, SteadyFeed(topic, 0, 0, trades))
    busy = [p for p in progress if p["numInputRows"] > 0]
    rows = sum(p["numInputRows"] for p in busy)
    steady = busy[1:] or busy
    steady_rate = rows_per_s(steady)
    parts: dict[str, float] = {}
    for p in steady:
        for k, v in p["durationMs"].items():
            parts[k] = parts.get(k, 0) + v
    print(f"| trades read by Spark | {rows:,} in {len(busy)} batches (cap {per_batch:,}) |")
    print(f"| throughput, all batches | {rows_per_s(busy):,.0f} trades/s |")
    print(f"| throughput, after the first batch | {steady_rate:,.0f} trades/s |")
    print(f"| whole run incl. produce + Spark start | {trades / whole:,.0f} trades/s |")
    total = parts.get("triggerExecution", 1)
    shares = ", ".join(
        f"{k} {v / total:.0%}"
        for k, v in sorted(parts.items(), key=lambda kv: -kv[1])
        if k != "triggerExecution" and v / total >= 0.02
    )
    print(f"| where a batch's time goes | {shares} |")
    return steady_rate


def latency(work: Path, rate: float, seconds: float, partitions: int) -> float:
    """Bar end → document p99 (s) of the bars after Spark's first batch, at ``rate``."""
    settings = Settings(
        data_dir=work / f"lat{partitions}",
        spark_master="local[2]",
        spark_conf={"spark.sql.shuffle.partitions": str(partitions)},
    )
    topic = TradeTopics.named(settings.topic).raw
    progress, _ = _run(settings, SteadyFeed(topic, rate, seconds, 0))
    store = SqliteStore(settings.data_dir / "documents.sqlite")
    bars = store.find("windows")
    live = [b for b in bars if b["trades"] > 0 and b["end"] < max(b["end"] for b in bars)]
    lat = np.array([(b["written_at"] - b["end"]) / 1000 for b in live])
    batch = np.array([p["batchDuration"] / 1000 for p in progress if p["numInputRows"] > 0])
    print(
        f"| live rate | {rate:,.0f} trades/s for {seconds:.0f} s, {len(live)} bars, "
        f"{partitions} state partitions |"
    )
    print(
        f"| bar end → document p50 / p99 | {np.percentile(lat, 50):.2f} / "
        f"{np.percentile(lat, 99):.2f} s (bar {WINDOWS.bar_s} s, lateness "
        f"{WINDOWS.lateness_s} s) |"
    )
    first = next(p for p in progress if p["numInputRows"] > 0)
    warm_ms = datetime.fromisoformat(first["timestamp"]).timestamp() * 1000 + first["batchDuration"]
    steady = np.array([(b["written_at"] - b["end"]) / 1000 for b in live if b["end"] > warm_ms])
    print(
        f"| same, bars ending after Spark's first batch ({len(steady)}) | "
        f"{np.percentile(steady, 50):.2f} / {np.percentile(steady, 99):.2f} s |"
    )
    print(f"| micro-batch duration p50 / max | {np.median(batch):.2f} / {batch.max():.2f} s |")
    print(f"| per batch, median ms | {_operator_times(progress)} |")
    return p99(steady)


def _operator_times(progress: list[dict[str, Any]]) -> str:
    """Median time per batch in each stateful operator (updates, commit) and in the rest of
    the batch: where a small live batch's time goes."""
    busy = [p for p in progress if p["numInputRows"] > 0][1:]  # without the warm-up batch
    parts: dict[str, list[float]] = {}
    for p in busy:
        for op in p["stateOperators"]:
            name = op["operatorName"]
            parts.setdefault(f"{name} updates", []).append(op["allUpdatesTimeMs"])
            parts.setdefault(f"{name} commit", []).append(op["commitTimeMs"])
        parts.setdefault("addBatch", []).append(p["durationMs"].get("addBatch", 0))
        parts.setdefault("whole batch", []).append(p["durationMs"].get("triggerExecution", 0))
    return ", ".join(f"{k} {np.median(v):,.0f}" for k, v in parts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--per-batch", type=int, default=500_000)
    parser.add_argument("--rate", type=float, default=20_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument(
        "--partitions",
        type=int,
        nargs="+",
        default=[2],
        help="spark.sql.shuffle.partitions (= state partitions) for the latency runs",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-trades-"))
    print(f"\n### Trades pipeline — {machine()}, Spark `local[2]`, embedded Apache Kafka\n")
    print("| measure | value |\n|---|---|")
    goals = []
    with PeakMemory(match=str(work)) as memory:
        if not args.skip_throughput:
            rate = throughput(work, args.trades, args.per_batch)
            goals.append(Goal("trades/s, steady backlog", rate, 50_000, "trades/s"))
        if not args.skip_latency:
            for partitions in args.partitions:
                late = latency(work, args.rate, args.seconds, partitions)
                goals.append(
                    Goal(
                        f"bar end → document p99 at {args.rate:,.0f} trades/s "
                        f"({partitions} state partitions)",
                        late,
                        2 + WINDOWS.lateness_s,
                        "s",
                        higher_is_better=False,
                    )
                )
    print(f"| peak memory (driver, Python workers, broker) | {memory.peak_mb:,.0f} MiB |")
    command = (
        f"benchmarks/trades.py --trades {args.trades} --per-batch {args.per_batch} "
        f"--rate {args.rate:.0f} --seconds {args.seconds:.0f}"
    )
    Result("trades", command, goals, memory.peak_mb).save()


if __name__ == "__main__":
    main()
