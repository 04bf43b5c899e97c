"""Runs a pipeline: broker, topics, Spark, feeders, queries, progress, clean shutdown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import (
    resolve_bootstrap,
    running_broker,
    start_broker,
    stop_broker,
    wait_ready,
)
from caudal.broker.exceptions import BrokerError
from caudal.errors import CaudalError
from caudal.pipelines.base import FeedCounters, JobContext, Pipeline, QuerySpec, group_name
from caudal.pipelines.progress import ProgressView, QueryStats
from caudal.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql.streaming import StreamingQuery


@dataclass
class RunSummary:
    pipeline: str
    seconds: float
    produced: int
    written: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)


@contextmanager
def broker_for(settings: Settings, notes: list[str]) -> Iterator[str]:
    """The configured or running broker, else an embedded one stopped again afterwards."""
    if settings.kafka_bootstrap or running_broker(settings):
        bootstrap = resolve_bootstrap(settings)
        wait_ready(settings, bootstrap, settings.kafka_timeout_s)
        yield bootstrap
        return
    info, warnings = start_broker(settings)
    notes.extend(warnings)
    try:
        yield info.bootstrap
    finally:
        stop_broker(settings)


def run_pipeline(
    pipeline: Pipeline, settings: Settings, once: bool, view: ProgressView | None = None
) -> RunSummary:
    """Run until the feeders are done and every query has caught up (``once``) or Ctrl-C."""
    notes: list[str] = []
    started = time.monotonic()
    with broker_for(settings, notes) as bootstrap:
        admin = TopicAdmin(settings, bootstrap)
        for spec in pipeline.topics:
            admin.create(spec.name, spec.partitions, spec.config, exist_ok=True)
        from pyspark import SparkContext

        from caudal.streaming.session import spark_session

        # A session made by the caller (tests, notebooks) is theirs to stop. The active
        # session is thread-local, so a run from another thread must ask the process-wide
        # context instead: stopping the caller's session broke every later query of theirs.
        owns_spark = SparkContext._active_spark_context is None
        spark = spark_session(settings, app_name=f"caudal-{pipeline.name}")
        ctx = JobContext(settings, bootstrap, pipeline.name)
        stop = threading.Event()
        counters = {f.name: FeedCounters() for f in pipeline.feeders}
        threads = [
            _start_feeder(f, client_config(settings, bootstrap), stop, counters[f.name])
            for f in pipeline.feeders
        ]
        queries: list[StreamingQuery] = []
        view = view or ProgressView(pipeline.name, notes)
        try:
            queries.extend(_start_query(spec, spark, ctx) for spec in pipeline.queries)
            with view:
                _watch(pipeline, queries, counters, admin, view, once)
        finally:
            stop.set()
            for q in queries:
                q.stop()
            for query in pipeline.queries:
                query.sink.close()
            for t in threads:
                t.join(timeout=10)
            admin.close()
            if owns_spark:
                spark.stop()
    return RunSummary(
        pipeline.name,
        time.monotonic() - started,
        sum(c.produced for c in counters.values()),
        {spec.name: spec.sink.rows_written for spec in pipeline.queries},
        pipeline.outputs,
    )


def _start_feeder(
    feeder: Any, conf: dict[str, Any], stop: threading.Event, counters: FeedCounters
) -> threading.Thread:
    def body() -> None:
        try:
            feeder.run(conf, stop, counters)
        finally:
            counters.done = True

    thread = threading.Thread(target=body, name=f"feeder-{feeder.name}", daemon=True)
    thread.start()
    return thread


def _start_query(spec: Any, spark: Any, ctx: JobContext) -> StreamingQuery:
    checkpoint = ctx.settings.checkpoint_dir.resolve() / ctx.pipeline / spec.name
    df = spec.build(spark, ctx)
    return (
        df.writeStream.queryName(f"{ctx.pipeline}.{spec.name}")
        .option("checkpointLocation", str(checkpoint))
        .foreachBatch(spec.sink.bind(checkpoint))
        .trigger(processingTime=f"{spec.trigger_s} seconds")
        .start()
    )


def _watch(
    pipeline: Pipeline,
    queries: list[StreamingQuery],
    counters: dict[str, FeedCounters],
    admin: TopicAdmin,
    view: ProgressView,
    once: bool,
) -> None:
    targets: dict[str, dict[tuple[str, int], int]] = {}
    reached_at: dict[str, int] = {}
    while True:
        for q in queries:
            _raise_if_failed(q)
        try:
            if _step(pipeline, queries, counters, admin, view, once, targets, reached_at):
                return
        except BrokerError as exc:
            # Spark's Kafka clients retry by themselves; the run waits with them and fails
            # only when a query does (a broker back within Spark's retries loses nothing)
            view.broker_down(str(exc))
        time.sleep(0.5)


def _step(
    pipeline: Pipeline,
    queries: list[StreamingQuery],
    counters: dict[str, FeedCounters],
    admin: TopicAdmin,
    view: ProgressView,
    once: bool,
    targets: dict[str, dict[tuple[str, int], int]],
    reached_at: dict[str, int],
) -> bool:
    """One look at the queries: progress shown; True once a ``--once`` run is complete."""
    stats = [
        _stats(q, spec, group_name(pipeline.name, spec.name), admin)
        for q, spec in zip(queries, pipeline.queries, strict=True)
    ]
    view.update(counters, stats)
    if not (once and all(c.done for c in counters.values())):
        return False
    if not targets:  # the input ends once every feeder is done
        targets.update({spec.name: _ends(admin, spec.inputs) for spec in pipeline.queries})
    for q, spec in zip(queries, pipeline.queries, strict=True):
        caught_up = spec.caught_up is None or spec.caught_up()
        if spec.name not in reached_at and caught_up and _reached(q, targets[spec.name]):
            reached_at[spec.name] = _batch(q)
    return all(
        spec.name in reached_at and (not spec.stateful or _batch(q) > reached_at[spec.name])
        for q, spec in zip(queries, pipeline.queries, strict=True)
    )


def _raise_if_failed(q: StreamingQuery) -> None:
    """A failed query becomes one line: the innermost error Spark reported, not its plan."""
    exc = q.exception()
    if exc is None:
        return
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if "Error" in ln or "error:" in ln.lower()]
    reason = (lines[-1] if lines else text.splitlines()[0])[:400]
    raise CaudalError(
        f"query {q.name} failed: {reason}",
        "see the full error in the Spark log; its checkpoint is kept, rerun to resume",
    )


def _progress(q: StreamingQuery) -> dict[str, Any]:
    """The last progress report as a plain dict (empty before the first batch)."""
    return dict(q.lastProgress or {})


def _batch(q: StreamingQuery) -> int:
    return int(_progress(q).get("batchId", -1))


def _ends(admin: TopicAdmin, topics: list[str]) -> dict[tuple[str, int], int]:
    return {(p.topic, p.partition): p.end for t in topics for p in admin.partitions(t)}


def _committed(q: StreamingQuery) -> dict[tuple[str, int], int]:
    """Offsets the query has processed, over all its sources."""
    done: dict[tuple[str, int], int] = {}
    for source in _progress(q).get("sources", []):
        end = source.get("endOffset")
        if isinstance(end, str):
            end = json.loads(end)
        kafka = isinstance(end, dict) and all(isinstance(v, dict) for v in end.values())
        if kafka:  # a file source's offset is {"logOffset": n}: not partition offsets
            done.update({(t, int(p)): int(o) for t, parts in end.items() for p, o in parts.items()})
    return done


def _reached(q: StreamingQuery, target: dict[tuple[str, int], int]) -> bool:
    done = _committed(q)
    return all(done.get(tp, 0) >= off for tp, off in target.items() if off > 0)


def _stats(q: StreamingQuery, spec: QuerySpec, group: str, admin: TopicAdmin) -> QueryStats:
    progress = _progress(q)
    done = _committed(q)
    admin.commit_offsets(group, done)
    lag = sum(max(end - done.get(tp, 0), 0) for tp, end in _ends(admin, spec.inputs).items())
    return QueryStats(
        name=q.name or "?",
        batch=int(progress.get("batchId", -1)),
        input_rate=float(progress.get("inputRowsPerSecond") or 0.0),
        process_rate=float(progress.get("processedRowsPerSecond") or 0.0),
        batch_ms=int((progress.get("durationMs") or {}).get("triggerExecution", 0)),
        lag=lag,
        rows_written=spec.sink.rows_written,
        rows_by=dict(spec.sink.rows_by),
    )
