"""What a running pipeline publishes about its queries, for other processes to show.

Spark's query progress lives in the process that runs the queries; ``caudal status`` and the
UI's Cluster page run elsewhere. The runner writes one small JSON file per running pipeline
(``names.run_status_file``), replaced atomically at each look at its queries and removed when
the run ends; a file whose process is gone (a killed run) is ignored by readers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from caudal.broker.process import pid_alive
from caudal.pipelines.names import run_status_file, runs_dir
from caudal.pipelines.progress import QueryStats
from caudal.settings import Settings
from caudal.sinks.batch_log import atomic_write


@dataclass
class RunStatus:
    """One running pipeline: its process, when it last reported, its queries' progress."""

    pipeline: str
    pid: int
    updated_at: float
    queries: list[QueryStats] = field(default_factory=list)

    @property
    def age_s(self) -> float:
        return max(time.time() - self.updated_at, 0.0)


def publish(settings: Settings, pipeline: str, queries: list[QueryStats]) -> None:
    """Driver: replace this run's status file with the queries' latest progress."""
    path = run_status_file(settings, pipeline)
    path.parent.mkdir(parents=True, exist_ok=True)
    status = RunStatus(pipeline, os.getpid(), time.time(), queries)
    atomic_write(path, json.dumps(asdict(status)))


def withdraw(settings: Settings, pipeline: str) -> None:
    """The run has ended: its queries are no longer running."""
    run_status_file(settings, pipeline).unlink(missing_ok=True)


def running(settings: Settings) -> list[RunStatus]:
    """Every pipeline whose runner is alive, by name."""
    folder = runs_dir(settings)
    found = [_read(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [s for s in found if s is not None and pid_alive(s.pid)]


def _read(path: Path) -> RunStatus | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    queries = [QueryStats(**q) for q in data.pop("queries", [])]
    return RunStatus(**data, queries=queries)
