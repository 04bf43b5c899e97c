"""What the Lakehouse page shows (read with delta-rs, no JVM), from real Delta tables written
by the pipeline's writer (Spark)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse import page_data as data
from caudal.pipelines.lakehouse.layout import Layout
from caudal.pipelines.lakehouse.quarantine import QUARANTINE_SCHEMA
from caudal.sinks.delta import DeltaTableWriter


@pytest.fixture
def layout(spark: Any, tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "lake")
    rows = spark.createDataFrame(
        [("P1", 5), ("P2", 0), ("P3", 9)], "product_id string, stock_units int"
    )
    bronze = DeltaTableWriter(layout.table("bronze", "inventory"))
    bronze.append(rows, "q", 0)
    bronze.append(rows, "q", 1)
    bronze.append(rows, "q", 1)  # a replay: skipped, not a third commit
    DeltaTableWriter(layout.table("gold", "stock")).replace(rows.filter("stock_units < 9"))
    reasons = ["stock_units = -5 outside [0, 10]", "stock_units = -1 outside [0, 10]", "no"]
    rules = ["range(stock_units)", "range(stock_units)", "allowed(category)"]
    quarantine = spark.createDataFrame(
        [
            ("inventory", "silver", rule, reason)
            for rule, reason in zip(rules, reasons, strict=True)
        ],
        "dataset string, layer string, rule string, reason string",
    )
    DeltaTableWriter(layout.quarantine, ["dataset"]).append(quarantine, "q", 0)
    return layout


def test_summaries_list_every_table_with_rows_and_version(layout: Layout) -> None:
    summary = data.table_summaries(layout)
    assert summary[["layer", "table", "rows", "version"]].values.tolist() == [
        ["bronze", "inventory", 6, 1],
        ["gold", "stock", 2, 0],
        ["quarantine", "quarantine", 3, 0],
    ]
    assert summary["age"].str.endswith(" s").all()


def test_history_sample_and_quarantine_by_rule(layout: Layout) -> None:
    path = data.table_path(layout, "bronze", "inventory")
    assert data.history(path)["version"].tolist() == [1, 0]
    assert len(data.sample(path, rows=4)) == 4
    by_rule = data.quarantine_by_rule(layout)
    assert by_rule[["rule", "rows"]].values.tolist() == [
        ["range(stock_units)", 2],
        ["allowed(category)", 1],
    ]
    assert by_rule.loc[0, "example reason"] == "stock_units = -5 outside [0, 10]"


def test_missing_table_and_empty_lake(layout: Layout, tmp_path: Path) -> None:
    with pytest.raises(CaudalError, match="no silver table inventory"):
        data.table_path(layout, "silver", "inventory")
    empty = Layout(tmp_path / "empty")
    assert data.table_summaries(empty).empty and data.quarantine_by_rule(empty).empty


def test_a_quarantine_created_empty_is_listed_and_reads_as_no_rules(
    spark: Any, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "lake")
    for _ in range(2):  # every query's sink ensures it when the run starts: one table
        DeltaTableWriter(layout.quarantine, ["dataset"]).ensure(spark, QUARANTINE_SCHEMA)
    summary = data.table_summaries(layout)
    assert summary[["layer", "rows", "version"]].values.tolist() == [["quarantine", 0, 0]]
    assert data.quarantine_by_rule(layout).empty
    assert list(data.sample(layout.quarantine).columns) == QUARANTINE_SCHEMA.names
