"""What the images page does, without Streamlit: upload a batch, classify one image, read a
session's rows back and summarise them.

Kept apart from the page so every rule (what a session's statistics are, how latency is
measured) is unit-tested directly and the page stays layout only. Failures the user can act
on arrive as ``CaudalError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.embedded import resolve_bootstrap
from caudal.models.onnx_classifier import OnnxClassifier, load_classifier
from caudal.pipelines.images.classify import Prediction, classify_images
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.table import predictions
from caudal.pipelines.images.upload import BatchUploader
from caudal.settings import Settings
from caudal.sinks.sql import database_url, make_engine
from caudal.storage.base import StoreError
from caudal.storage.factory import object_store

TABLE_COLUMNS = ["file_name", "status", "label", "confidence", "error", "latency_s"]


def uploader(settings: Settings) -> BatchUploader:
    """A producer on the running broker, with the requests topic there (made if missing)."""
    bootstrap = resolve_bootstrap(settings)
    topic = settings.topic(TOPIC)
    admin = TopicAdmin(settings, bootstrap)
    try:
        admin.create(topic, 2, {}, exist_ok=True)
    finally:
        admin.close()
    store = object_store(settings)
    store.check()
    return BatchUploader(settings, store, client_config(settings, bootstrap), topic)


def model(settings: Settings) -> OnnxClassifier:
    return load_classifier(images_model(settings))


def classify_one(data: bytes, settings: Settings) -> Prediction:
    """The single-image and camera modes: in-process, the same model and preprocessing."""
    return classify_images([data], model(settings), settings.images_max_pixels)[0]


def engine(settings: Settings) -> sa.Engine:
    return make_engine(database_url(settings))


def load_session(db: sa.Engine, session_id: str) -> pd.DataFrame:
    """Every row of one session, in the order they were classified; empty if none (yet)."""
    query = (
        sa.select(predictions)
        .where(predictions.c.session_id == session_id)
        .order_by(predictions.c.classified_at, predictions.c.file_name)
    )
    try:
        with db.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return pd.DataFrame(columns=[c.name for c in predictions.columns] + ["latency_s"])
        raise
    if frame.empty:
        return pd.DataFrame(columns=[c.name for c in predictions.columns] + ["latency_s"])
    frame["latency_s"] = latency_s(frame)
    return frame


def latency_s(frame: pd.DataFrame) -> pd.Series:
    """Seconds from the page receiving a file to its row being classified (end to end)."""
    received = pd.to_datetime(frame["received_at"], utc=True, format="mixed")
    classified = pd.to_datetime(frame["classified_at"], utc=True, format="mixed")
    return (classified - received).dt.total_seconds()


@dataclass(frozen=True)
class SessionStats:
    rows: int
    classified: int
    errors: int
    mean_confidence: float | None
    latency_p50_s: float | None
    per_class: pd.DataFrame


def session_stats(frame: pd.DataFrame) -> SessionStats:
    ok = frame[frame["status"] == "classified"]
    counts = ok["label"].value_counts()
    latency = pd.to_numeric(frame["latency_s"], errors="coerce").dropna()
    return SessionStats(
        rows=len(frame),
        classified=len(ok),
        errors=len(frame) - len(ok),
        mean_confidence=float(ok["confidence"].mean()) if len(ok) else None,
        latency_p50_s=float(latency.median()) if len(latency) else None,
        per_class=pd.DataFrame({"class": counts.index, "images": counts.to_numpy()}),
    )


def table_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: confidence in percent, empty cells instead of None."""
    view = frame[TABLE_COLUMNS].copy()
    view["confidence"] = pd.to_numeric(view["confidence"], errors="coerce") * 100
    view["label"] = view["label"].fillna("")
    view["error"] = view["error"].fillna("")
    return view


def thumbnail(settings: Settings, url: object) -> bytes | None:
    """The stored bytes of one upload for the grid; None when it cannot be shown."""
    if not isinstance(url, str) or not url:
        return None
    try:
        return object_store(settings).get(url, settings.images_max_bytes)
    except StoreError:
        return None
