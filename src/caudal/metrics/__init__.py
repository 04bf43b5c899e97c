"""Prometheus metrics of a running pipeline, served at ``http://127.0.0.1:PORT/metrics``.

Every pipeline gets the same feed and query series (so one Grafana dashboard shape fits all):
records produced and rejected by reason, and per streaming query the micro-batch duration,
input and processing rates, rows dropped by the watermark (late data) and state rows, taken
from Spark's own progress reports through a ``StreamingQueryListener``. A pipeline adds its
own series with ``gauge``/``histogram`` on the same registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

HOST = "127.0.0.1"


class PipelineMetrics:
    """One registry per run, labelled with the pipeline's name."""

    def __init__(self, pipeline: str) -> None:
        self.pipeline = pipeline
        self.registry = CollectorRegistry()
        self.records = Counter(
            "caudal_feed_records_total",
            "Records produced by the pipeline's feeders.",
            ["pipeline", "feed"],
            registry=self.registry,
        )
        self.rejects = Counter(
            "caudal_feed_rejects_total",
            "Input rejected to the dead-letter topic, by reason.",
            ["pipeline", "reason"],
            registry=self.registry,
        )
        self.reconnects = Counter(
            "caudal_feed_reconnects_total",
            "Reconnections of a feed to its source.",
            ["pipeline", "feed"],
            registry=self.registry,
        )
        labels = ["pipeline", "query"]
        self.batch_seconds = self.gauge(
            "caudal_query_batch_duration_seconds", "Last micro-batch duration.", labels
        )
        self.input_rate = self.gauge(
            "caudal_query_input_rows_per_second", "Input rate of the last batch.", labels
        )
        self.processed_rate = self.gauge(
            "caudal_query_processed_rows_per_second", "Processing rate of the last batch.", labels
        )
        self.state_rows = self.gauge(
            "caudal_query_state_rows", "Rows held in the query's state store.", labels
        )
        self.late_rows = Counter(
            "caudal_query_late_rows_total",
            "Rows dropped because they arrived after the watermark (late data).",
            labels,
            registry=self.registry,
        )
        self._server: Any = None

    def gauge(self, name: str, doc: str, labels: Sequence[str]) -> Gauge:
        return Gauge(name, doc, list(labels), registry=self.registry)

    def histogram(
        self, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        return Histogram(name, doc, list(labels), buckets=list(buckets), registry=self.registry)

    def serve(self, port: int) -> str:
        """Start the HTTP endpoint (loopback only); returns its URL."""
        self._server, _ = start_http_server(port, addr=HOST, registry=self.registry)
        return f"http://{HOST}:{port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def observe_progress(self, progress: Any) -> None:
        """One ``StreamingQueryProgress`` of this pipeline's queries into the query series."""
        owner, _, query = (progress.name or "").partition(".")
        if owner != self.pipeline:
            return
        labels = (self.pipeline, query)
        self.batch_seconds.labels(*labels).set(progress.batchDuration / 1000)
        self.input_rate.labels(*labels).set(_finite(progress.inputRowsPerSecond))
        self.processed_rate.labels(*labels).set(_finite(progress.processedRowsPerSecond))
        operators = list(progress.stateOperators or [])
        self.state_rows.labels(*labels).set(sum(op.numRowsTotal for op in operators))
        late = sum(op.numRowsDroppedByWatermark for op in operators)
        if late:
            self.late_rows.labels(*labels).inc(late)

    def listener(self) -> Any:
        """A Spark ``StreamingQueryListener`` feeding ``observe_progress``."""
        from pyspark.sql.streaming import StreamingQueryListener

        metrics = self

        class ProgressListener(StreamingQueryListener):
            def onQueryStarted(self, event: Any) -> None:  # noqa: N802 (Spark's names)
                pass

            def onQueryProgress(self, event: Any) -> None:  # noqa: N802
                metrics.observe_progress(event.progress)

            def onQueryIdle(self, event: Any) -> None:  # noqa: N802
                pass

            def onQueryTerminated(self, event: Any) -> None:  # noqa: N802
                pass

        return ProgressListener()


def _finite(value: float | None) -> float:
    return float(value) if value is not None and value == value else 0.0
