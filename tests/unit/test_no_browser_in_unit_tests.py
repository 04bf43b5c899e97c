"""Unit tests run without a browser driver: collecting them never imports Selenium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parent
COLLECT = """
import sys, pytest
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[1]])
print("selenium loaded:", "selenium" in sys.modules)
sys.exit(code)
"""


def test_collecting_the_unit_tests_loads_no_browser_driver() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COLLECT, str(UNIT)],
        cwd=UNIT.parents[1],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "selenium loaded: False" in done.stdout
