"""``caudal images submit``: files and folders through the page's batch path, then their rows.

Runs in the CLI's process. Each file goes exactly as a page upload goes (``BatchUploader``:
object store → ``images.requests``), in chunks of ``CHUNK`` files so a large folder is never
held in memory at once; the Spark job (``caudal run images``) classifies it into
``predictions``, where ``wait_rows`` follows the session until every request has its row.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from caudal.errors import CaudalError
from caudal.pipelines.images.results import load_session
from caudal.pipelines.images.upload import BatchUploader, Sent, Upload

CHUNK = 32
POLL_S = 0.5


@dataclass(frozen=True)
class SentFile:
    """A file as the user named it, and the request it became."""

    path: Path
    sent: Sent

    @property
    def request_id(self) -> str:
        return self.sent.request.request_id


def collect(paths: list[Path]) -> list[Path]:
    """The files named, and every file under the folders named (sorted, hidden ones skipped).

    A path that does not exist, or a folder with no file, is a ``CaudalError`` before anything
    is sent.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            if not inside:
                raise CaudalError(f"{path}: no files in this folder")
            found += inside
        else:
            raise CaudalError(f"{path}: no such file or folder")
    return found


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def upload(path: Path) -> Upload:
    """The file's bytes, named as the page would name it (the file name, not the path)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CaudalError(f"{path}: cannot read it ({exc.strerror})") from None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Upload(path.name, data, kind)


def send(
    uploader: BatchUploader,
    session_id: str,
    files: list[Path],
    progress: Callable[[int], None] | None = None,
) -> list[SentFile]:
    """Store and send every file, ``CHUNK`` at a time; returns once Kafka acked them all."""
    out: list[SentFile] = []
    for start in range(0, len(files), CHUNK):
        chunk = files[start : start + CHUNK]
        sent = uploader.submit(session_id, [upload(p) for p in chunk], first_index=start)
        out += [SentFile(p, s) for p, s in zip(chunk, sent, strict=True)]
        if progress:
            progress(len(out))
    return out


def wait_rows(
    db: sa.Engine,
    session_id: str,
    request_ids: set[str],
    timeout_s: float,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The session's rows of ``request_ids``, once all are there or ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = load_session(db, session_id)
        mine = frame[frame["request_id"].isin(request_ids)]
        if progress:
            progress(len(mine))
        if len(mine) >= len(request_ids) or time.monotonic() >= deadline:
            return mine
        time.sleep(POLL_S)
