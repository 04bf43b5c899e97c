"""Has a query read all of its input? Read from its own checkpoint, not asked of Spark.

Spark's file source logs the files it hands out (``sources/0/<index>``, compacted every few
entries into ``<index>.compact``: a version line, then one JSON entry per file); the query's
``offsets/<batch>`` says up to which index a batch read, and the batch is done once
``commits/<batch>`` exists. ``--once`` stops when every visible landing file
is in a committed batch. The same log names the files of a batch that yield no row at all.
A query reading a Delta table as a stream (silver reads bronze) logs the table version it has
read up to in its offsets; it has read everything once that is past the table's last data
commit.
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


def logged_files(checkpoint: Path) -> Iterator[tuple[int, str]]:
    """(source log index, local path) of every file the source logged."""
    for log in (checkpoint / "sources" / "0").glob("*"):
        if log.name.startswith("."):
            continue
        for line in log.read_text().splitlines()[1:]:
            entry = json.loads(line)
            yield int(entry.get("batchId", 0)), unquote(urlparse(entry["path"]).path)


def _log_offset(checkpoint: Path, batch: int) -> int:
    """The file source's log index a query batch read up to (``offsets/<batch>``'s
    ``logOffset``). Not always the batch id: a query killed between the source's log entry
    and its own offset entry replans that batch with the next file too, one index ahead."""
    path = checkpoint / "offsets" / str(batch)
    if batch < 0 or not path.exists():
        return batch
    return int(json.loads(path.read_text().splitlines()[-1])["logOffset"])


def committed_files(checkpoint: Path) -> set[str]:
    commits = [int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()]
    if not commits:
        return set()
    last = _log_offset(checkpoint, max(commits))
    return {path for index, path in logged_files(checkpoint) if index <= last}


def empty_files(checkpoint: Path, batch_id: int) -> list[str]:
    """Files of one micro-batch that are empty: Spark makes no split, so no row, for those."""
    first, last = _log_offset(checkpoint, batch_id - 1), _log_offset(checkpoint, batch_id)
    return sorted(
        path
        for index, path in logged_files(checkpoint)
        if first < index <= last and Path(path).is_file() and Path(path).stat().st_size == 0
    )


def all_files_committed(folder: Path, checkpoint: Path) -> bool:
    return landing_files(folder) <= committed_files(checkpoint)


def files_waiting(folder: Path, checkpoint: Path) -> bool:
    return not all_files_committed(folder, checkpoint)


def last_data_version(table: Path) -> int:
    """The newest version of a Delta table that added files (-1: none yet), from its log."""
    log = table / "_delta_log"
    commits = sorted((int(p.stem) for p in log.glob("*.json") if p.stem.isdigit()), reverse=True)
    for version in commits:
        if '"add"' in (log / f"{version:020d}.json").read_text():
            return version
    return -1


def read_up_to(checkpoint: Path) -> int:
    """The first Delta version a query reading a table as a stream has not read entirely.

    Its source's offset in the last committed batch, ``reservoirVersion``: Delta's source
    moves it to the next version (``index`` -1) once the last file of a version is read, and
    stays on a version it has read in part (-1: no batch committed)."""
    commits = [int(p.name) for p in (checkpoint / "commits").glob("*") if p.name.isdigit()]
    if not commits:
        return -1
    offset = json.loads((checkpoint / "offsets" / str(max(commits))).read_text().splitlines()[-1])
    return int(offset["reservoirVersion"])


def has_read(table: Path, checkpoint: Path) -> bool:
    """Has the query of ``checkpoint`` read every row the table has now?"""
    return read_up_to(checkpoint) > last_data_version(table)


def silver_backlog(
    folder: Path, bronze_checkpoint: Path, bronze: Path, silver_checkpoint: Path
) -> Callable[[], bool]:
    """A check that the files present now are all in silver: committed to bronze, then read
    by the silver query (files landing later not awaited)."""
    present = landing_files(folder)
    loaded: list[int] = []

    def done() -> bool:
        if not loaded:
            if not present <= committed_files(bronze_checkpoint):
                return False
            loaded.append(last_data_version(bronze))
        return read_up_to(silver_checkpoint) > loaded[0]

    return done
