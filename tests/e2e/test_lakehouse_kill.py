"""`caudal run lakehouse` SIGKILLed mid-stream and restarted: every file row and every event in
bronze exactly once, silver one row per key, nothing quarantined twice."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests.support.cli import CAUDAL, caudal, cli_env

FILES, ROWS_PER_FILE, EVENTS = 12, 100, 1500


def _count(path: Path) -> int:
    return DeltaTable(str(path)).count() if DeltaTable.is_deltatable(str(path)) else 0


@pytest.mark.slow
def test_kill_and_restart_lands_each_row_once(bootstrap: str, tmp_path: Path) -> None:
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"lk{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
        CAUDAL_MAX_OFFSETS_PER_TRIGGER="150",
        CAUDAL_LAKEHOUSE_MAX_FILES_PER_TRIGGER="2",
    )
    n = str(FILES * ROWS_PER_FILE)
    for args in (
        ("files", "-d", "inventory", "-n", n, "-f", str(FILES), "--seed", "1"),
        ("events", "-n", str(EVENTS), "--seed", "2"),
    ):
        done = caudal("lakehouse", "generate", *args, env=env)
        assert done.returncode == 0, done.stderr
    root = tmp_path / "data" / "lakehouse"
    run = [*CAUDAL, "run", "lakehouse", "-d", "inventory", "-d", "sales"]

    job = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and job.poll() is None:
        if _count(root / "bronze" / "inventory") >= 200 and _count(root / "bronze" / "sales") > 0:
            break
        time.sleep(0.3)
    assert job.poll() is None, "the run finished before it could be killed"
    job.send_signal(signal.SIGKILL)
    job.wait()
    killed_at = _count(root / "bronze" / "inventory"), _count(root / "bronze" / "sales")
    assert 0 < killed_at[0] < FILES * ROWS_PER_FILE and killed_at[1] < EVENTS

    rerun = subprocess.run(run, env=env, capture_output=True, text=True, timeout=420)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]

    inventory = DeltaTable(str(root / "bronze" / "inventory")).to_pandas()
    assert len(inventory) == FILES * ROWS_PER_FILE
    assert not inventory.duplicated(["_source_file", "_row"]).any()
    assert inventory["_source_file"].nunique() == FILES
    sales = DeltaTable(str(root / "bronze" / "sales")).to_pandas()
    assert len(sales) == EVENTS and not sales.duplicated(["_partition", "_offset"]).any()
    assert sales["_batch_id"].nunique() > 1

    silver = DeltaTable(str(root / "silver" / "sales")).to_pandas()
    assert len(silver) == EVENTS and silver["order_id"].is_unique
    stock = DeltaTable(str(root / "silver" / "inventory")).to_pandas()
    assert not stock.duplicated(["product_id", "warehouse"]).any()
    assert _count(root / "quarantine") == 0
