"""Runs a pipeline: broker, topics, Spark, feeders, queries, progress, clean shutdown.

The runner owns every name and path a query gets (``names``): its Spark name, checkpoint and
consumer group. It calls the pipeline's ``start`` hook, opens every sink before any query
starts, starts each query (a query with ``starts_when`` once that says so) and closes the sinks
after the queries stop. All of it runs on the driver.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import broker_session
from caudal.broker.exceptions import BrokerError
from caudal.errors import CaudalError
from caudal.pipelines import names, run_status
from caudal.pipelines.base import JobContext, Pipeline, QuerySpec
from caudal.pipelines.feeder import FeedCounters, Feeder
from caudal.pipelines.progress import ProgressView, QueryStats
from caudal.settings import Settings
from caudal.sinks.base import SinkContext

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery


@dataclass
class RunSummary:
    pipeline: str
    seconds: float
    produced: int
    written: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    startup_s: float | None = None
    """From the start of the run to the end of the first micro-batch (broker, Spark, jars,
    the query's first plan); None when no batch ran."""


def run_pipeline(
    pipeline: Pipeline, settings: Settings, once: bool, view: ProgressView | None = None
) -> RunSummary:
    """Run until the feeders are done and every query has caught up (``once``) or Ctrl-C."""
    notes: list[str] = []
    started = time.monotonic()
    with broker_session(settings, notes) as bootstrap:
        admin = TopicAdmin(settings, bootstrap)
        for topic in pipeline.topics:
            admin.create(topic.name, topic.partitions, topic.config, exist_ok=True)
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
        watch = _Watch(
            pipeline, spark, ctx, admin, counters, view or ProgressView(pipeline.name, notes)
        )
        try:
            if pipeline.start is not None:
                pipeline.start(spark, ctx)
            for query in pipeline.queries:
                _open_sink(query, spark, ctx)
            watch.start_ready()
            with watch.view:
                watch.until_done(once)
        finally:
            stop.set()
            run_status.withdraw(settings, pipeline.name)
            for q in watch.started():
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
        None if watch.first_batch_at is None else watch.first_batch_at - started,
    )


def _start_feeder(
    feeder: Feeder, conf: dict[str, Any], stop: threading.Event, counters: FeedCounters
) -> threading.Thread:
    def body() -> None:
        try:
            feeder.run(conf, stop, counters)
        finally:
            counters.done = True

    thread = threading.Thread(target=body, name=f"feeder-{feeder.name}", daemon=True)
    thread.start()
    return thread


def _open_sink(spec: QuerySpec, spark: SparkSession, ctx: JobContext) -> None:
    """Before any query starts, so a sink's checks fail the run at once, not when a query
    that waits to start gets its turn."""
    checkpoint = names.checkpoint(ctx.settings, ctx.pipeline, spec.name)
    spec.sink.open(SinkContext(spark, checkpoint, client_config(ctx.settings, ctx.bootstrap)))


def _start_query(spec: QuerySpec, spark: SparkSession, ctx: JobContext) -> StreamingQuery:
    """Build the DataFrame, start the query under the runner's names (its sink is open)."""
    checkpoint = names.checkpoint(ctx.settings, ctx.pipeline, spec.name)
    df = spec.build(spark, ctx)
    with _query_conf(spark, _shuffle_partitions(spec, ctx.settings)), _pool(spark, spec.pool):
        return (
            df.writeStream.queryName(names.query_name(ctx.pipeline, spec.name))
            .option("checkpointLocation", str(checkpoint))
            .foreachBatch(spec.sink.write)
            .trigger(processingTime=f"{spec.trigger_s} seconds")
            .start()
        )


@contextmanager
def _pool(spark: SparkSession, pool: str | None) -> Iterator[None]:
    """The scheduler pool of the query being started: its thread inherits the caller's local
    properties at ``start()``, and ``foreachBatch`` runs its jobs on that thread."""
    key = "spark.scheduler.pool"
    spark.sparkContext.setLocalProperty(key, pool)  # type: ignore[arg-type]  # None clears it
    try:
        yield
    finally:
        spark.sparkContext.setLocalProperty(key, None)  # type: ignore[arg-type]


def _shuffle_partitions(spec: QuerySpec, settings: Settings) -> dict[str, str]:
    key = "spark.sql.shuffle.partitions"
    if spec.state_partitions is None or key in settings.spark_conf:
        return {}
    return {key: str(spec.state_partitions)}


@contextmanager
def _query_conf(spark: SparkSession, conf: dict[str, str]) -> Iterator[None]:
    """Session conf for the query being started only: ``start()`` clones the session's conf
    into the query, so the session's own values are put back right after."""
    before = {key: spark.conf.get(key, None) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, previous in before.items():
            if previous is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, previous)


class _Watch:
    """The run's view of its queries: their start, progress shown and published, and the
    ``--once`` end."""

    def __init__(
        self,
        pipeline: Pipeline,
        spark: SparkSession,
        ctx: JobContext,
        admin: TopicAdmin,
        counters: dict[str, FeedCounters],
        view: ProgressView,
    ) -> None:
        self.pipeline, self.spark, self.ctx, self.admin = pipeline, spark, ctx, admin
        self.settings = ctx.settings
        self.counters, self.view = counters, view
        self.queries: list[StreamingQuery | None] = [None] * len(pipeline.queries)
        """Each spec's query, None until it starts."""
        self.targets: dict[str, dict[tuple[str, int], int]] = {}
        self.reached_at: dict[str, int] = {}
        self.first_batch_at: float | None = None
        """``time.monotonic()`` when a query was first seen past its first batch."""

    def started(self) -> list[StreamingQuery]:
        return [q for q in self.queries if q is not None]

    def start_ready(self) -> None:
        """Start each query not started yet whose ``starts_when`` (if any) says it may."""
        for k, spec in enumerate(self.pipeline.queries):
            if self.queries[k] is None and (spec.starts_when is None or spec.starts_when()):
                self.queries[k] = _start_query(spec, self.spark, self.ctx)

    def until_done(self, once: bool) -> None:
        while True:
            for q in self.started():
                _raise_if_failed(q)
            for name, counters in self.counters.items():
                _raise_if_feed_failed(name, counters)
            try:
                self.start_ready()
                if self.step(once):
                    return
            except BrokerError as exc:
                # Spark's Kafka clients retry by themselves; the run waits with them and fails
                # only when a query does (a broker back within Spark's retries loses nothing)
                self.view.broker_down(str(exc))
            time.sleep(0.5)

    def step(self, once: bool) -> bool:
        """One look at the queries: progress shown; True once a ``--once`` run is complete."""
        pairs = list(zip(self.queries, self.pipeline.queries, strict=True))
        stats = [self._stats(q, spec) for q, spec in pairs]
        if self.first_batch_at is None and any(s.batch >= 0 for s in stats):
            self.first_batch_at = time.monotonic()
        self.view.update(self.counters, stats)
        run_status.publish(self.settings, self.pipeline.name, stats)
        if not (once and all(c.done for c in self.counters.values())):
            return False
        if not self.targets:  # the input ends once every feeder is done
            self.targets.update({spec.name: self._ends(spec.inputs) for _, spec in pairs})
        for q, spec in pairs:
            if q is None or (spec.after is not None and spec.after not in self.reached_at):
                continue
            caught_up = spec.caught_up is None or spec.caught_up()
            if spec.name not in self.reached_at and caught_up and self._reached(q, spec):
                self.reached_at[spec.name] = _batch(q)
        return all(
            q is not None
            and spec.name in self.reached_at
            and (not spec.stateful or _batch(q) > self.reached_at[spec.name])
            for q, spec in pairs
        )

    def _ends(self, topics: list[str]) -> dict[tuple[str, int], int]:
        return {(p.topic, p.partition): p.end for t in topics for p in self.admin.partitions(t)}

    def _reached(self, q: StreamingQuery, spec: QuerySpec) -> bool:
        done = _committed(q)
        return all(done.get(tp, 0) >= off for tp, off in self.targets[spec.name].items() if off)

    def _stats(self, q: StreamingQuery | None, spec: QuerySpec) -> QueryStats:
        if q is None:
            name = names.query_name(self.pipeline.name, spec.name)
            return QueryStats(name, -1, 0.0, 0.0, 0, 0, spec.sink.rows_written, state="waiting")
        progress = _progress(q)
        done = _committed(q)
        self.admin.commit_offsets(
            names.consumer_group(self.settings, self.pipeline.name, spec.name), done
        )
        ends = self._ends(spec.inputs)
        return QueryStats(
            name=q.name or "?",
            batch=int(progress.get("batchId", -1)),
            input_rate=float(progress.get("inputRowsPerSecond") or 0.0),
            process_rate=float(progress.get("processedRowsPerSecond") or 0.0),
            batch_ms=int((progress.get("durationMs") or {}).get("triggerExecution", 0)),
            lag=sum(max(end - done.get(tp, 0), 0) for tp, end in ends.items()),
            rows_written=spec.sink.rows_written,
            rows_by=dict(spec.sink.rows_by),
            state_rows=sum(
                int(op.get("numRowsTotal", 0)) for op in progress.get("stateOperators", [])
            ),
            last_progress=str(progress.get("timestamp", "")),
        )


def _raise_if_failed(q: StreamingQuery) -> None:
    """A failed query becomes one line: Caudal's own error when a sink raised one (its reason
    names the cause), else the innermost error Spark reported, not its plan."""
    exc = q.exception()
    if exc is None:
        return
    text = str(exc)
    own = [m[1] for m in re.finditer(r"^\s*caudal\.[\w.]+: (.+)$", text, re.MULTILINE)]
    messages = [ln.strip() for ln in text.splitlines() if not ln.strip().startswith("at ")]
    lines = [ln for ln in messages if re.search(r"Error|Exception:|error:", ln, re.IGNORECASE)]
    reason = (own[-1] if own else lines[-1] if lines else text.splitlines()[0])[:400]
    raise CaudalError(
        f"query {q.name} failed: {reason}",
        "see the full error in the Spark log; its checkpoint is kept, rerun to resume",
    )


def _raise_if_feed_failed(name: str, counters: FeedCounters) -> None:
    """A feeder whose source failed ends the run: its input would silently stop short."""
    if counters.error is not None:
        raise CaudalError(
            f"feed {name} failed: {counters.error}",
            "the queries' checkpoints are kept; fix the source and rerun to resume",
        ) from counters.error


def _progress(q: StreamingQuery) -> dict[str, Any]:
    """The last progress report as a plain dict (empty before the first batch)."""
    return dict(q.lastProgress or {})


def _batch(q: StreamingQuery) -> int:
    return int(_progress(q).get("batchId", -1))


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
