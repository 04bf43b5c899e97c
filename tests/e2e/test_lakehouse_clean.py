"""A lakehouse run that rejects nothing still leaves the quarantine table: empty and readable
(by another engine, by `caudal lakehouse tables`), not a missing-table error."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from deltalake import DeltaTable

from caudal.pipelines.lakehouse.quarantine import QUARANTINE_SCHEMA
from tests.support.cli import caudal, cli_env
from tests.support.lakehouse import duck


@pytest.mark.slow
def test_a_clean_run_leaves_an_empty_quarantine_table(bootstrap: str, tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"lq{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
        COLUMNS="200",
    )
    made = caudal("lakehouse", "generate", "files", "-d", "weather", "-n", "5", env=env)
    assert made.returncode == 0, made.stderr
    run = caudal("run", "lakehouse", "-d", "weather", env=env, timeout=400)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "quarantined" not in run.stdout

    quarantine = tmp_path / "data" / "lakehouse" / "quarantine"
    con = duck()
    rel = con.sql(f"SELECT * FROM delta_scan('{quarantine}')")
    assert rel.columns == QUARANTINE_SCHEMA.names and rel.fetchall() == []
    assert DeltaTable(str(quarantine)).metadata().partition_columns == ["dataset"]
    tables = caudal("lakehouse", "tables", env=env)
    assert tables.returncode == 0, tables.stderr
    rows = [[cell.strip() for cell in line.split("│")[1:4]] for line in tables.stdout.splitlines()]
    assert ["quarantine", "quarantine", "0"] in rows
