"""Which landing files a file query has committed, read from its checkpoint: also after a kill
that left the file source's log one entry ahead of the query's batch ids (seen in the
lakehouse kill test: batch 1 then read log entries 1 and 2)."""

from __future__ import annotations

import json
from pathlib import Path

from caudal.pipelines.lakehouse.caught_up import all_files_committed, empty_files


def _checkpoint(root: Path, landing: Path, offsets: list[int], committed: int) -> Path:
    checkpoint = root / "checkpoint"
    for folder in ("sources/0", "offsets", "commits"):
        (checkpoint / folder).mkdir(parents=True)
    for index in range(max(offsets) + 1):
        path = landing / f"f{index}.csv"
        path.write_text("" if index == 2 else "a\n1\n")
        entry = {"path": f"file://{path}", "timestamp": 0, "batchId": index}
        (checkpoint / "sources/0" / str(index)).write_text("v1\n" + json.dumps(entry))
    for batch, index in enumerate(offsets):
        (checkpoint / "offsets" / str(batch)).write_text(f'v1\n{{}}\n{{"logOffset":{index}}}')
    for batch in range(committed + 1):
        (checkpoint / "commits" / str(batch)).write_text("v1\n{}")
    return checkpoint


def test_a_batch_that_read_two_log_entries_commits_both(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    checkpoint = _checkpoint(tmp_path, landing, [0, 2, 3], committed=2)
    assert all_files_committed(landing, checkpoint)
    assert empty_files(checkpoint, 1) == [str(landing / "f2.csv")]
    assert empty_files(checkpoint, 2) == []


def test_a_file_of_an_uncommitted_batch_is_not_committed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    checkpoint = _checkpoint(tmp_path, landing, [0, 2, 3], committed=1)
    assert not all_files_committed(landing, checkpoint)
