"""112 calls of `caudal run emergencies`: records per route topic and dead letters, calls per
route over time, and the newest calls on a map of Spain.

Read from the route topics. Layout only; reading and the charts live in ``page_data`` beside it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from caudal.errors import CaudalError
from caudal.pipelines.emergencies import page_data as data
from caudal.settings import get_settings

REFRESH_S = 3


def _totals(totals: pd.DataFrame) -> None:
    routed = int(totals.loc[totals["route"] != data.DEAD_LETTERS, "calls"].sum())
    dead = int(totals.loc[totals["route"] == data.DEAD_LETTERS, "calls"].sum())
    cells = st.columns(3)
    cells[0].metric("Routed calls", f"{routed:,}", border=True)
    cells[1].metric("Dead letters", f"{dead:,}", border=True)
    cells[2].metric("Routes", f"{len(totals) - 1}", border=True)
    with st.container(key="totals"):
        shown = totals.assign(records=totals["calls"].map("{:,}".format))
        st.table(shown[["route", "topic", "records"]].set_index("route"))


def _recent(snapshot: data.Snapshot, routes: list[str]) -> None:
    calls = snapshot.calls
    st.caption(
        f"The newest {data.PER_TOPIC:,} records of each route ({len(calls):,} here), "
        f"counted per {data.bin_seconds(calls):g} s of routing time."
    )
    with st.container(key="timeline"):
        st.altair_chart(data.timeline_chart(data.counts_over_time(calls), routes), width="stretch")
    points = data.map_points(calls)
    with st.container(key="map"):
        st.markdown(f"**{len(points):,} calls on the map** · Canary Islands in the inset")
        st.altair_chart(data.map_chart(points, routes), width="stretch")
    medical = calls.dropna(subset=["hospital"]).head(20)
    if not medical.empty:
        st.markdown("**Newest medical calls and their destination**")
        columns = ["id_aviso", "tipo", "municipio", "hospital", "distancia_km", "eta_min"]
        st.dataframe(medical[columns], hide_index=True, width="stretch")


def _page() -> None:
    settings = get_settings()
    try:
        snapshot = data.load(settings)
    except CaudalError as exc:
        st.warning(f"{exc.reason}\n\n{exc.hint or ''}", icon=":material/warning:")
        return
    _totals(snapshot.totals)
    if snapshot.calls.empty:
        st.info(
            "No call routed yet: start `caudal run emergencies` (or `--watch` to keep going).",
            icon=":material/hourglass_empty:",
        )
        return
    st.divider()
    _recent(snapshot, list(snapshot.totals["route"]))


st.title("Emergencies")
st.caption(
    "112 calls routed by `caudal run emergencies`: the SQL routes' topics and the dead-letter "
    "topic, read from the broker (totals from offsets, chart and map from the newest records)."
)
follow = st.toggle("Auto-refresh", key="follow", help=f"Re-read the topics every {REFRESH_S} s.")
st.fragment(_page, run_every=REFRESH_S if follow else None)()
