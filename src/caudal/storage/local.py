"""The embedded default: objects are files under one folder, URLs are ``file://`` paths."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from caudal.storage.base import ObjectMissing, ObjectStore, ObjectTooLarge, StoreUnreachable


class FolderStore(ObjectStore):
    """Keys map to paths below ``root``; ``get`` refuses any URL outside it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, key: str, data: bytes, content_type: str) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half an object
        return path.as_uri()

    def get(self, url: str, max_bytes: int) -> bytes:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            raise ObjectMissing(f"{url} is not a file:// URL of this store")
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise ObjectMissing(f"{url} is outside the store folder {self.root}")
        try:
            with path.open("rb") as fh:
                data = fh.read(max_bytes + 1)
        except FileNotFoundError:
            raise ObjectMissing(f"object missing from the store: {path.name}") from None
        except OSError as exc:
            raise StoreUnreachable(f"cannot read {path}: {exc.strerror}") from None
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"object is over the {max_bytes:,}-byte limit")
        return data

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnreachable(
                f"object store folder {self.root} is not usable: {exc.strerror}",
                "set CAUDAL_OBJECT_STORE_DIR to a writable folder",
            ) from None

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"key {key!r} escapes the store folder")
        return path
