"""A batch recomputation of bars in pandas, independent of the Spark job, for the tests.

Open and close are the first and last trade by (time, arrival order); volumes are summed as
exact decimals, as the job does.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pandas as pd

from caudal.docstore import DocumentStore
from caudal.pipelines.trades.market import MarketSimulator
from caudal.pipelines.trades.model import SymbolState


def bars_of(trades: pd.DataFrame, bar_ms: int) -> pd.DataFrame:
    """``trades`` has columns s, p, t, v and is in arrival order."""
    frame = trades.assign(arrival=range(len(trades)), start=trades["t"] - trades["t"] % bar_ms)
    frame = frame.sort_values(["s", "start", "t", "arrival"])
    grouped = frame.groupby(["s", "start"], sort=True)
    out = grouped.agg(
        open=("p", "first"),
        high=("p", "max"),
        low=("p", "min"),
        close=("p", "last"),
        trades=("p", "size"),
    ).reset_index()
    volumes = grouped["v"].apply(lambda v: float(sum(Decimal(str(x)) for x in v)))
    notional = grouped.apply(lambda g: float((g["p"] * g["v"]).sum()), include_groups=False)
    out["volume"] = volumes.to_numpy()
    out["vwap"] = notional.to_numpy() / out["volume"]
    out["end"] = out["start"] + bar_ms
    return out.rename(columns={"s": "symbol"})


def simulated_trades(market: MarketSimulator, seconds: float) -> pd.DataFrame:
    """Every good trade the simulator makes in ``seconds`` of simulated time, in order."""
    rows: list[dict[str, Any]] = []
    for message in market.advance(market.now_ms + int(seconds * 1000)):
        if message.good:
            rows.extend(json.loads(message.text)["data"])
    return pd.DataFrame(rows, columns=["s", "p", "t", "v", "c"])


def store_documents(
    store: DocumentStore, bars: pd.DataFrame, slide_bars: int, written_at: int
) -> None:
    """The documents the job writes for ``bars``, made by the same per-symbol state code."""
    states: dict[str, SymbolState] = {}
    for bar in bars.sort_values("start").to_dict("records"):
        state = states.setdefault(bar["symbol"], SymbolState(bar["symbol"]))
        # the simulated trades arrive at their time: a bar's last one by its end at the latest
        last_rx = min(bar["end"], written_at)
        full = {**bar, "sum_logp": 0.0, "sum_logp2": 0.0, "volatility": None, "last_rx": last_rx}
        for collection, key, doc in state.update(full, slide_bars):
            store.upsert(collection, [(key, {**doc, "written_at": written_at})])
