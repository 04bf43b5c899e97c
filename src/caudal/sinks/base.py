"""The sink contract every pipeline uses.

``BatchSink.write`` is called from ``foreachBatch`` with the micro-batch and its id. The
guarantee: after any number of crashes and restarts of the query, each batch's rows are in the
output exactly once. A batch already committed in the log is skipped; a batch with an intent
but no commit was interrupted, and the subclass's ``write_batch`` must make its replay clean
(overwrite by batch, truncate to the recorded position, or skip what is already there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caudal.sinks.batch_log import BatchLog

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class BatchSink(ABC):
    """One output of a streaming query; ``name`` is unique within the query."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows_written = 0
        self.batches_skipped = 0
        self.rows_by: dict[str, int] = {}
        """Rows per output (e.g. per topic) when ``write_batch`` reports them as ``by``."""

    def bind(self, checkpoint: Path) -> Callable[[DataFrame, int], None]:
        """The ``foreachBatch`` function for a query checkpointed at ``checkpoint``."""
        log = BatchLog(checkpoint / "sinks" / self.name)

        def run(df: DataFrame, batch_id: int) -> None:
            if log.committed(batch_id):
                self.batches_skipped += 1
                return
            facts = self.write_batch(df, batch_id, log)
            self.rows_written += int(facts.get("rows", 0))
            for output, rows in facts.get("by", {}).items():
                self.rows_by[output] = self.rows_by.get(output, 0) + int(rows)
            log.commit(batch_id, facts)

        return run

    def close(self) -> None:  # noqa: B027 - most sinks hold no client between batches
        """Release clients; the runner calls it once the query has stopped (driver)."""

    @abstractmethod
    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> dict[str, Any]:
        """Write one batch so that a replay after a crash leaves it exactly once.

        Returns facts for the commit marker; ``rows`` is the number of rows written.
        """
