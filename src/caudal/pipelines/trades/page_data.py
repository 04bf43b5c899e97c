"""What the trades page shows, without Streamlit: bars, forecasts and feed health per symbol.

Everything is read from the document store ``caudal run trades`` writes (SQLite by default,
MongoDB with ``CAUDAL_MONGO_URL``) through the same ``DocumentStore`` interface, so the page
follows a run while it writes and shows the same thing whatever the backend.
"""

from __future__ import annotations

import time

import pandas as pd

from caudal.docstore import DocumentStore

BAR_COLUMNS = ["start", "end", "open", "high", "low", "close", "volume", "vwap", "trades"]
HEALTH_COLUMNS = [
    "symbol",
    "bars",
    "last close",
    "newest bar end (s ago)",
    "last trade → document (s)",
    "forecasts scored",
    "model RMSE (bp)",
    "naive RMSE (bp)",
]


def symbols(store: DocumentStore) -> list[str]:
    """Symbols with a model, i.e. with at least one finished bar."""
    return sorted(str(m["symbol"]) for m in store.find("models"))


def bars(store: DocumentStore, symbol: str, limit: int = 240) -> pd.DataFrame:
    """The symbol's newest ``limit`` bars, oldest first, with ``time`` (bar start, UTC)."""
    docs = store.find("windows", {"symbol": symbol}, sort="start", descending=True, limit=limit)
    frame = pd.DataFrame(docs, columns=[*BAR_COLUMNS, "written_at"]).iloc[::-1]
    frame["time"] = pd.to_datetime(frame["start"], unit="ms", utc=True)
    frame["rising"] = frame["close"] >= frame["open"]
    return frame.reset_index(drop=True)


def forecasts(store: DocumentStore, symbol: str, limit: int = 240) -> pd.DataFrame:
    """Prediction against actual per bar, oldest first, in long form for one chart:
    ``time, series, close`` with series actual / model / naive."""
    docs = store.find("predictions", {"symbol": symbol}, sort="start", descending=True, limit=limit)
    columns = ["start", "actual_close", "predicted_close", "naive_close"]
    frame = pd.DataFrame(docs, columns=[*columns, "rolling_rmse_bp", "rolling_naive_rmse_bp"])
    frame = frame.iloc[::-1].assign(time=pd.to_datetime(frame["start"], unit="ms", utc=True))
    names = {"actual_close": "actual", "predicted_close": "model", "naive_close": "naive"}
    prices = frame.melt("time", list(names), var_name="series", value_name="close")
    errors = frame.melt(
        "time", ["rolling_rmse_bp", "rolling_naive_rmse_bp"], var_name="series", value_name="bp"
    )
    errors["series"] = errors["series"].map(
        {"rolling_rmse_bp": "model", "rolling_naive_rmse_bp": "naive"}
    )
    prices["series"] = prices["series"].map(names)
    return prices.merge(errors, on=["time", "series"], how="left")


def health(store: DocumentStore, now_ms: int | None = None) -> pd.DataFrame:
    """Per symbol: how fresh its newest bar is, how long it took to land, and the model's
    prequential errors so far against the naive last-value forecast.

    Landing is measured from the arrival of the bar's last trade (``last_rx``, wall clock) to
    its document: never negative. From the bar's end in event time it was, for the last bar
    of a finite feed, which the flush marker makes final before that end."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    rows = []
    for model in sorted(store.find("models"), key=lambda m: str(m["symbol"])):
        symbol = str(model["symbol"])
        newest = store.find("windows", {"symbol": symbol}, sort="start", descending=True, limit=1)
        last = newest[0] if newest else {}
        rows.append(
            [
                symbol,
                store.count("windows", {"symbol": symbol}),
                model.get("last_close"),
                (now - last["end"]) / 1000 if last else None,
                (last["written_at"] - last["last_rx"]) / 1000 if last else None,
                model.get("scored", 0),
                model.get("rmse_bp"),
                model.get("naive_rmse_bp"),
            ]
        )
    return pd.DataFrame(rows, columns=HEALTH_COLUMNS)
