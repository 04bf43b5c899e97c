"""Driving `caudal ui` in headless Chromium: what every page's browser test shares.

Chromium and its driver come from Debian (`.ci/run` installs them); the server is the real
CLI in its own process group, so stopping it stops Streamlit's children too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from caudal.broker.process import free_port
from tests.support.cli import CAUDAL

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
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no /usr/bin/chromium: apt-get install chromium chromium-driver (.ci/run does)",
)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """The real ``caudal`` CLI in its own process group, output to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [*CAUDAL, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def stop(proc: subprocess.Popen, sig: signal.Signals = signal.SIGTERM) -> None:
    """Ask the whole group to stop; kill it if it has not within 30 s."""
    os.killpg(proc.pid, sig)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(15)


def wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
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


@contextmanager
def serving_ui(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`caudal ui` as a user starts it, on a free port; yields its URL once it answers."""
    port = free_port()
    proc = spawn(["ui", "--port", str(port), *args], env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, proc, log)
        yield url
    finally:
        stop(proc)


@contextmanager
def chrome(profile: Path, *flags: str) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROME_FLAGS, *flags, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def text(driver: webdriver.Chrome, css: str) -> str:
    try:
        return str(driver.find_element(By.CSS_SELECTOR, css).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def until(driver: webdriver.Chrome, check: Callable[[], object], what: str) -> None:
    WebDriverWait(driver, 60, poll_frequency=0.25).until(lambda _: check(), f"timed out: {what}")


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
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
