"""Streamlit controls shared by the pages (runs in the UI's process, on each rerun)."""

from __future__ import annotations

import streamlit as st


def source_row(label: str, value: str, key: str, follow_help: str) -> tuple[str, bool]:
    """What the page reads (a file or folder, kept in the URL as ``?<key>=``) beside its
    auto-refresh toggle; returns the path as typed, trimmed, and whether to follow it."""
    where, refresh = st.columns([3, 1], vertical_alignment="bottom")
    source = where.text_input(label, value=value, key=key, bind="query-params")
    follow = refresh.toggle("Auto-refresh", key="follow", help=follow_help)
    return source.strip(), follow
