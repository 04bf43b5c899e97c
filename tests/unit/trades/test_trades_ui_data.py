"""What the trades page shows, read from a real SQLite document store of the job's documents."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from caudal.docstore.sqlite import SqliteStore
from caudal.pipelines.trades import page_data as data
from caudal.pipelines.trades.market import MarketSimulator
from tests.support.trades import bars_of, simulated_trades, store_documents

START_MS = 1_800_000_000_000
SYMBOLS = ("AAPL", "BINANCE:BTCUSDT")


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    market = MarketSimulator(SYMBOLS, 50, START_MS, seed=4, late_fraction=0)
    bars = bars_of(simulated_trades(market, 300), 5_000)
    store = SqliteStore(tmp_path / "documents.sqlite")
    store_documents(store, bars, 6, written_at=START_MS + 301_000)
    return store


def test_bars_are_the_newest_oldest_first_for_one_symbol(store: SqliteStore) -> None:
    bars = data.bars(store, "AAPL", limit=20)
    assert len(bars) == 20
    assert bars["start"].is_monotonic_increasing
    newest = store.find("windows", {"symbol": "AAPL"}, sort="start", descending=True, limit=1)
    assert bars["start"].iloc[-1] == newest[0]["start"]
    assert (bars["rising"] == (bars["close"] >= bars["open"])).all()
    assert bars["time"].iloc[0] == pd.Timestamp(bars["start"].iloc[0], unit="ms", tz="UTC")


def test_forecasts_put_actual_model_and_naive_on_one_time_axis(store: SqliteStore) -> None:
    frame = data.forecasts(store, "AAPL", limit=30)
    assert sorted(frame["series"].unique()) == ["actual", "model", "naive"]
    assert frame.groupby("series").size().tolist() == [30, 30, 30]
    assert frame.loc[frame["series"] == "actual", "bp"].isna().all()
    assert frame.loc[frame["series"] != "actual", "bp"].notna().all()
    one = store.find("predictions", {"symbol": "AAPL"}, sort="start", descending=True, limit=1)[0]
    last = frame[frame["time"] == frame["time"].max()].set_index("series")
    assert last.loc["model", "close"] == one["predicted_close"]
    assert last.loc["naive", "bp"] == one["rolling_naive_rmse_bp"]


def test_health_has_one_row_per_symbol_with_counts_and_errors(store: SqliteStore) -> None:
    health = data.health(store, now_ms=START_MS + 310_000).set_index("symbol")
    assert list(health.index) == sorted(SYMBOLS) == data.symbols(store)
    for symbol in SYMBOLS:
        model = store.find("models", {"symbol": symbol})[0]
        assert health.loc[symbol, "bars"] == store.count("windows", {"symbol": symbol}) > 50
        assert health.loc[symbol, "forecasts scored"] == model["scored"]
        assert health.loc[symbol, "model RMSE (bp)"] == model["rmse_bp"]
    assert (health["newest bar end (s ago)"] >= 10).all()
    assert (health["last trade → document (s)"] >= 0).all()


def test_an_empty_store_shows_nothing_rather_than_failing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "empty.sqlite")
    assert data.symbols(store) == [] and data.health(store).empty
    assert data.bars(store, "AAPL").empty and data.forecasts(store, "AAPL").empty
