"""`caudal ui` in a real browser: real ZTF alerts classified, the page driven by Chromium.

The results CSV is made without Spark, by the function the Spark job runs on each batch
(``classify_frame``), so the page sees exactly the columns a run writes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import fastavro
import pandas as pd
import pytest
from helpers import CAUDAL, cli_env
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from caudal.models.onnx_classifier import read_labels
from caudal.models.paths import model_path
from caudal.pipelines.alerts.classify import classify_frame
from caudal.pipelines.alerts.pipeline import MODEL_FILE
from caudal.pipelines.alerts.records import split_alert

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "ztf_samples"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1400",
]
STAMP_PX = 63 * 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no /usr/bin/chromium: apt-get install chromium chromium-driver (.ci/run does)",
    ),
]


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert server.poll() is None, f"caudal ui exited:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"caudal ui did not answer within 90 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`caudal ui` as a user starts it, in its own process group so every child is stopped."""
    home = tmp_path_factory.mktemp("ui-server")
    port, log = _free_port(), home / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CAUDAL, "ui", "--port", str(port), "--output", str(results)],
            env=cli_env(home / "data", HOME=str(home)),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, log)
        assert url in log.read_text()  # the CLI prints where to go
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROME_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chrome')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _text(driver: webdriver.Chrome, css: str) -> str:
    try:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def _until(driver: webdriver.Chrome, check: Callable[[], object], what: str) -> None:
    WebDriverWait(driver, 60, poll_frequency=0.25).until(lambda _: check(), f"timed out: {what}")


def _grid_rows(driver: webdriver.Chrome) -> int:
    """Data rows of the table, from the grid's ARIA row count (which counts the header)."""
    css = ".st-key-table [data-testid=stDataFrame] [role=grid]"
    try:
        return int(driver.find_element(By.CSS_SELECTOR, css).get_attribute("aria-rowcount")) - 1
    except (NoSuchElementException, StaleElementReferenceException, TypeError, ValueError):
        return -1


def _choose(driver: webdriver.Chrome, key: str, text: str) -> None:
    """Type into a Streamlit select box (single or multi) and take the first match."""
    box = driver.find_element(By.CSS_SELECTOR, f".st-key-{key} input")
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    box.send_keys(Keys.ESCAPE)


def _stamp_widths(driver: webdriver.Chrome) -> list[int]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('.st-key-stamps img')]"
            ".map(i => i.complete ? i.naturalWidth : 0)"
        )
    )


def _screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The whole page, not just the window, for a person to look at."""
    height = driver.execute_script(
        "return document.querySelector('[data-testid=stMain]').scrollHeight"
    )
    driver.execute_script("document.activeElement.blur()")  # no caret in the picture
    driver.set_window_size(1400, int(height) + 150)
    time.sleep(1.0)  # charts re-lay out to the new size
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    return path


def test_table_filter_and_one_alerts_stamps(
    server: str, browser: webdriver.Chrome, results: Path
) -> None:
    frame = pd.read_csv(results)
    assert len(frame) == 16 and frame["classified"].all()
    browser.get(f"{server}/alerts")
    _until(browser, lambda: "16 of 16 alerts" in _text(browser, ".st-key-table"), "16 alerts")
    _until(browser, lambda: _grid_rows(browser) == 16, "16 table rows")

    rare = str(frame["class"].value_counts().idxmin())
    expected = int((frame["class"] == rare).sum())
    _choose(browser, "classes", rare)
    _until(browser, lambda: f"{expected} of 16 alerts" in _text(browser, ".st-key-table"), rare)
    _until(browser, lambda: _grid_rows(browser) == expected, f"{expected} table rows")

    oldest = frame[frame["class"] == rare].iloc[0]  # newest first, so not the default choice
    _choose(browser, "alert", str(oldest["candid"]))
    _until(
        browser, lambda: f"candid {oldest['candid']}" in _text(browser, ".st-key-stamps"), "pick"
    )
    _until(browser, lambda: _stamp_widths(browser) == [STAMP_PX] * 3, "three stamp images")
    captions = _text(browser, ".st-key-stamps")
    assert all(title in captions for title in ("Science", "Template", "Difference"))
    assert f"Class {rare}" in _text(browser, ".st-key-probabilities")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    assert _screenshot(browser, "ui-alerts.png").stat().st_size > 10_000


def test_a_missing_results_file_is_a_message_not_a_traceback(
    server: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    missing = tmp_path / "nothing-here.csv"
    browser.get(f"{server}/alerts?output={quote(str(missing))}")
    _until(browser, lambda: "does not exist" in _text(browser, "[data-testid=stMain]"), "message")
    page = _text(browser, "[data-testid=stMain]")
    assert "caudal demo" in page and "Traceback" not in page
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")


def test_auto_refresh_follows_a_run_that_is_still_writing(
    server: str, browser: webdriver.Chrome, results: Path, tmp_path: Path
) -> None:
    lines = results.read_text().splitlines(keepends=True)
    growing = tmp_path / "growing.csv"
    growing.write_text("".join(lines[:11]))  # header + 10 alerts
    browser.get(f"{server}/alerts?output={quote(str(growing))}")
    _until(browser, lambda: "10 of 10 alerts" in _text(browser, ".st-key-table"), "10 alerts")
    toggle = ".st-key-follow input[role=switch]"
    _until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, toggle), "the toggle")
    browser.find_element(By.CSS_SELECTOR, ".st-key-follow label").click()
    _until(browser, lambda: browser.find_element(By.CSS_SELECTOR, toggle).is_selected(), "on")
    time.sleep(1.0)  # the rerun the click itself causes is over: only auto-refresh reads again
    with growing.open("a") as fh:
        fh.write("".join(lines[11:]))
    _until(browser, lambda: "16 of 16 alerts" in _text(browser, ".st-key-table"), "refreshed")
