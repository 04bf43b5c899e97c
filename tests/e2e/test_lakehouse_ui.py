"""The Lakehouse page of `caudal ui` in headless Chromium, over Delta tables written by the
pipeline's own writer (Spark): counts, history and quarantine reasons as a user sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver

from caudal.pipelines.lakehouse.layout import Layout
from caudal.sinks.delta import DeltaTableWriter
from tests.support.browser import needs_chromium, screenshot, serving_ui, text, until
from tests.support.cli import cli_env

pytestmark = [pytest.mark.slow, needs_chromium]


def _tables(spark: Any, root: Path) -> None:
    layout = Layout(root)
    rows = spark.createDataFrame(
        [(f"P{i:05d}", i, 0) for i in range(37)],
        "product_id string, stock_units int, _batch_id long",
    )
    bronze = DeltaTableWriter(layout.table("bronze", "inventory"))
    bronze.append(rows, "lakehouse.bronze_inventory", 0)
    bronze.append(rows, "lakehouse.bronze_inventory", 1)
    DeltaTableWriter(layout.table("silver", "inventory")).merge_latest(
        rows, ["product_id"], "stock_units", "_batch_id", "lakehouse.bronze_inventory.silver", 0
    )
    quarantine = spark.createDataFrame(
        [
            ("inventory", "silver", "range(stock_units)", "stock_units = -5 outside [0, 1000000]"),
            ("inventory", "silver", "range(stock_units)", "x"),
            ("inventory", "silver", "allowed(category)", "category = 'toys' not in"),
        ],
        "dataset string, layer string, rule string, reason string",
    )
    DeltaTableWriter(layout.quarantine, ["dataset"]).append(quarantine, "q", 0)


@pytest.fixture(scope="module")
def server(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("lakehouse-ui")
    _tables(spark, home / "data" / "lakehouse")
    with serving_ui(cli_env(home / "data", HOME=str(home)), home / "ui.log") as url:
        yield url


def test_tables_history_and_quarantine_by_rule(server: str, browser: webdriver.Chrome) -> None:
    browser.get(f"{server}/lakehouse")
    until(browser, lambda: "inventory" in text(browser, ".st-key-tables"), "the table list")
    until(browser, lambda: "74 rows" in text(browser, "[data-testid=stMain]"), "bronze rows")
    assert "37 rows" in text(browser, "[data-testid=stMain]")  # silver
    until(browser, lambda: "range(stock_units)" in text(browser, ".st-key-quarantine"), "rules")
    until(browser, lambda: "WRITE" in text(browser, ".st-key-history"), "Delta history")
    path = screenshot(browser, "lakehouse.png")
    assert path.stat().st_size > 10_000
