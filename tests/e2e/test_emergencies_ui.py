"""The Emergencies page of `caudal ui` in headless Chromium, over the topics of a real
`caudal run emergencies`: totals per route as the broker counts them, the chart and the map."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import CAUDAL, caudal, cli_env
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from test_ui import CHROMIUM, _free_port, _screenshot, _text, _until, _wait_until_serving, browser

from caudal.broker.admin import TopicAdmin

__all__ = ["browser"]  # the shared Chromium fixture

N = 600
_TOTALS_ROWS = ".st-key-totals tbody tr"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (.ci/run installs it)"),
]


@pytest.fixture(scope="module")
def routed(bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a finished run: N calls routed into their topics."""
    env = cli_env(
        tmp_path_factory.mktemp("emergencies-ui") / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"u{uuid.uuid4().hex[:6]}.",
        CAUDAL_SPARK_MASTER="local[2]",
    )
    run = caudal("run", "emergencies", "--count", str(N), "--rate", "0", env=env, timeout=400)
    assert run.returncode == 0, run.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def server(routed: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("emergencies-ui-home")
    port, log = _free_port(), home / "ui.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*CAUDAL, "ui", "--port", str(port)],
            env={**routed, "HOME": str(home)},
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


def _chart_sizes(driver: webdriver.Chrome) -> list[tuple[int, int]]:
    """Drawn width and height of each Vega chart (canvas or SVG) on the page."""
    return [
        (int(size["width"]), int(size["height"]))
        for size in driver.execute_script(
            "return [...document.querySelectorAll('[data-testid=stVegaLiteChart] canvas,"
            " [data-testid=stVegaLiteChart] svg.marks')].map(c => c.getBoundingClientRect())"
        )
    ]


def _totals(driver: webdriver.Chrome) -> dict[str, int]:
    """Route → records, from the totals table's rows (route first, records last)."""
    try:
        rows = [r.text.split() for r in driver.find_elements(By.CSS_SELECTOR, _TOTALS_ROWS)]
        return {row[0]: int(row[-1].replace(",", "")) for row in rows if row}
    except (StaleElementReferenceException, ValueError):
        return {}


def test_totals_per_route_timeline_and_map(
    server: str, browser: webdriver.Chrome, routed: dict[str, str], admin: TopicAdmin
) -> None:
    prefix = routed["CAUDAL_TOPIC_PREFIX"]
    counts = {
        t.removeprefix(f"{prefix}emergencias."): sum(p.records for p in admin.partitions(t))
        for t in admin.topics()
        if t.startswith(prefix) and not t.endswith(".avisos")
    }
    assert sum(counts.values()) == N and counts["dlq"] < N
    routed_calls = N - counts["dlq"]

    browser.get(f"{server}/emergencies")
    main = "[data-testid=stMain]"
    _until(browser, lambda: f"{routed_calls:,}" in _text(browser, main), "the routed total")
    _until(browser, lambda: _totals(browser) == counts, f"records per route {counts}")
    _until(browser, lambda: f"{routed_calls:,} calls on the map" in _text(browser, main), "map")
    _until(browser, lambda: len(_chart_sizes(browser)) == 2, "two charts drawn")
    assert all(w > 300 and h > 200 for w, h in _chart_sizes(browser))
    assert "Newest medical calls" in _text(browser, main)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    path: Path = _screenshot(browser, "emergencies.png")
    assert path.stat().st_size > 20_000
