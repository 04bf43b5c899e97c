"""`caudal run sensors`: generated readings through Kafka and Spark to a JSON-lines file."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import caudal, cli_env


def test_sensors_pipeline_streams_every_reading_to_the_output(tmp_path: Path) -> None:
    result = caudal(
        "run", "sensors", "--count", "3000", "--rate", "0", env=cli_env(tmp_path), timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "summary" in result.stdout and "3,000" in result.stdout
    rows = [
        json.loads(line)
        for line in (tmp_path / "sensors" / "readings.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 3000
    assert len({(r["partition"], r["offset"]) for r in rows}) == 3000
    rejected = [r for r in rows if r["status"] == "rejected"]
    assert rejected and all(r["reason"] for r in rejected)
