"""User file names never become paths: traversal and odd characters are cleaned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from caudal.storage.keys import object_key, sanitise_name

WHEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("/abs/path/photo.JPG", "photo.JPG"),
        ("manzana roja (1).jpg", "manzana_roja_1_.jpg"),
        ("piña.png", "pina.png"),
        ("évil\x00name\n.png", "evil_name_.png"),
        ("....", "upload"),
        (".hidden.png", "hidden.png"),
        ("", "upload"),
        ("😀.png", "png"),
    ],
)
def test_names_are_reduced_to_a_safe_alphabet(name: str, clean: str) -> None:
    assert sanitise_name(name) == clean


def test_long_names_keep_their_extension() -> None:
    cleaned = sanitise_name("a" * 500 + ".jpeg")
    assert len(cleaned) == 100 and cleaned.endswith(".jpeg")


def test_keys_follow_the_documented_layout() -> None:
    key = object_key("abc123", "../x/../../fruta.jpg", WHEN, 7)
    assert key == "uploads/20261123/abc123/00007-fruta.jpg"


@pytest.mark.parametrize("session", ["../x", "a/b", "", "x" * 65, "sp ace"])
def test_a_malformed_session_is_refused(session: str) -> None:
    with pytest.raises(ValueError, match="invalid session"):
        object_key(session, "a.png", WHEN, 0)
