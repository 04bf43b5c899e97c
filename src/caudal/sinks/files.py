"""File sinks: one appended CSV/JSON-lines file, or a Parquet dataset with a file per batch.

Both run on the driver, inside ``foreachBatch``: the rows are collected there, which suits
result tables of modest size.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from caudal.sinks.base import BatchResult, BatchSink
from caudal.sinks.batch_log import BatchLog, FileIntent

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


class AppendFileSink(BatchSink):
    """Appends each batch to one ``.csv`` or ``.jsonl`` file, exactly once.

    Before appending, the file size is recorded as the batch's intent; a replayed batch first
    truncates the file back to that size, removing whatever the interrupted attempt wrote.
    With ``unique_key``, a row whose key is already in the file is not written again (for
    sources that may deliver one entity twice, e.g. an input file re-sent after a crash).
    """

    def __init__(self, path: Path, name: str | None = None, unique_key: str | None = None) -> None:
        super().__init__(name or path.name)
        self.path = path
        self.format = "csv" if path.suffix == ".csv" else "jsonl"
        self.unique_key = unique_key
        self._seen: set[Any] | None = None

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> BatchResult:
        frame: pd.DataFrame = df.toPandas()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        intent = log.intent(batch_id, FileIntent)
        size = self.path.stat().st_size if self.path.exists() else 0
        start = intent.start if intent else size
        if intent is None:
            log.record_intent(batch_id, FileIntent(start))
        elif start != size:
            self._seen = None
        with self.path.open("a+b") as fh:
            fh.truncate(start)
            frame = self._unseen(frame)
            fh.seek(start)
            fh.write(self._encode(frame, header=start == 0))
            fh.flush()
            os.fsync(fh.fileno())
        return BatchResult(len(frame))

    def _unseen(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.unique_key is None or frame.empty:
            return frame
        if self._seen is None:
            self._seen = set(self._read_keys())
        frame = frame.drop_duplicates(self.unique_key)
        frame = frame[~frame[self.unique_key].isin(self._seen)]
        self._seen.update(frame[self.unique_key].tolist())
        return frame

    def _read_keys(self) -> list[Any]:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return []
        if self.format == "csv":
            return pd.read_csv(self.path, usecols=[self.unique_key])[self.unique_key].tolist()
        return pd.read_json(self.path, lines=True)[self.unique_key].tolist()

    def _encode(self, frame: pd.DataFrame, header: bool) -> bytes:
        if frame.empty:
            return b""
        if self.format == "csv":
            return frame.to_csv(index=False, header=header).encode()
        text = frame.to_json(orient="records", lines=True, date_format="iso")
        return (text if text.endswith("\n") else text + "\n").encode()


class ParquetSink(BatchSink):
    """A Parquet dataset directory: ``part-<batch>.parquet`` per batch, replaced atomically.

    With ``unique_key``, rows whose key is in another part already are not written again.
    """

    def __init__(self, path: Path, name: str | None = None, unique_key: str | None = None) -> None:
        super().__init__(name or path.name)
        self.path = path
        self.unique_key = unique_key

    def write_batch(self, df: DataFrame, batch_id: int, log: BatchLog) -> BatchResult:
        frame: pd.DataFrame = df.toPandas()
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"part-{batch_id:08d}.parquet"
        if self.unique_key is not None and not frame.empty:
            seen = self._keys(exclude=target)
            frame = frame.drop_duplicates(self.unique_key)
            frame = frame[~frame[self.unique_key].isin(seen)]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        tmp = self.path / f".part-{batch_id:08d}.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, target)
        return BatchResult(table.num_rows)

    def _keys(self, exclude: Path) -> set[Any]:
        assert self.unique_key is not None
        keys: set[Any] = set()
        for part in self.path.glob("part-*.parquet"):
            if part != exclude:
                keys.update(pq.read_table(part, columns=[self.unique_key]).column(0).to_pylist())
        return keys


def file_sink(path: Path, name: str | None = None, unique_key: str | None = None) -> BatchSink:
    """The right file sink for ``path``'s extension (.csv, .jsonl/.json, .parquet)."""
    if path.suffix == ".parquet":
        return ParquetSink(path, name, unique_key)
    return AppendFileSink(path, name, unique_key)
