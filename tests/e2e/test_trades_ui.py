"""The Trades page of `caudal ui` in headless Chromium, over documents made by the job's own
per-symbol code: health table, candles and forecast charts, and a live refresh as bars land."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from caudal.docstore.sqlite import SqliteStore
from caudal.pipelines.trades.market import MarketSimulator
from tests.support.browser import needs_chromium, screenshot, serving_ui, text, until
from tests.support.cli import cli_env
from tests.support.trades import bars_of, simulated_trades, store_documents

pytestmark = [pytest.mark.slow, needs_chromium]
SYMBOLS = ("AAPL", "BINANCE:BTCUSDT")
START_MS = int(time.time()) * 1000 - 700_000
"""Ten minutes of market ending about 100 s ago, so the health table reads like a live run."""


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    market = MarketSimulator(SYMBOLS, 40, START_MS, seed=8, momentum=1.0, late_fraction=0)
    return bars_of(simulated_trades(market, 600), 5_000)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("trades-ui")


@pytest.fixture(scope="module")
def server(home: Path, bars: pd.DataFrame) -> Iterator[str]:
    store = SqliteStore(home / "data" / "documents.sqlite")
    store_documents(store, bars[bars["start"] < START_MS + 300_000], 6, START_MS + 300_500)
    store.close()
    with serving_ui(cli_env(home / "data", HOME=str(home)), home / "ui.log") as url:
        yield url


def _charts(driver: webdriver.Chrome, key: str) -> int:
    """Vega charts drawn (as a canvas or an SVG) inside the container ``key``."""
    css = f".st-key-{key} [data-testid=stVegaLiteChart]"
    drawn = f"{css} canvas, {css} svg.marks"
    return len(driver.find_elements(By.CSS_SELECTOR, drawn))


def test_candles_forecasts_and_health_follow_the_store_live(
    server: str, browser: webdriver.Chrome, home: Path, bars: pd.DataFrame
) -> None:
    first = bars[(bars["symbol"] == "AAPL") & (bars["start"] < START_MS + 300_000)]
    browser.get(f"{server}/trades")
    until(browser, lambda: "BINANCE:BTCUSDT" in text(browser, ".st-key-health"), "health")
    assert str(len(first)) in text(browser, ".st-key-health")
    until(browser, lambda: _charts(browser, "candles") == 2, "candles and volume charts")
    until(browser, lambda: _charts(browser, "forecasts") >= 1, "forecast chart")
    assert "AAPL" in text(browser, ".st-key-candles")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=stException]")

    store = SqliteStore(home / "data" / "documents.sqlite")
    store_documents(store, bars, 6, START_MS + 601_000)  # the rest of the run lands
    store.close()
    total = int((bars["symbol"] == "AAPL").sum())
    until(browser, lambda: str(total) in text(browser, ".st-key-health"), "live refresh")
    assert screenshot(browser, "ui-trades.png").stat().st_size > 10_000
