"""Bronze / silver / gold Delta tables of `caudal run lakehouse`: rows, freshness, history and
sample rows of each table, quarantined rows by rule.

Layout only; reading lives in ``page_data`` beside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from caudal.errors import CaudalError
from caudal.pipelines.lakehouse import page_data as data
from caudal.pipelines.lakehouse.layout import Layout
from caudal.settings import get_settings
from caudal.ui.widgets import source_row

REFRESH_S = 5


def _overview(layout: Layout) -> None:
    summaries = data.table_summaries(layout)
    if summaries.empty:
        st.info(
            f"No Delta tables under {layout.root} yet: generate data "
            "(`caudal lakehouse generate files|events`) and run `caudal run lakehouse`.",
            icon=":material/hourglass_empty:",
        )
        return
    cells = st.columns(4)
    for cell, layer in zip(cells, ["bronze", "silver", "gold", "quarantine"], strict=True):
        rows = summaries.loc[summaries["layer"] == layer, "rows"].sum()
        cell.metric(layer.capitalize(), f"{int(rows):,} rows", border=True)
    with st.container(key="tables"):
        st.table(summaries.drop(columns=["path"]).set_index(["layer", "table"]))
    _detail(layout, summaries)


def _detail(layout: Layout, summaries: pd.DataFrame) -> None:
    st.subheader("Table")
    labels = [f"{r.layer} · {r.table}" for r in summaries.itertuples()]
    choice = st.selectbox("Table", labels, key="table")
    layer, name = str(choice).split(" · ")
    try:
        path = data.table_path(layout, layer, name)
        history, rows = st.tabs(["History", "Sample rows"])
        with history, st.container(key="history"):
            st.table(data.history(path).set_index("version"))
        with rows, st.container(key="sample"):
            st.dataframe(data.sample(path), hide_index=True, width="stretch")
    except CaudalError as exc:
        st.warning(f"{exc.reason}\n\n{exc.hint or ''}", icon=":material/warning:")


def _quarantine(layout: Layout) -> None:
    st.subheader("Quarantine by rule")
    rules = data.quarantine_by_rule(layout)
    if rules.empty:
        st.success("Nothing quarantined.", icon=":material/check_circle:")
        return
    with st.container(key="quarantine"):
        st.table(rules.set_index(["dataset", "layer", "rule"]))


def _page(root: str) -> None:
    layout = Layout(Path(root).expanduser().resolve())
    _overview(layout)
    st.divider()
    _quarantine(layout)


st.title("Lakehouse")
st.caption(
    "Bronze / silver / gold Delta tables written by `caudal run lakehouse`, read from their "
    "Delta logs: row counts, last commit, history, sample rows, and quarantined rows by rule."
)
root, follow = source_row(
    "Lakehouse folder", str(Layout.of(get_settings()).root), "root", f"Re-read every {REFRESH_S} s."
)
st.fragment(_page, run_every=REFRESH_S if follow else None)(root)
