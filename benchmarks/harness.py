"""What every pipeline benchmark shares: pacing, percentiles, peak memory, the result record.

A benchmark measures two things the same way for every pipeline: throughput over a backlog
(records produced first, then read in steady batches) and latency at a steady offered load
below capacity (a feeder paced by the feeder base's ``rate``; each record's latency from its
own Kafka timestamp or the sink's write time, never per batch). ``Result.save`` writes
``benchmarks/results/<name>.json``; ``benchmarks/summary.py`` turns those files into the table
at the top of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    """The line every figure carries: date, host, cores, Python, and how busy the machine was."""
    load = os.getloadavg()[0]
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load:.1f} at the end"
    )


def percentiles(values: Iterable[float], unit: str = "s") -> str:
    """``p50 / p99 / max`` of per-record values, or ``n/a`` when there are none."""
    data = np.asarray(list(values), dtype=float)
    if not data.size:
        return "n/a"
    p50, p99, top = np.percentile(data, [50, 99, 100])
    return f"{p50:.2f} / {p99:.2f} / {top:.2f} {unit}"


def p99(values: Iterable[float]) -> float:
    data = np.asarray(list(values), dtype=float)
    return float(np.percentile(data, 99)) if data.size else float("nan")


def best_of(job: Callable[[], object], repeat: int) -> float:
    """Seconds of the fastest of ``repeat`` runs of ``job`` (a stage's cost, not its noise)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return min(times)


def stage_options(doc: str | None, records: str, default: int) -> argparse.Namespace:
    """A stage benchmark's command line: how many records (``--<records>``), ``--repeat``."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument(f"--{records}", type=int, default=default)
    parser.add_argument("--repeat", type=int, default=3)
    return parser.parse_args()


def stage_session(name: str) -> Any:
    """A ``local[2]`` Spark session (the pipelines' benchmark master), data in a fresh folder."""
    from caudal.settings import Settings
    from caudal.streaming.session import spark_session

    work = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    return spark_session(Settings(data_dir=work, spark_master="local[2]"), name)


def cached_records(
    spark: Any,
    rows: list[tuple[Any, ...]],
    schema: str = "value binary, partition int, offset long",
) -> Any:
    """Kafka-like rows (``schema``'s columns of Spark's Kafka source, by default ``value,
    partition, offset``) as a cached DataFrame in two partitions (``local[2]``): a stage
    benchmark's input, read from memory every run."""
    records = spark.createDataFrame(rows, schema)
    records = records.repartition(2).cache()
    records.count()
    return records


def noop(df: Any) -> Callable[[], None]:
    """A batch job computing every row of ``df`` and writing nowhere: a stage's cost alone."""
    return lambda: df.write.format("noop").mode("overwrite").save()


def time_stages(
    title: str,
    stages: list[tuple[str, Callable[[], object]]],
    count: int,
    unit: str,
    repeat: int,
    runs: str = "batch jobs to `noop`",
) -> None:
    """Print ``title``'s table, a row per stage: ``runs`` (by default batch jobs to ``noop``)
    over ``count`` records, best of ``repeat`` after a warm-up run (code generation, first-run
    JIT, a model's loading), in seconds, µs per ``unit`` and ``unit``s per second."""
    print(f"\n### {title} — {machine()}\n")
    print(f"{count:,} {unit}s, {runs}, best of {repeat}\n")
    print(f"| stage | seconds | µs per {unit} | {unit}s/s |\n|---|---|---|---|")
    for name, job in stages:
        job()
        seconds = best_of(job, repeat)
        print(
            f"| {name} | {seconds:.2f} | {seconds / count * 1e6:.1f} | {count / seconds:,.0f} |",
            flush=True,
        )


class PeakMemory:
    """Peak resident memory of the whole run, sampled twice a second.

    The run is this process and all its descendants (Spark's JVM, its Python workers, servers
    a command starts) plus ``extra`` pids and every process whose command line names ``match``
    (the embedded broker: started in its own session, its config under the run's folder).
    """

    def __init__(self, extra: Iterable[int] = (), match: str | None = None) -> None:
        self.extra, self.match = list(extra), match
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def add(self, pids: Iterable[int]) -> None:
        self.extra.extend(pids)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_bytes = max(self.peak_bytes, self._now())

    def _now(self) -> int:
        total = 0
        for proc in self._processes():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _processes(self) -> Iterator[psutil.Process]:
        seen: set[int] = set()
        roots = [os.getpid(), *self.extra]
        if self.match:
            for proc in psutil.process_iter(["cmdline"]):
                if any(self.match in part for part in proc.info["cmdline"] or ()):
                    roots.append(proc.pid)
        for pid in roots:
            try:
                root = psutil.Process(pid)
                family = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            for proc in family:
                if proc.pid not in seen:
                    seen.add(proc.pid)
                    yield proc


def rows_per_s(batches: list[dict[str, Any]]) -> float:
    """Input rows/s of ``batches`` (Spark's progress events) over their own durations: over a
    backlog no batch waits for the next, so this is the query's rate."""
    seconds = sum(b["batchDuration"] for b in batches) / 1000
    return sum(b["numInputRows"] for b in batches) / seconds if seconds else float("nan")


def batch_commits(checkpoint: Path) -> dict[int, float]:
    """When each micro-batch of a query ended: its commit file's time, by batch id."""
    return {int(p.name): p.stat().st_mtime for p in (checkpoint / "commits").glob("[0-9]*")}


@dataclass
class Goal:
    """One row of the summary table: a measured figure against its goal."""

    measure: str
    figure: float
    goal: float
    unit: str
    higher_is_better: bool = True

    @property
    def met(self) -> bool:
        if self.higher_is_better:
            return self.figure >= self.goal
        return self.figure < self.goal


@dataclass
class Result:
    """A benchmark run as the summary table needs it."""

    pipeline: str
    command: str
    goals: list[Goal]
    peak_memory_mb: float
    machine: str = field(default_factory=machine)

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.pipeline}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> Result:
        raw = json.loads(path.read_text())
        raw["goals"] = [Goal(**g) for g in raw["goals"]]
        return cls(**raw)


class QueryProgress:
    """Every micro-batch's progress of this session's queries, as Spark reports it.

    Register before the run on a session the benchmark made itself (the runner leaves a
    session it did not make running, so the listener bus can deliver the last batches).
    """

    def __init__(self, spark: Any) -> None:
        from pyspark.sql.streaming import StreamingQueryListener

        batches: list[dict[str, Any]] = []

        class Collect(StreamingQueryListener):
            def onQueryStarted(self, event: Any) -> None:  # noqa: N802 (Spark's names)
                pass

            def onQueryProgress(self, event: Any) -> None:  # noqa: N802
                batches.append(json.loads(event.progress.json))

            def onQueryIdle(self, event: Any) -> None:  # noqa: N802
                pass

            def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
                pass

        self.batches = batches
        spark.streams.addListener(Collect())

    def busy(self, query: str | None = None) -> list[dict[str, Any]]:
        return [
            b
            for b in self.batches
            if b["numInputRows"] > 0 and (query is None or b.get("name") == query)
        ]

    def wait_for_rows(self, rows: int, timeout_s: float = 30) -> None:
        """Until the listener bus has delivered batches covering ``rows`` input rows."""
        deadline = time.monotonic() + timeout_s
        while sum(b["numInputRows"] for b in self.busy()) < rows and time.monotonic() < deadline:
            time.sleep(0.2)

    def steady_rate(self, query: str | None = None) -> float:
        """Rows/s of the batches after the first (Spark's start-up excluded)."""
        return rows_per_s(self.busy(query)[1:])

    def breakdown(self, skip_first: bool = True) -> str:
        """Median ms per batch of each part Spark times, and of each state operator's update
        and commit: where a batch's time goes."""
        batches = self.busy()[1:] if skip_first else self.busy()
        parts: dict[str, list[float]] = {}
        for b in batches:
            for key, ms in b["durationMs"].items():
                parts.setdefault(key, []).append(ms)
            for op in b.get("stateOperators", []):
                name = op["operatorName"]
                parts.setdefault(f"{name} updates", []).append(op["allUpdatesTimeMs"])
                parts.setdefault(f"{name} commit", []).append(op["commitTimeMs"])
        ranked = sorted(((float(np.median(v)), k) for k, v in parts.items()), reverse=True)
        return ", ".join(f"{k} {ms:,.0f}" for ms, k in ranked if ms >= 1)
