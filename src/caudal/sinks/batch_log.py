"""The commit log that makes a sink idempotent per micro-batch.

Kept inside the query's checkpoint (``<checkpoint>/sinks/<sink>``), because the checkpoint is
the query's identity: a new checkpoint is a new query and starts a new log. Each batch has an
optional *intent* (written before the sink touches its output, so a replay can undo or skip a
partial write) and a *commit* (written after the output is durable). Files are replaced
atomically, so a crash leaves either the old or the new marker, never half of one. Runs on
the driver.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class FileIntent:
    """An append is about to start at byte ``start`` of the file."""

    start: int


@dataclass(frozen=True)
class TransactionIntent:
    """A Kafka transaction of producer ``transactional_id`` is about to carry the batch."""

    transactional_id: str


Intent = TypeVar("Intent", FileIntent, TransactionIntent)


class BatchLog:
    """``intent/<batch>`` and ``commit/<batch>`` JSON markers under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "intent").mkdir(parents=True, exist_ok=True)
        (directory / "commit").mkdir(parents=True, exist_ok=True)

    def committed(self, batch_id: int) -> bool:
        return (self.directory / "commit" / str(batch_id)).exists()

    def intent(self, batch_id: int, kind: type[Intent]) -> Intent | None:
        """The intent recorded for ``batch_id`` (None: the batch was never started)."""
        path = self.directory / "intent" / str(batch_id)
        return kind(**json.loads(path.read_text())) if path.exists() else None

    def record_intent(self, batch_id: int, intent: FileIntent | TransactionIntent) -> None:
        atomic_write(self.directory / "intent" / str(batch_id), json.dumps(asdict(intent)))

    def commit(self, batch_id: int, facts: dict[str, Any] | None = None) -> None:
        atomic_write(self.directory / "commit" / str(batch_id), json.dumps(facts or {}))
