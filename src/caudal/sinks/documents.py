"""Micro-batches of documents into a document store, exactly once by construction.

Rows are ``collection, key, doc`` (``doc``: a JSON object as text). Every write is an upsert
by (collection, key), so a batch replayed after a crash rewrites the very same documents:
no intent is needed, and nothing is ever duplicated. Each document gets ``written_at`` (ms),
the moment it became visible, for latency measurements; it is the one field a replay changes.
Runs on the driver, inside ``foreachBatch`` (the rows are collected there).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from caudal.docstore import Document, DocumentStore
from caudal.sinks.base import BatchResult, BatchSink, SinkContext
from caudal.sinks.batch_log import BatchLog
from caudal.sinks.exceptions import SinkNotOpen

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class DocumentSink(BatchSink):
    """Upserts each batch; ``on_batch`` sees the documents written (e.g. to update metrics)."""

    def __init__(
        self,
        name: str,
        open_store: Callable[[], DocumentStore],
        on_batch: Callable[[dict[str, list[Document]]], None] | None = None,
    ) -> None:
        super().__init__(name)
        self.open_store = open_store
        self.on_batch = on_batch
        self._store: DocumentStore | None = None

    def open(self, ctx: SinkContext) -> None:
        """Connects to the store now: an unreachable store fails before the query starts."""
        super().open(ctx)
        self._store = self.open_store()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> BatchResult:
        frame: pd.DataFrame = df.toPandas()
        now = int(time.time() * 1000)
        groups: dict[str, list[tuple[str, Document]]] = defaultdict(list)
        for collection, key, text in zip(
            frame["collection"], frame["key"], frame["doc"], strict=True
        ):
            groups[collection].append((key, {**json.loads(text), "written_at": now}))
        if self._store is None:
            raise SinkNotOpen(f"sink {self.name!r} has no store", "open it before writing")
        rows = sum(self._store.upsert(c, docs) for c, docs in groups.items())
        if self.on_batch:
            self.on_batch({c: [doc for _, doc in docs] for c, docs in groups.items()})
        return BatchResult(rows)
