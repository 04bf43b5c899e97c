"""The Lakehouse page of `caudal ui` in headless Chromium, over Delta tables written by the
pipeline's own writer: counts, history and quarantine reasons as a user sees them."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from helpers import CAUDAL, cli_env
from selenium import webdriver
from test_ui import CHROMIUM, _free_port, _screenshot, _text, _until, _wait_until_serving, browser

from caudal.pipelines.lakehouse.layout import Layout
from caudal.sinks.delta import DeltaTableWriter

__all__ = ["browser"]  # the shared Chromium fixture

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (.ci/run installs it)"),
]


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
    port, log = _free_port(), home / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CAUDAL, "ui", "--port", str(port)],
            env=cli_env(home / "data", HOME=str(home)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


def test_tables_history_and_quarantine_by_rule(server: str, browser: webdriver.Chrome) -> None:
    browser.get(f"{server}/lakehouse")
    _until(browser, lambda: "inventory" in _text(browser, ".st-key-tables"), "the table list")
    _until(browser, lambda: "74 rows" in _text(browser, "[data-testid=stMain]"), "bronze rows")
    assert "37 rows" in _text(browser, "[data-testid=stMain]")  # silver
    _until(browser, lambda: "range(stock_units)" in _text(browser, ".st-key-quarantine"), "rules")
    _until(browser, lambda: "WRITE" in _text(browser, ".st-key-history"), "Delta history")
    path = _screenshot(browser, "lakehouse.png")
    assert path.stat().st_size > 10_000
