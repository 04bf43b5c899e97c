"""The embedded object store: round trip, missing objects, limits, no escape from its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from caudal.storage.base import ObjectMissing, ObjectTooLarge, StoreUnreachable
from caudal.storage.local import FolderStore


def test_put_then_get_by_url(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "objects")
    url = store.put("uploads/20261123/s1/00000-a.png", b"\x89PNG...", "image/png")
    assert url.startswith("file://") and store.get(url, 100) == b"\x89PNG..."
    assert not list((tmp_path / "objects").rglob(".*.tmp"))


def test_a_deleted_object_is_missing(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    url = store.put("uploads/x/y.png", b"data", "image/png")
    (tmp_path / "uploads/x/y.png").unlink()
    with pytest.raises(ObjectMissing, match="missing from the store: y.png"):
        store.get(url, 100)


def test_urls_outside_the_store_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    store = FolderStore(tmp_path / "objects")
    with pytest.raises(ObjectMissing, match="outside the store"):
        store.get((tmp_path / "secret.txt").as_uri(), 100)
    with pytest.raises(ObjectMissing, match="outside the store"):
        store.get((tmp_path / "objects" / ".." / "secret.txt").as_uri(), 100)
    with pytest.raises(ObjectMissing, match="not a file:// URL"):
        store.get("s3://bucket/key", 100)
    with pytest.raises(ValueError, match="escapes"):
        store.put("../secret.txt", b"x", "text/plain")


def test_an_object_over_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    store = FolderStore(tmp_path)
    url = store.put("big.bin", b"x" * 1000, "application/octet-stream")
    with pytest.raises(ObjectTooLarge, match="1,000-byte|999-byte"):
        store.get(url, 999)


def test_an_unusable_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnreachable, match="not usable"):
        FolderStore(blocker / "objects").check()
