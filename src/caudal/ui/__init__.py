"""The web UI (``caudal ui``): one Streamlit app, a page per pipeline (see ``views/``)."""

from pathlib import Path

DEMO_OUTPUT = Path(".caudal/demo/alerts.csv")  # what `caudal demo` writes; opened by default
