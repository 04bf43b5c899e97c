"""The Streamlit entry point that ``caudal ui`` runs: page setup and navigation only.

Streamlit executes this file on every rerun, then the selected page's script.
"""

from __future__ import annotations

import streamlit as st

from caudal.ui.views import CLUSTER_PAGE, HERE, PIPELINE_PAGES

st.set_page_config(page_title="Caudal", page_icon=":material/waves:", layout="wide")
home = st.Page(HERE / "home.py", title="Home", icon=":material/home:", default=True)
pipelines = [
    st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PIPELINE_PAGES
]
cluster = st.Page(
    CLUSTER_PAGE.path,
    title=CLUSTER_PAGE.title,
    icon=CLUSTER_PAGE.icon,
    url_path=CLUSTER_PAGE.url_path,
)
st.navigation({"Caudal": [home, cluster], "Pipelines": pipelines}).run()
