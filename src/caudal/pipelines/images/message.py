"""One ``images.requests`` record: what the page uploaded and where the bytes are.

JSON (``schemas/request.schema.json`` is the documented schema). A file the page refused to
store still becomes a record, with ``rejected`` saying why, so every file a user submitted
ends as exactly one row of ``predictions`` and a reload of the page shows it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

TOPIC = "images.requests"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "request.schema.json"
SPARK_SCHEMA = (
    "request_id string, session_id string, file_name string, image_url string, "
    "content_type string, size long, sha256 string, uploaded_at timestamp, rejected string"
)


@dataclass(frozen=True)
class ImageRequest:
    request_id: str
    session_id: str
    file_name: str
    image_url: str | None
    content_type: str
    size: int
    sha256: str
    uploaded_at: str
    rejected: str | None = None

    def encode(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False).encode()
