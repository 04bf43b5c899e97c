"""The Lakehouse page of `caudal ui` in headless Chromium, over Delta tables written by the
pipeline's own writer: counts, history and quarantine reasons as a user sees them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import cli_env
from selenium import webdriver
from ui_browser import needs_chromium, screenshot, serving_ui, text, until

from caudal.pipelines.lakehouse.layout import Layout
from caudal.sinks.delta import DeltaTableWriter

pytestmark = [pytest.mark.slow, needs_chromium]


def _tables(root: Path) -> None:
    layout = Layout(root)
    rows = pa.table(
        {"product_id": [f"P{i:05d}" for i in range(37)], "stock_units": list(range(37))}
    )
    bronze = DeltaTableWriter(layout.table("bronze", "inventory"))
    bronze.append_arrow(rows, "lakehouse.bronze_inventory", 0)
    bronze.append_arrow(rows, "lakehouse.bronze_inventory", 1)
    DeltaTableWriter(layout.table("silver", "inventory")).merge_latest(
        rows, ["product_id"], "stock_units", "lakehouse.bronze_inventory.silver", 0
    )
    quarantine = pa.table(
        {
            "dataset": ["inventory"] * 3,
            "layer": ["silver"] * 3,
            "rule": ["range(stock_units)", "range(stock_units)", "allowed(category)"],
            "reason": ["stock_units = -5 outside [0, 1000000]", "x", "category = 'toys' not in"],
        }
    )
    DeltaTableWriter(layout.quarantine, ["dataset"]).append_arrow(quarantine, "q", 0)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("lakehouse-ui")
    _tables(home / "data" / "lakehouse")
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
