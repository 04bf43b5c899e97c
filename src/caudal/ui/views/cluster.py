"""The Kafka cluster and what runs on it, as `caudal status` prints it: brokers, topics with
partitions, replication, end offsets and records/s, consumer groups with their lag, and the
running pipelines' queries with rate, batch duration, state and last progress.

Layout only; reading lives in ``caudal.ui.cluster_data``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from caudal.errors import CaudalError
from caudal.settings import get_settings
from caudal.status import Section
from caudal.ui import cluster_data as data

REFRESH_S = 2


def _section(section: Section) -> None:
    key = section.title.replace(" ", "-")
    st.subheader(section.title.capitalize())
    with st.container(key=key):
        if not section.rows:
            st.caption(section.empty)
            return
        frame = pd.DataFrame(section.rows, columns=section.columns)
        st.table(frame.set_index(section.columns[0]))


def _page() -> None:
    try:
        now, tables = data.load(get_settings(), st.session_state.get("cluster_look"))
    except CaudalError as exc:
        st.warning(f"{exc.reason}\n\n{exc.hint or ''}", icon=":material/warning:")
        return
    st.session_state["cluster_look"] = now
    st.caption(f"Broker at `{now.bootstrap}`; records/s since the previous refresh.")
    for section in tables:
        _section(section)


st.title("Cluster")
st.caption(
    "The Kafka cluster (admin API) and the queries of the pipelines running on this data dir "
    "(Spark's progress, published by each `caudal run`)."
)
follow = st.toggle(
    "Auto-refresh", value=True, key="follow", help=f"Look again every {REFRESH_S} s."
)
st.fragment(_page, run_every=REFRESH_S if follow else None)()
