"""What the lakehouse page shows, without Streamlit: tables, counts, freshness, history, samples.

Spark writes the tables; they are read here with delta-rs (``deltalake``) because the UI and
``caudal lakehouse tables`` run without a JVM (starting one would take seconds per page). Read
straight from the Delta logs, the page works while a run commits and costs nothing when the
tables are large: counts come from the log's file statistics. Rows are read by deltalake's
own engine (``QueryBuilder``), never by ``DeltaTable.to_pandas``: that scans through a Python
filesystem, Arrow's I/O threads can still hold its buffers when the scan has
returned, and one freed after the interpreter began to exit needs the GIL, so Python ends that
C++ thread mid-destructor and the process aborts ("terminate called without an active exception").
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse.layout import Layout
from caudal.ui.durations import age

SUMMARY_COLUMNS = ["layer", "table", "rows", "version", "last commit (UTC)", "age", "path"]


def last_commit_ms(table: DeltaTable) -> int:
    """When the table's latest version was committed (ms since the epoch)."""
    return int(table.history(1)[0]["timestamp"])


def table_summaries(layout: Layout) -> pd.DataFrame:
    rows = []
    for layer, name, path in layout.tables():
        table = DeltaTable(str(path))
        committed = last_commit_ms(table) / 1000
        rows.append(
            [
                layer,
                name,
                table.count(),
                table.version(),
                datetime.fromtimestamp(committed, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                age(time.time() - committed),
                str(path),
            ]
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def history(path: Path, limit: int = 20) -> pd.DataFrame:
    """The table's latest commits: version, time, operation and what it wrote."""
    entries = DeltaTable(str(path)).history(limit)
    frame = pd.DataFrame(
        {
            "version": [e.get("version") for e in entries],
            "time (UTC)": [
                datetime.fromtimestamp(e["timestamp"] / 1000, UTC).strftime("%H:%M:%S")
                for e in entries
            ],
            "operation": [e.get("operation") for e in entries],
            "parameters": [str(e.get("operationParameters") or "") for e in entries],
        }
    )
    return frame


def _select(path: Path, sql: str) -> pd.DataFrame:
    """``sql`` over the table's current snapshot, named ``t`` in it, run in Rust (no Arrow
    threads left holding Python objects at exit)."""
    reader = QueryBuilder().register("t", DeltaTable(str(path))).execute(sql)
    return pa.table(reader.read_all()).to_pandas()


def sample(path: Path, rows: int = 50) -> pd.DataFrame:
    """Up to ``rows`` rows of the table's current snapshot."""
    return _select(path, f"SELECT * FROM t LIMIT {int(rows)}")


def quarantine_by_rule(layout: Layout) -> pd.DataFrame:
    """Quarantined rows per dataset, layer and rule, with one example reason each."""
    columns = ["dataset", "layer", "rule", "rows", "example reason"]
    if not (layout.quarantine / "_delta_log").is_dir():
        return pd.DataFrame(columns=columns)
    frame = _select(layout.quarantine, "SELECT dataset, layer, rule, reason FROM t")
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby(["dataset", "layer", "rule"], as_index=False).agg(
        rows=("reason", "size"), example=("reason", "first")
    )
    grouped.columns = columns
    return grouped.sort_values("rows", ascending=False, ignore_index=True)


def table_path(layout: Layout, layer: str, name: str) -> Path:
    for found_layer, found_name, path in layout.tables():
        if (found_layer, found_name) == (layer, name):
            return path
    raise CaudalError(f"no {layer} table {name} under {layout.root}", "run `caudal run lakehouse`")
