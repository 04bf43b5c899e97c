"""The Emergencies page of `caudal ui` in headless Chromium, over the topics of a real
`caudal run emergencies`: totals per route as the broker counts them, the chart and the map."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from caudal.broker.admin import TopicAdmin
from caudal.broker.tail import count_records
from caudal.settings import Settings
from tests.support.browser import needs_chromium, screenshot, serving_ui, text, until
from tests.support.cli import caudal, cli_env

N = 600
_TOTALS_ROWS = ".st-key-totals tbody tr"

pytestmark = [pytest.mark.slow, needs_chromium]


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
    with serving_ui({**routed, "HOME": str(home)}, home / "ui.log") as url:
        yield url


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
    server: str,
    browser: webdriver.Chrome,
    routed: dict[str, str],
    settings: Settings,
    admin: TopicAdmin,
) -> None:
    prefix = routed["CAUDAL_TOPIC_PREFIX"]
    counts = {
        t.removeprefix(f"{prefix}emergencias."): count_records(settings, admin, t)
        for t in admin.topics()
        if t.startswith(prefix) and not t.endswith(".avisos")
    }
    assert sum(counts.values()) == N and counts["dlq"] < N
    routed_calls = N - counts["dlq"]

    browser.get(f"{server}/emergencies")
    main = "[data-testid=stMain]"
    until(browser, lambda: f"{routed_calls:,}" in text(browser, main), "the routed total")
    until(browser, lambda: _totals(browser) == counts, f"records per route {counts}")
    until(browser, lambda: f"{routed_calls:,} calls on the map" in text(browser, main), "map")
    until(browser, lambda: len(_chart_sizes(browser)) == 2, "two charts drawn")
    assert all(w > 300 and h > 200 for w, h in _chart_sizes(browser))
    assert "Newest medical calls" in text(browser, main)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")
    path: Path = screenshot(browser, "emergencies.png")
    assert path.stat().st_size > 20_000
