"""`caudal images submit` picks its files as a user expects: named files, folders recursively,
hidden files skipped, a wrong path refused before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from caudal.errors import CaudalError
from caudal.pipelines.images.submit import collect, upload


def _touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folders_are_read_recursively_in_order_without_hidden_files(tmp_path: Path) -> None:
    b = _touch(tmp_path / "photos" / "b.jpg")
    a = _touch(tmp_path / "photos" / "a.png")
    deep = _touch(tmp_path / "photos" / "trip" / "c.jpg")
    _touch(tmp_path / "photos" / ".DS_Store")
    _touch(tmp_path / "photos" / ".thumbs" / "a.jpg")
    single = _touch(tmp_path / "one.jpg")
    assert collect([single, tmp_path / "photos"]) == [single, a, b, deep]


def test_a_missing_path_or_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CaudalError, match="no such file or folder"):
        collect([tmp_path / "nope.jpg"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaudalError, match="no files in this folder"):
        collect([tmp_path / "empty"])


def test_a_file_goes_as_the_page_sends_it(tmp_path: Path) -> None:
    sent = upload(_touch(tmp_path / "sub" / "cat.JPG", b"\xff\xd8data"))
    assert (sent.name, sent.data, sent.content_type) == ("cat.JPG", b"\xff\xd8data", "image/jpeg")
    assert upload(_touch(tmp_path / "notes")).content_type == "application/octet-stream"
