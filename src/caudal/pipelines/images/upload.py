"""The sending side of a batch: check each file, store it, send its request to Kafka.

Runs in the page's process (Batch mode) and in ``caudal images submit``'s, the same code for
both. Size checks happen here (a file over the limit is never stored); whether the bytes are
an image is decided once, in the Spark job, so a file's fate has one author. A store failure
rejects that file only; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Producer

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import resolve_bootstrap
from caudal.errors import CaudalError
from caudal.pipelines.images.message import TOPIC, ImageRequest
from caudal.pipelines.images.settings import ImagesSettings
from caudal.settings import Settings
from caudal.storage.base import ObjectStore, StoreError
from caudal.storage.factory import object_store
from caudal.storage.keys import object_key, valid_session

STORE_THREADS = 8
"""Uploads in flight at once: a remote store's round trip (tens of ms) would otherwise
bound a batch to a few dozen files per second."""


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it."""

    name: str
    data: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Sent:
    """What happened to one file at upload time (``rejected`` None: it is on its way)."""

    request: ImageRequest

    @property
    def rejected(self) -> str | None:
        return self.request.rejected


def new_session() -> str:
    return uuid.uuid4().hex


def refusal(size: int, max_bytes: int) -> str | None:
    """Why a file of ``size`` bytes is not stored, or None."""
    if size == 0:
        return "empty file (0 bytes)"
    if size > max_bytes:
        return f"file too large: {size:,} bytes, limit {max_bytes:,} (CAUDAL_IMAGES_MAX_BYTES)"
    return None


class BatchUploader:
    """Stores files and produces their requests; one instance per page process."""

    def __init__(
        self, settings: Settings, store: ObjectStore, producer_conf: dict[str, Any], topic: str
    ) -> None:
        self.settings, self.store, self.topic = settings, store, topic
        self.producer = Producer({**producer_conf, "enable.idempotence": True, "linger.ms": 5})

    def submit(
        self,
        session_id: str,
        files: Iterable[Upload],
        progress: Callable[[int], None] | None = None,
        first_index: int = 0,
    ) -> list[Sent]:
        """Every file becomes one request (sent or rejected); returns after Kafka acked all.

        ``first_index`` numbers the files' object keys when a session is sent in several
        calls, so two files of the same name never share a key.
        """
        if not valid_session(session_id):
            raise CaudalError(f"invalid session id {session_id!r}", "start a new session")
        results = []
        numbered = enumerate(files, start=first_index)
        with ThreadPoolExecutor(STORE_THREADS) as pool:
            stored = pool.map(lambda job: self._store(session_id, *job), numbered)
            for request in stored:
                self.producer.produce(self.topic, request.encode(), key=request.request_id.encode())
                self.producer.poll(0)
                results.append(Sent(request))
                if progress:
                    progress(len(results))
        left = self.producer.flush(self.settings.kafka_timeout_s)
        if left:
            raise CaudalError(
                f"{left} request(s) not acknowledged by the broker within "
                f"{self.settings.kafka_timeout_s:.0f} s",
                "is `caudal run images` (or `caudal up`) running? upload them again",
            )
        return results

    def _store(self, session_id: str, index: int, upload: Upload) -> ImageRequest:
        now = datetime.now(UTC)
        reason = refusal(len(upload.data), ImagesSettings.of(self.settings).max_bytes)
        url = None
        if reason is None:
            key = object_key(session_id, upload.name, now, index)
            try:
                url = self.store.put(key, upload.data, upload.content_type)
            except StoreError as exc:
                reason = f"not stored: {exc.reason}"
        return ImageRequest(
            request_id=uuid.uuid4().hex,
            session_id=session_id,
            file_name=upload.name,
            image_url=url,
            content_type=upload.content_type,
            size=len(upload.data),
            sha256=hashlib.sha256(upload.data).hexdigest(),
            uploaded_at=now.isoformat(),
            rejected=reason,
        )


def connect_uploader(settings: Settings) -> BatchUploader:
    """An uploader on the running broker, with the requests topic there (made if missing)."""
    bootstrap = resolve_bootstrap(settings)
    topic = settings.topic(TOPIC)
    admin = TopicAdmin(settings, bootstrap)
    try:
        admin.create(topic, 2, {}, exist_ok=True)
    finally:
        admin.close()
    store = object_store(settings)
    store.check()
    return BatchUploader(settings, store, client_config(settings, bootstrap), topic)
