"""Classify one picture (upload or camera) at once, or a batch through the object store, Kafka
and Spark (`caudal run images`): table, image grid and statistics of a session, as its rows
arrive.

Layout only; every rule lives in ``page_data`` beside it. The session id is in the URL
(``?session=...``), so a reload, or the link sent to someone else, shows the same results.
"""

from __future__ import annotations

import time

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from caudal.errors import CaudalError
from caudal.pipelines.images import page_data as data
from caudal.pipelines.images.classify import Prediction
from caudal.pipelines.images.results import load_session
from caudal.pipelines.images.upload import BatchUploader, Upload, connect_uploader, new_session
from caudal.settings import Settings
from caudal.storage.keys import valid_session
from caudal.ui.charts import category_bars

REFRESH_S = 1.5
GRID_COLUMNS, GRID_MAX = 6, 60
MODES = ["Batch", "Single image", "Camera"]


@st.cache_resource(show_spinner=False)
def _settings() -> Settings:
    return Settings()


@st.cache_resource(show_spinner=False)
def _uploader() -> BatchUploader:
    return connect_uploader(_settings())


@st.cache_resource(show_spinner=False)
def _engine() -> sa.Engine:
    return data.engine(_settings())


@st.cache_data(max_entries=512, show_spinner=False)
def _thumbnail(url: str) -> bytes | None:
    return data.thumbnail(_settings(), url)


def _message(exc: CaudalError) -> None:
    st.warning(f"{exc.reason}\n\n{exc.hint or ''}", icon=":material/warning:")


def _session() -> str:
    session = st.query_params.get("session", "")
    if not valid_session(session):
        session = new_session()
        st.query_params["session"] = session
    return session


def _show_prediction(name: str, image: bytes, prediction: Prediction, took_ms: float) -> None:
    with st.container(key="single_result"):
        picture, answer = st.columns([1, 2], gap="large")
        picture.image(image, width="stretch")
        if prediction.error:
            answer.error(
                f"{name}: not classified: {prediction.error}", icon=":material/broken_image:"
            )
            return
        answer.markdown(
            f"`{name}`: **{prediction.label}**, confidence **{prediction.confidence:.0%}** "
            f"(in {took_ms:.0f} ms, in this process)"
        )
        answer.markdown(
            data.prediction_html(prediction.top5, prediction.fruit, prediction.fruit_p),
            unsafe_allow_html=True,
        )


def _single(source: str) -> None:
    if source == "Camera":
        picked = st.camera_input("Take a picture", key="camera")
    else:
        picked = st.file_uploader("An image", key="single")
    if picked is None:
        return
    blob = picked.getvalue()
    started = time.perf_counter()
    try:
        prediction = data.classify_one(blob, _settings())
    except CaudalError as exc:
        _message(exc)
        return
    _show_prediction(picked.name, blob, prediction, (time.perf_counter() - started) * 1000)


def _send(session: str, files: list) -> None:
    """Store and send the chosen files, with a progress bar; upload-time refusals listed."""
    bar = st.progress(0.0, text="storing and sending…")

    def progress(done: int) -> None:
        bar.progress(done / len(files), text=f"stored and sent {done} of {len(files)}")

    uploads = [Upload(f.name, f.getvalue(), f.type or "application/octet-stream") for f in files]
    try:
        sent = _uploader().submit(session, uploads, progress)
    except CaudalError as exc:
        _message(exc)
        return
    st.session_state["submitted"] = st.session_state.get("submitted", 0) + len(sent)
    for item in sent:
        if item.rejected:
            st.warning(f"{item.request.file_name}: {item.rejected}", icon=":material/block:")


def _batch(session: str) -> None:
    files = st.file_uploader("Images", accept_multiple_files=True, key="batch")
    if files and st.button(f"Classify {len(files)} images", key="send", type="primary"):
        _send(session, files)


def _stats(frame: pd.DataFrame) -> None:
    stats = data.session_stats(frame)
    cells = st.columns(6)
    cells[0].metric("Images", stats.rows, border=True)
    cells[1].metric("Classified", stats.classified, border=True)
    cells[2].metric("Errors", stats.errors, border=True)
    cells[3].metric("Fruit", stats.fruits, border=True)
    mean = f"{stats.mean_confidence:.0%}" if stats.mean_confidence is not None else "–"
    cells[4].metric("Mean confidence", mean, border=True)
    p50 = f"{stats.latency_p50_s:.2f} s" if stats.latency_p50_s is not None else "–"
    cells[5].metric("Latency p50 (upload → row)", p50, border=True)
    if not stats.per_class.empty:
        st.markdown("**Images per class**")
        classes = list(stats.per_class["class"])
        st.altair_chart(category_bars(stats.per_class, "class", "images", classes), width="stretch")


def _grid(frame: pd.DataFrame) -> None:
    shown = frame.head(GRID_MAX)
    with st.container(key="grid"):
        for start in range(0, len(shown), GRID_COLUMNS):
            cells = st.columns(GRID_COLUMNS)
            for cell, (_, row) in zip(
                cells, shown.iloc[start : start + GRID_COLUMNS].iterrows(), strict=False
            ):
                with cell:
                    thumb = _thumbnail(row["image_url"]) if row["status"] == "classified" else None
                    if thumb:
                        st.image(thumb, width="stretch")
                    if row["status"] == "classified":
                        st.caption(
                            f"{row['file_name']}  \n**{row['label']}** {row['confidence']:.0%}"
                        )
                        st.markdown(data.row_html(row), unsafe_allow_html=True)
                    else:
                        st.caption(f"{row['file_name']}  \n:red[{row['error']}]")
    if len(frame) > GRID_MAX:
        st.caption(f"The first {GRID_MAX} of {len(frame)} images; the table has them all.")


def _results(session: str) -> None:
    try:
        frame = load_session(_engine(), session)
    except Exception as exc:  # any database failure is a message here, never a traceback
        st.warning(f"cannot read results: {str(exc).splitlines()[0]}", icon=":material/warning:")
        return
    submitted = max(st.session_state.get("submitted", 0), len(frame))
    if submitted == 0:
        st.info("No images in this session yet.", icon=":material/hourglass_empty:")
        return
    with st.container(key="progress"):
        st.progress(len(frame) / submitted, text=f"{len(frame)} of {submitted} images done")
    _stats(frame)
    with st.container(key="table"):
        st.dataframe(
            data.table_view(frame),
            hide_index=True,
            column_config={
                "confidence": st.column_config.ProgressColumn(
                    "confidence", min_value=0, max_value=100, format="%.0f%%"
                ),
                "latency_s": st.column_config.NumberColumn("latency", format="%.2f s"),
                "error": st.column_config.TextColumn("error", width="large"),
            },
        )
    _grid(frame)


st.title("Images")
st.caption(
    "Single image and camera: classified at once in this process. Batch: each file is stored "
    "in the object store, sent to Kafka (`images.requests`) and classified by "
    "`caudal run images` (Spark), which writes the `predictions` table this page reads."
)
session_id = _session()
mode = st.segmented_control("Mode", MODES, default="Batch", key="mode") or "Batch"
if mode == "Batch":
    _batch(session_id)
    st.caption(f"Session `{session_id}`: keep this page's address to come back to its results.")
    st.fragment(_results, run_every=REFRESH_S)(session_id)
else:
    _single(mode)
