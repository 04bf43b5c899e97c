"""Reading the lakehouse's Delta tables never aborts the process at exit.

Once, `caudal lakehouse tables` printed its tables and then died with SIGABRT ("terminate
called without an active exception"): the quarantine was read by ``DeltaTable.to_pandas``,
through a Python filesystem, and Arrow's I/O threads still freed its buffers (a GIL taken)
while the interpreter was exiting; after a partial read (a sample) the exit hung instead. A
race, so each test runs its process many times.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import caudal, cli_env

from caudal.pipelines.lakehouse.layout import LAYERS, Layout
from caudal.sinks.delta import DeltaTableWriter

DATASETS = ("inventory", "shipments", "weather", "sensors", "sales")
READ_THEN_EXIT = """
from caudal.pipelines.lakehouse.layout import Layout
from caudal.settings import get_settings
from caudal.ui.lakehouse_data import quarantine_by_rule, sample
layout = Layout.of(get_settings())
print(len(quarantine_by_rule(layout)), len(sample(layout.quarantine)))
"""


@pytest.fixture(scope="module")
def lake_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse by the pipeline's writer, the quarantine in many small files as runs leave it."""
    data = tmp_path_factory.mktemp("lake-exit")
    layout = Layout(data / "lakehouse")
    rows = pa.table({"product_id": ["P1", "P2", "P3"], "stock_units": [5, 0, 9]})
    for layer in LAYERS:
        DeltaTableWriter(layout.table(layer, "inventory")).append_arrow(rows, "q", 0)
    quarantine = DeltaTableWriter(layout.quarantine, ["dataset"])
    for batch in range(40):
        rejected = {
            "dataset": [DATASETS[batch % len(DATASETS)]] * 3,
            "layer": ["silver"] * 3,
            "rule": ["range(stock_units)"] * 3,
            "reason": [f"stock_units = -{batch} outside [0, 10]"] * 3,
            "raw": ["x" * 5_000] * 3,
        }
        quarantine.append_arrow(pa.table(rejected), "q", batch)
    return data


def test_reading_rows_then_exiting_at_once_never_aborts(lake_data: Path) -> None:
    """The harshest timing: the process exits as soon as the rows are read."""
    for run in range(20):
        done = subprocess.run(
            [sys.executable, "-c", READ_THEN_EXIT],
            env=cli_env(lake_data),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (run, done.returncode, done.stderr[-500:])
        assert done.stdout.split() == [str(len(DATASETS)), "50"]


@pytest.mark.slow
def test_tables_command_exits_cleanly_fifty_times_in_a_row(lake_data: Path) -> None:
    env = cli_env(lake_data, COLUMNS="200")
    for run in range(50):
        done = caudal("lakehouse", "tables", env=env)
        assert done.returncode == 0, (run, done.returncode, done.stderr[-500:])
        assert "range(stock_units)" in done.stdout and "quarantine" in done.stdout
