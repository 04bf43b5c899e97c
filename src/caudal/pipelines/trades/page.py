"""Live market trades of `caudal run trades`: per symbol price candles with VWAP, volume,
next-bar forecast against actual with rolling error, and feed health.

Layout only; the data comes from ``page_data`` beside it over the document store that
``caudal run trades`` writes. The charts refresh every ``REFRESH_S`` while auto-refresh is on.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from caudal.docstore import DocumentStore, open_store
from caudal.pipelines.trades import page_data as data
from caudal.settings import Settings
from caudal.ui.charts import PALETTE

REFRESH_S = 2
SERIES = {"actual": "#31333f", "model": PALETTE[1], "naive": PALETTE[0]}


@st.cache_resource(show_spinner=False)
def _store() -> DocumentStore:
    return open_store(Settings())


def _candles(frame: pd.DataFrame) -> alt.LayerChart:
    base = alt.Chart(frame).encode(x=alt.X("time:T", title=None))
    colour = alt.condition("datum.rising", alt.value(PALETTE[2]), alt.value(PALETTE[4]))
    wick = base.mark_rule().encode(
        y=alt.Y("low:Q", scale=alt.Scale(zero=False), title="price"), y2="high:Q", color=colour
    )
    body = base.mark_bar(size=5).encode(
        y="open:Q",
        y2="close:Q",
        color=colour,
        tooltip=["time:T", "open", "high", "low", "close", "vwap", "volume", "trades"],
    )
    vwap = base.mark_line(color=PALETTE[0], strokeDash=[4, 2]).encode(y="vwap:Q")
    return (wick + body + vwap).properties(height=300)


def _volume(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar(color=PALETTE[5])
        .encode(x=alt.X("time:T", title=None), y=alt.Y("volume:Q", title="volume"))
        .properties(height=120)
    )


def _forecasts(frame: pd.DataFrame) -> alt.VConcatChart:
    colour = alt.Color(
        "series:N", scale=alt.Scale(domain=list(SERIES), range=list(SERIES.values()))
    )
    base = alt.Chart(frame).encode(x=alt.X("time:T", title=None), color=colour)
    prices = base.mark_line(point=True).encode(
        y=alt.Y("close:Q", scale=alt.Scale(zero=False), title="close"),
        tooltip=["time:T", "series", "close"],
    )
    errors = (
        base.transform_filter("datum.series != 'actual'")
        .mark_line()
        .encode(y=alt.Y("bp:Q", title="rolling RMSE (bp)"))
    )
    return alt.vconcat(prices.properties(height=220), errors.properties(height=120))


def _symbol_view(store: DocumentStore, symbol: str) -> None:
    bars = data.bars(store, symbol)
    if bars.empty:
        st.info(f"No finished bar for {symbol} yet.", icon=":material/hourglass_empty:")
        return
    with st.container(key="candles"):
        st.markdown(f"**{symbol}**: bars with VWAP (dashed), newest {len(bars)}")
        st.altair_chart(_candles(bars), width="stretch")
        st.altair_chart(_volume(bars), width="stretch")
    with st.container(key="forecasts"):
        st.markdown("**Next-bar close: forecast against actual**, and rolling error")
        forecasts = data.forecasts(store, symbol)
        if forecasts.empty:
            st.info("No forecast scored yet (the model needs a few bars first).")
        else:
            st.altair_chart(_forecasts(forecasts), width="stretch")


def _live() -> None:
    store = _store()
    health = data.health(store)
    if health.empty:
        st.info(
            "No trades yet: start `caudal run trades` (it writes where this page reads: "
            "the data dir's documents.sqlite, or CAUDAL_MONGO_URL).",
            icon=":material/hourglass_empty:",
        )
        return
    with st.container(key="health"):
        st.markdown("**Feed and model health**")
        st.table(health.style.format(precision=2, na_rep="–").hide(axis="index"))
    known = list(health["symbol"])
    chosen = str(st.session_state.get("symbol"))
    _symbol_view(store, chosen if chosen in known else str(known[0]))


st.title("Trades")
st.caption(
    "Market trades of `caudal run trades`: WebSocket feed → Kafka → Spark event-time bars "
    "and an online regression scored against the naive last-value forecast."
)
pick, refresh = st.columns([3, 1], vertical_alignment="bottom")
pick.selectbox("Symbol", data.symbols(_store()) or ["(none yet)"], key="symbol")
follow = refresh.toggle("Auto-refresh", value=True, key="follow", help=f"Every {REFRESH_S} s.")
st.fragment(_live, run_every=REFRESH_S if follow else None)()
