"""The sink contract every pipeline uses.

The runner owns a sink's life, all of it on the driver: ``open`` once the query's checkpoint
and the cluster are known and before the query starts, ``write`` as the query's
``foreachBatch`` function for each micro-batch, ``close`` once the query has stopped. The
guarantee of ``write``: after any number of crashes and restarts of the query, each batch's
rows are in the output exactly once. A batch already committed in the log is skipped; a batch
with an intent but no commit was interrupted, and the subclass's ``write_batch`` must make its
replay clean (overwrite by batch, truncate to the recorded intent, or skip what is there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caudal.sinks.batch_log import BatchLog
from caudal.sinks.exceptions import SinkNotOpen

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class SinkContext:
    """What the runner knows when a query starts: its session, checkpoint and cluster."""

    spark: SparkSession
    checkpoint: Path
    """The query's checkpoint; a sink keeps its batch log under ``sinks/<name>`` in it."""
    kafka: Mapping[str, Any] = field(default_factory=dict)
    """librdkafka settings of the run's cluster (bootstrap, security, timeouts)."""


@dataclass(frozen=True)
class BatchResult:
    """What one ``write_batch`` did; stored as the batch's commit marker."""

    rows: int
    """Rows the batch added to the output."""
    by: Mapping[str, int] = field(default_factory=dict)
    """Rows per output (e.g. per topic), shown as sub-rows of the live table."""
    skipped: bool = False
    """The batch was a replay its output already had in full."""


class BatchSink(ABC):
    """One output of a streaming query; ``name`` is unique within the query."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows_written = 0
        self.batches_skipped = 0
        self.rows_by: dict[str, int] = {}
        self._log: BatchLog | None = None

    def open(self, ctx: SinkContext) -> None:
        """Before the query starts (driver): the batch log; subclasses add their clients and
        tables, and fail here, before any batch, when their output is unusable."""
        self._log = BatchLog(ctx.checkpoint / "sinks" / self.name)

    @property
    def log(self) -> BatchLog:
        """The batch log of the query this sink was opened for."""
        if self._log is None:
            raise SinkNotOpen(
                f"sink {self.name!r} got a batch before it was opened",
                "call open(SinkContext(...)) before the query starts (the runner does)",
            )
        return self._log

    def write(self, df: DataFrame, batch_id: int) -> None:
        """The ``foreachBatch`` function (driver): each batch exactly once, then committed."""
        log = self.log
        if log.committed(batch_id):
            self.batches_skipped += 1
            return
        result = self.write_batch(df, batch_id, log)
        self.rows_written += result.rows
        for output, rows in result.by.items():
            self.rows_by[output] = self.rows_by.get(output, 0) + rows
        log.commit(batch_id, asdict(result))

    def close(self) -> None:  # noqa: B027 - most sinks hold no client between batches
        """Release clients; the runner calls it once the query has stopped (driver)."""

    @abstractmethod
    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> BatchResult:
        """Write one batch (driver; Spark's executors do the DataFrame's work) so that a
        replay after a crash leaves it exactly once."""
