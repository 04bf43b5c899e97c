"""The Streamlit entry point that ``caudal ui`` runs: page setup and navigation only.

Streamlit executes this file on every rerun, then the selected page's script.
"""

from __future__ import annotations

import streamlit as st

from caudal.pipelines.definition import Page
from caudal.ui.pages import CLUSTER_PAGE, HOME_SCRIPT, pipeline_pages


def _entry(page: Page) -> st.Page:
    return st.Page(page.script, title=page.title, icon=page.icon, url_path=page.url_path)


st.set_page_config(page_title="Caudal", page_icon=":material/waves:", layout="wide")
home = st.Page(HOME_SCRIPT, title="Home", icon=":material/home:", default=True)
pipelines = [_entry(p) for p in pipeline_pages()]
st.navigation({"Caudal": [home, _entry(CLUSTER_PAGE)], "Pipelines": pipelines}).run()
