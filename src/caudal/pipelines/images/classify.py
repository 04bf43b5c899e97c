"""Requests → prediction rows: fetch each image, decode, classify. Plain pandas in and out.

Spark calls ``classify_requests`` through ``mapInPandas`` on executors; the page's single and
camera modes and the tests call ``classify_images`` directly, so every path sees the same
model through the same preprocessing. The model loads once per Python worker
(``load_classifier`` caches it). A batch is worked through ``CHUNK`` requests at a time, so
an executor holds at most that many images' bytes and tensors whatever Spark hands it.
Nothing here raises for a bad image or a missing object: the row says why instead.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from caudal.models.onnx_classifier import OnnxClassifier, load_classifier
from caudal.pipelines.images.fruit import FruitView
from caudal.pipelines.images.preprocess import ImageError, InputSpec, prepare
from caudal.pipelines.images.settings import ImagesSettings
from caudal.settings import Settings
from caudal.storage.base import ObjectStore, StoreError, StoreUnreachable
from caudal.storage.factory import object_store

TOP_K = 5
CHUNK = 32
FETCH_THREADS = 8
FETCH_TRIES = 3
FETCH_BACKOFF_S = 1.0
OUTPUT_COLUMNS = [
    "request_id", "session_id", "file_name", "image_url", "status", "label", "confidence",
    "top5", "fruit", "fruit_p", "error", "model_name", "model_version", "size", "sha256",
    "received_at", "classified_at",
]  # fmt: skip
OUTPUT_SCHEMA = (
    "request_id string, session_id string, file_name string, image_url string, status string, "
    "label string, confidence double, top5 string, fruit string, fruit_p double, "
    "error string, model_name string, model_version string, size long, sha256 string, "
    "received_at timestamp, classified_at timestamp"
)


@dataclass(frozen=True)
class Prediction:
    """One image's answer: label, top five and fruit view, or the reason there is none."""

    label: str | None
    confidence: float | None
    top5: list[tuple[str, float]]
    fruit: str | None = None
    fruit_p: float | None = None
    error: str | None = None

    def top5_json(self) -> str | None:
        """The ``top5`` column: ``[{"label": ..., "p": ...}, ...]``, most probable first."""
        if not self.top5:
            return None
        return json.dumps([{"label": lb, "p": round(p, 6)} for lb, p in self.top5])


def model_identity(model: OnnxClassifier) -> tuple[str, str]:
    return str(model.card.get("name", model.path.stem)), str(model.card.get("version", "?"))


def classify_images(
    images: list[bytes | None], model: OnnxClassifier, max_pixels: int
) -> list[Prediction]:
    """One prediction per input, in order; ``None`` input means "already failed upstream"."""
    spec = InputSpec.from_card(model.card)
    fruit = FruitView.from_card(model.card, model.classes)
    tensors: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}
    for i, data in enumerate(images):
        if data is None:
            continue
        try:
            tensors[i] = prepare(data, spec, max_pixels)
        except ImageError as exc:
            errors[i] = exc.reason
    proba = np.zeros((0, len(model.classes)))
    rows = sorted(tensors)
    if rows:
        proba = model.predict_proba({spec.input: np.stack([tensors[i] for i in rows])})
    found = dict(zip(rows, proba, strict=True))
    out = []
    for i in range(len(images)):
        if i not in found:
            out.append(Prediction(None, None, [], error=errors.get(i)))
            continue
        order = np.argsort(found[i])[::-1][:TOP_K]
        top = [(model.classes[j], float(found[i][j])) for j in order]
        out.append(Prediction(top[0][0], top[0][1], top, *fruit.of(found[i])))
    return out


def fetch(store: ObjectStore, url: str, max_bytes: int) -> bytes:
    """The object's bytes; an unreachable store is retried a few times before giving up."""
    for attempt in range(FETCH_TRIES):
        try:
            return store.get(url, max_bytes)
        except StoreUnreachable:
            if attempt == FETCH_TRIES - 1:
                raise
            time.sleep(FETCH_BACKOFF_S * 2**attempt)
    raise AssertionError("unreachable")


def _fetch_all(
    frame: pd.DataFrame, settings: Settings
) -> tuple[list[bytes | None], list[str | None]]:
    """Bytes per row (fetched concurrently), or None plus the reason."""
    errors: list[str | None] = list(frame["rejected"].where(frame["rejected"].notna(), None))
    data: list[bytes | None] = [None] * len(frame)
    todo = [i for i, e in enumerate(errors) if e is None]
    if not todo:
        return data, errors
    store = object_store(settings)
    max_bytes = ImagesSettings.of(settings).max_bytes

    def one(i: int) -> tuple[int, bytes | None, str | None]:
        url = frame["image_url"].iat[i]
        if not isinstance(url, str) or not url:
            return i, None, "request has no image URL"
        try:
            return i, fetch(store, url, max_bytes), None
        except StoreError as exc:
            return i, None, exc.reason

    with ThreadPoolExecutor(min(FETCH_THREADS, len(todo))) as pool:
        for i, blob, error in pool.map(one, todo):
            data[i], errors[i] = blob, error
    return data, errors


def classify_requests(frame: pd.DataFrame, settings: Settings, model_path: Path) -> pd.DataFrame:
    """One output row per request row (``OUTPUT_COLUMNS``), ``CHUNK`` requests at a time."""
    frame = frame.reset_index(drop=True)
    model = load_classifier(model_path)
    max_pixels = ImagesSettings.of(settings).max_pixels
    name, version = model_identity(model)
    errors: list[str | None] = []
    predictions: list[Prediction] = []
    for start in range(0, len(frame), CHUNK):
        data, fetch_errors = _fetch_all(frame.iloc[start : start + CHUNK], settings)
        predictions += classify_images(data, model, max_pixels)
        errors += fetch_errors
    out = frame[["request_id", "session_id", "file_name", "image_url", "size", "sha256"]].copy()
    out["error"] = [e or p.error for e, p in zip(errors, predictions, strict=True)]
    out["status"] = np.where(out["error"].isna(), "classified", "error")
    out["label"] = [p.label for p in predictions]
    out["confidence"] = [p.confidence for p in predictions]
    out["top5"] = [p.top5_json() for p in predictions]
    out["fruit"] = [p.fruit for p in predictions]
    out["fruit_p"] = [p.fruit_p for p in predictions]
    out["model_name"], out["model_version"] = name, version
    out["received_at"] = pd.to_datetime(frame["uploaded_at"], utc=True)
    out["classified_at"] = pd.Timestamp.now(tz="UTC")
    return out[OUTPUT_COLUMNS]
