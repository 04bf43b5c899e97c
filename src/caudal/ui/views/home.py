"""Home page: what Caudal's UI is and what each pipeline page shows."""

from __future__ import annotations

import streamlit as st

from caudal.ui.pages import CLUSTER_PAGE, pipeline_pages

st.title("Caudal")
st.write(
    "Results of Caudal's real-time pipelines (Kafka → Spark Structured Streaming → files). "
    "Each page reads what a pipeline run writes, and can follow a run while it is writing."
)
for page in [CLUSTER_PAGE, *pipeline_pages()]:
    with st.container(border=True):
        st.page_link(str(page.script), label=page.title, icon=page.icon)
        st.write(page.summary)
