"""Object keys ``uploads/YYYYMMDD/<session>/<sanitised file name>``, safe on any store.

A user's file name is never trusted: directory parts (``../``, ``C:\\``), control characters
and anything outside a conservative alphabet are dropped or replaced, so a key can neither
escape its session's prefix in a folder store nor confuse an S3 path. The original name is
kept only as data (the Kafka message, the table), never as a path.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

MAX_NAME = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_SESSION = re.compile(r"^[A-Za-z0-9-]{1,64}$")


def sanitise_name(name: str) -> str:
    """A file name reduced to ``[A-Za-z0-9._-]``, no leading dots, never empty."""
    base = re.split(r"[\\/]", name)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_name).strip("._") or "upload"
    if len(cleaned) > MAX_NAME:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = (stem[: MAX_NAME - len(ext) - 1] + dot + ext) if dot else cleaned[:MAX_NAME]
    return cleaned


def valid_session(session_id: str) -> bool:
    """Session ids are made by the page (uuid4 hex); anything else is refused, not cleaned."""
    return bool(_SESSION.match(session_id))


def object_key(session_id: str, file_name: str, when: datetime, index: int) -> str:
    """The key of one upload; ``index`` keeps two files with the same name apart."""
    if not valid_session(session_id):
        raise ValueError(f"invalid session id {session_id!r}")
    return f"uploads/{when:%Y%m%d}/{session_id}/{index:05d}-{sanitise_name(file_name)}"
