"""Has a file query processed every landing file? Read from its own checkpoint.

Spark's file source logs the files each micro-batch took (``sources/0/<batch>``, compacted
every few batches into ``<batch>.compact``: a version line, then one JSON entry per file); a
batch is done once ``commits/<batch>`` exists. ``--once`` stops when every visible landing file
is in a committed batch. The same log names the files of a batch that yield no row at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse


def landing_files(folder: Path) -> set[str]:
    """Files a reader may take: complete ones, not hidden or temporary names."""
    if not folder.is_dir():
        return set()
    return {
        str(p.resolve())
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "_"))
    }


def _entries(checkpoint: Path) -> Iterator[tuple[int, str]]:
    """(batch id, local path) of every file the source logged."""
    for log in (checkpoint / "sources" / "0").glob("*"):
        if log.name.startswith("."):
            continue
        for line in log.read_text().splitlines()[1:]:
            entry = json.loads(line)
            yield int(entry.get("batchId", 0)), unquote(urlparse(entry["path"]).path)


def committed_files(checkpoint: Path) -> set[str]:
    commits = [int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()]
    if not commits:
        return set()
    last = max(commits)
    return {path for batch, path in _entries(checkpoint) if batch <= last}


def empty_files(checkpoint: Path, batch_id: int) -> list[str]:
    """Files of one micro-batch that are empty: Spark makes no split, so no row, for those."""
    return sorted(
        path
        for batch, path in _entries(checkpoint)
        if batch == batch_id and Path(path).is_file() and Path(path).stat().st_size == 0
    )


def all_files_committed(folder: Path, checkpoint: Path) -> bool:
    return landing_files(folder) <= committed_files(checkpoint)


def backlog(folder: Path, checkpoint: Path) -> Callable[[], bool]:
    """A check that the files present now are all committed (files landing later not awaited)."""
    present = landing_files(folder)
    return lambda: present <= committed_files(checkpoint)
