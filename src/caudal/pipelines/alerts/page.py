"""Output of `caudal run alerts` / `caudal demo`: alerts per class, the classified alerts with
their flags and errors, and for one alert its science, template and difference stamps beside
the model's class probabilities.

Layout only; every rule lives in ``page_data`` beside it. Anything that can go wrong with
the file or a stamp arrives as a ``CaudalError`` and is shown as a message, never a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from caudal.errors import CaudalError
from caudal.pipelines.alerts import page_data as data
from caudal.ui.charts import category_bars
from caudal.ui.durations import age
from caudal.ui.widgets import source_row

REFRESH_S = 3
MAX_CHOICES = 2_000
STAMP_TITLES = {"science": "Science", "template": "Template", "difference": "Difference"}


@st.cache_data(max_entries=8, show_spinner=False)
def _results(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """Re-read only when the file changed (mtime and size are part of the cache key)."""
    return data.load_results(Path(path))


@st.cache_data(max_entries=256, show_spinner=False)
def _stamps(source_file: object, candid: int) -> dict[str, bytes | str]:
    return data.stamp_images(source_file, candid)


def _load(path: Path) -> pd.DataFrame:
    """Through the cache; a parquet folder's mtime changes as each batch file lands."""
    if not path.exists():
        return data.load_results(path)  # raises the "does not exist" message
    stat = path.stat()
    return _results(str(path), stat.st_mtime_ns, stat.st_size)


def _message(exc: CaudalError) -> None:
    st.warning(f"{exc.reason}\n\n{exc.hint or ''}", icon=":material/warning:")


def _classes(frame: pd.DataFrame) -> list[str]:
    """The model's classes, from the probability columns (present even before any alert)."""
    return [c.removeprefix("p_") for c in frame.columns if c.startswith("p_")]


def _summary(frame: pd.DataFrame, path: Path) -> None:
    """Headline numbers, then the per-class bar chart."""
    classified = int(frame["classified"].astype(bool).sum())
    cells = st.columns(4)
    cells[0].metric("Alerts", f"{len(frame):,}", border=True)
    cells[1].metric("Classified", f"{classified:,}", border=True)
    cells[2].metric("Not classified", f"{len(frame) - classified:,}", border=True)
    cells[3].metric("Since last write", age(time.time() - path.stat().st_mtime), border=True)
    st.markdown("**Alerts per class**")
    counts = data.class_counts(frame)
    st.altair_chart(category_bars(counts, "class", "alerts", _classes(frame)), width="stretch")


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    """Filters, the count they leave, and the table; returns the rows shown."""
    choose, show = st.columns([3, 2], vertical_alignment="bottom")
    picked = choose.multiselect(
        "Class", [*_classes(frame), data.UNCLASSIFIED], key="classes", placeholder="All classes"
    )
    shown = show.segmented_control("Show", list(data.SHOW), default="All", key="show")
    rows = data.filter_alerts(frame, picked, data.SHOW[shown or "All"])
    with st.container(key="table"):
        st.caption(f"**{len(rows):,}** of {len(frame):,} alerts · newest first")
        st.dataframe(
            data.table_view(rows),
            hide_index=True,
            height=min(38 + 35 * len(rows), 460),
            column_config={
                "confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0, max_value=100, format="%.0f%%", width="medium"
                ),
                "magpsf": st.column_config.NumberColumn("magpsf", format="%.2f", width="small"),
                "error": st.column_config.TextColumn("error", width="large"),
            },
        )
    return rows


def _detail(rows: pd.DataFrame) -> None:
    """One alert: its three stamps side by side and its class probabilities."""
    st.subheader("Stamps and probabilities")
    if rows.empty:
        st.info("No alert matches the filters.", icon=":material/filter_alt_off:")
        return
    choices = rows.head(MAX_CHOICES).set_index("candid")
    labels = {c: f"{c} · {r['objectId']} · {r['class']}" for c, r in choices.iterrows()}
    candid = st.selectbox("Alert", list(labels), format_func=labels.__getitem__, key="alert")
    if len(rows) > MAX_CHOICES:
        st.caption(f"The newest {MAX_CHOICES:,} matching alerts; narrow the filters for others.")
    row = choices.loc[candid]
    stamps, probs = st.columns([3, 1.3], gap="large")
    with stamps, st.container(key="stamps"):
        _stamp_row(row, int(candid))
    with probs, st.container(key="probabilities"):
        _probabilities(row, _classes(rows))


def _stamp_row(row: pd.Series, candid: int) -> None:
    """The three stamps side by side; a file problem is one message in their place."""
    try:
        images = _stamps(row["source_file"], candid)
    except CaudalError as exc:
        _message(exc)
        return
    for column, (name, image) in zip(st.columns(3), images.items(), strict=True):
        with column:
            if isinstance(image, bytes):
                st.image(image, caption=STAMP_TITLES[name], width="stretch")
            else:
                st.markdown(f"**{STAMP_TITLES[name]}**")
                st.warning(image, icon=":material/broken_image:")
    st.caption(_facts(row))


def _facts(row: pd.Series) -> str:
    facts = [f"objectId **{row['objectId']}**", f"candid {row.name}"]
    if pd.notna(row["magpsf"]):
        facts.append(f"magpsf {row['magpsf']:.2f}")
    if pd.notna(row.get("ra")) and pd.notna(row.get("dec")):
        facts.append(f"RA {row['ra']:.5f}°, Dec {row['dec']:+.5f}°")
    facts.append(f"file `{Path(row['source_file']).name}` · masked pixels in blue")
    return " · ".join(facts)


def _probabilities(row: pd.Series, classes: list[str]) -> None:
    if row["classified"]:
        st.markdown(f"Class **{row['class']}**, confidence **{row['confidence']:.0%}**")
    else:
        st.markdown(f"**Not classified** ({row['flags']})")
    probs = data.probabilities(row)
    if probs.empty:
        st.info(row["error"] if isinstance(row["error"], str) else "No probabilities.")
        return
    chart = category_bars(probs, "class", "probability", classes, ".0%", value_max=1.0)
    st.altair_chart(chart, width="stretch")


def _results_view(path: Path) -> None:
    try:
        frame = _load(path)
    except CaudalError as exc:
        _message(exc)
        return
    if frame.empty:
        st.info(f"{path} has no alerts yet.", icon=":material/hourglass_empty:")
        return
    _summary(frame, path)
    st.divider()
    _detail(_table(frame))


st.title("Alerts")
st.caption(
    "ZTF alerts classified by `caudal run alerts` (Kafka → Spark join → stamp CNN). "
    "Stamps are read from each alert's original Avro file."
)
output, follow = source_row(
    "Results file (CSV, or .parquet folder)",
    str(data.default_output(sys.argv[1:])),
    "output",
    f"Re-read the file every {REFRESH_S} s while a run writes.",
)
st.fragment(_results_view, run_every=REFRESH_S if follow else None)(Path(output))
