"""`caudal ui` in a real browser: real ZTF alerts classified, the page driven by Chromium.

The results CSV is made without Spark, by the function the Spark job runs on each batch
(``classify_frame``), so the page sees exactly the columns a run writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import fastavro
import pandas as pd
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from caudal.models.onnx_classifier import read_labels
from caudal.models.paths import model_path
from caudal.pipelines.alerts.classify import classify_frame
from caudal.pipelines.alerts.pipeline import MODEL_FILE
from caudal.pipelines.alerts.records import split_alert
from tests.support.browser import needs_chromium, screenshot, serving_ui, text, until
from tests.support.cli import cli_env

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ztf_samples"
STAMP_PX = 63 * 4

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real alerts, split and classified as job.py does, written as the run's CSV."""
    rows = []
    for path in sorted(SAMPLES.glob("*.avro")):
        with path.open("rb") as fh:
            for alert in fastavro.reader(fh):
                meta, cutouts = split_alert(alert, str(path))
                rows.append({**meta, **cutouts, "has_metadata": True, "has_cutouts": True})
    model = model_path(None, MODEL_FILE)
    frame = classify_frame(pd.DataFrame(rows), model, list(read_labels(model)["classes"]))
    out = tmp_path_factory.mktemp("ui") / "alerts.csv"
    frame.to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def server(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`caudal ui` as a user starts it, on the results of a run."""
    home = tmp_path_factory.mktemp("ui-server")
    env = cli_env(home / "data", HOME=str(home))
    with serving_ui(env, home / "ui.log", "--output", str(results)) as url:
        assert url in (home / "ui.log").read_text()  # the CLI prints where to go
        yield url


def _grid_rows(driver: webdriver.Chrome) -> int:
    """Data rows of the table, from the grid's ARIA row count (which counts the header)."""
    css = ".st-key-table [data-testid=stDataFrame] [role=grid]"
    try:
        return int(driver.find_element(By.CSS_SELECTOR, css).get_attribute("aria-rowcount")) - 1
    except (NoSuchElementException, StaleElementReferenceException, TypeError, ValueError):
        return -1


def _choose(driver: webdriver.Chrome, key: str, option: str) -> None:
    """Type into a Streamlit select box (single or multi) and take the first match."""
    box = driver.find_element(By.CSS_SELECTOR, f".st-key-{key} input")
    box.click()
    box.send_keys(option)
    box.send_keys(Keys.ENTER)
    box.send_keys(Keys.ESCAPE)


def _stamp_widths(driver: webdriver.Chrome) -> list[int]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('.st-key-stamps img')]"
            ".map(i => i.complete ? i.naturalWidth : 0)"
        )
    )


def test_table_filter_and_one_alerts_stamps(
    server: str, browser: webdriver.Chrome, results: Path
) -> None:
    frame = pd.read_csv(results)
    assert len(frame) == 16 and frame["classified"].all()
    browser.get(f"{server}/alerts")
    until(browser, lambda: "16 of 16 alerts" in text(browser, ".st-key-table"), "16 alerts")
    until(browser, lambda: _grid_rows(browser) == 16, "16 table rows")

    rare = str(frame["class"].value_counts().idxmin())
    expected = int((frame["class"] == rare).sum())
    _choose(browser, "classes", rare)
    until(browser, lambda: f"{expected} of 16 alerts" in text(browser, ".st-key-table"), rare)
    until(browser, lambda: _grid_rows(browser) == expected, f"{expected} table rows")

    oldest = frame[frame["class"] == rare].iloc[0]  # newest first, so not the default choice
    _choose(browser, "alert", str(oldest["candid"]))
    until(browser, lambda: f"candid {oldest['candid']}" in text(browser, ".st-key-stamps"), "pick")
    until(browser, lambda: _stamp_widths(browser) == [STAMP_PX] * 3, "three stamp images")
    captions = text(browser, ".st-key-stamps")
    assert all(title in captions for title in ("Science", "Template", "Difference"))
    assert f"Class {rare}" in text(browser, ".st-key-probabilities")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    assert screenshot(browser, "ui-alerts.png").stat().st_size > 10_000


def test_a_missing_results_file_is_a_message_not_a_traceback(
    server: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    missing = tmp_path / "nothing-here.csv"
    browser.get(f"{server}/alerts?output={quote(str(missing))}")
    until(browser, lambda: "does not exist" in text(browser, "[data-testid=stMain]"), "message")
    page = text(browser, "[data-testid=stMain]")
    assert "caudal demo" in page and "Traceback" not in page
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")


def test_auto_refresh_follows_a_run_that_is_still_writing(
    server: str, browser: webdriver.Chrome, results: Path, tmp_path: Path
) -> None:
    lines = results.read_text().splitlines(keepends=True)
    growing = tmp_path / "growing.csv"
    growing.write_text("".join(lines[:11]))  # header + 10 alerts
    browser.get(f"{server}/alerts?output={quote(str(growing))}")
    until(browser, lambda: "10 of 10 alerts" in text(browser, ".st-key-table"), "10 alerts")
    toggle = ".st-key-follow input[role=switch]"
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, toggle), "the toggle")
    browser.find_element(By.CSS_SELECTOR, ".st-key-follow label").click()
    until(browser, lambda: browser.find_element(By.CSS_SELECTOR, toggle).is_selected(), "on")
    time.sleep(1.0)  # the rerun the click itself causes is over: only auto-refresh reads again
    with growing.open("a") as fh:
        fh.write("".join(lines[11:]))
    until(browser, lambda: "16 of 16 alerts" in text(browser, ".st-key-table"), "refreshed")
