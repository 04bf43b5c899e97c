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
from typing import Any

import pytest

from caudal.pipelines.lakehouse.layout import LAYERS, Layout
from caudal.sinks.delta import DeltaTableWriter
from tests.support.cli import caudal, cli_env

DATASETS = ("inventory", "shipments", "weather", "sensors", "sales")
READ_THEN_EXIT = """
from caudal.pipelines.lakehouse.layout import Layout
from caudal.settings import get_settings
from caudal.pipelines.lakehouse.page_data import quarantine_by_rule, sample
layout = Layout.of(get_settings())
print(len(quarantine_by_rule(layout)), len(sample(layout.quarantine)))
"""


@pytest.fixture(scope="module")
def lake_data(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse by the pipeline's writer, the quarantine in many small files as runs leave it
    (written at once: the readers' exit depends on the files, not on the commits)."""
    data = tmp_path_factory.mktemp("lake-exit")
    layout = Layout(data / "lakehouse")
    rows = spark.createDataFrame(
        [("P1", 5), ("P2", 0), ("P3", 9)], "product_id string, stock_units int"
    )
    for layer in LAYERS:
        DeltaTableWriter(layout.table(layer, "inventory")).append(rows, "q", 0)
    rejected = spark.createDataFrame(
        [(batch, DATASETS[batch % len(DATASETS)]) for batch in range(40) for _ in range(3)],
        "batch int, dataset string",
    ).selectExpr(
        "dataset",
        "'silver' AS layer",
        "'range(stock_units)' AS rule",
        "concat('stock_units = -', batch, ' outside [0, 10]') AS reason",
        "repeat('x', 5000) AS raw",
    )
    quarantine = rejected.repartition(40, "batch")  # dozens of small files, as batches leave
    DeltaTableWriter(layout.quarantine, ["dataset"]).append(quarantine, "q", 0)
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
