"""DuckDB with its own Delta reader (delta-kernel), to read lakehouse tables in tests with an
engine other than Spark, which wrote them, and delta-rs, which the UI reads them with."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb


def duck() -> duckdb.DuckDBPyConnection:
    """A connection with the Delta extension from the duckdb-ext-delta wheel (no download)."""
    spec = importlib.util.find_spec("duckdb_ext")
    assert spec and spec.submodule_search_locations, "pip install duckdb-ext-delta (dev extra)"
    ext = next(Path(spec.submodule_search_locations[0]).rglob("delta.duckdb_extension"))
    con = duckdb.connect()
    con.sql(f"LOAD '{ext}'")
    con.sql("SET TimeZone = 'UTC'")
    return con
