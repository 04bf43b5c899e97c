"""The store the settings name, built once per process (Spark workers call this per batch)."""

from __future__ import annotations

import threading

from caudal.errors import CaudalError
from caudal.settings import Settings
from caudal.storage.base import ObjectStore
from caudal.storage.local import FolderStore
from caudal.storage.s3 import S3ObjectStore

_CACHE: dict[tuple[object, ...], ObjectStore] = {}
_LOCK = threading.Lock()


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def object_store(settings: Settings) -> ObjectStore:
    """``CAUDAL_OBJECT_STORE=folder`` (default, under the data dir) or ``s3``."""
    if settings.object_store == "folder":
        root = settings.object_store_dir or settings.data_dir / "objects"
        key: tuple[object, ...] = ("folder", str(root.resolve()))
    else:
        if not settings.s3_bucket:
            raise CaudalError(
                "CAUDAL_OBJECT_STORE=s3 needs a bucket", "set CAUDAL_S3_BUCKET (and endpoint, keys)"
            )
        key = (
            "s3",
            settings.s3_bucket,
            settings.s3_endpoint_url,
            settings.s3_region,
            _secret(settings.s3_access_key_id),
            _secret(settings.s3_secret_access_key),
        )
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = (
                FolderStore(root)
                if key[0] == "folder"
                else S3ObjectStore(
                    settings.s3_bucket or "",
                    settings.s3_endpoint_url,
                    settings.s3_region,
                    _secret(settings.s3_access_key_id),
                    _secret(settings.s3_secret_access_key),
                )
            )
        return _CACHE[key]
