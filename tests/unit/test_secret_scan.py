"""CI's secret scan (.ci/scan_secrets.py) finds a secret a log leaks, and names no secret."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

SCAN = Path(__file__).resolve().parents[2] / ".ci" / "scan_secrets.py"


def _scan(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCAN), str(directory)], capture_output=True, text=True, timeout=120
    )


def test_a_leaked_credential_in_a_log_fails_the_scan() -> None:
    # built at run time, and outside pytest's temp folders, which CI scans afterwards
    url = "postgresql://app:" + "s3cr3t-" + "Zq81x" + "@db:5432/caudal"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "run.log").write_text(f"connecting to {url}\n")
        (Path(tmp) / "notes.txt").write_text(f"not a log: {url}\n")
        result = _scan(Path(tmp))
    assert result.returncode == 1, result.stdout
    assert "run.log:1: Basic Auth Credentials" in result.stdout
    assert "notes.txt" not in result.stdout
    assert "s3cr3t" not in result.stdout


def test_clean_logs_and_the_repository_pass() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "run.log").write_text("batch 3: 10,000 calls routed in 0.4 s\n")
        result = _scan(Path(tmp))
    assert result.returncode == 0, result.stdout
    assert "1 log files" in result.stdout
