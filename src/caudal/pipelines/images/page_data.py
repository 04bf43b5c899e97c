"""What the images page does, without Streamlit: upload a batch, classify one image, read a
session's rows back, summarise them, and draw one prediction (top five + fruit badge).

Runs in the page's process. Kept apart from the page so every rule (what a session's
statistics are, how a prediction is drawn) is unit-tested directly and the page stays layout
only. Failures the user can act on arrive as ``CaudalError``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

from caudal.models.onnx_classifier import OnnxClassifier, load_classifier
from caudal.pipelines.images.classify import Prediction, classify_images
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.results import top5
from caudal.pipelines.images.settings import ImagesSettings
from caudal.pipelines.images.table import results_engine
from caudal.settings import Settings
from caudal.storage.base import StoreError
from caudal.storage.factory import object_store

TABLE_COLUMNS = ["file_name", "status", "label", "confidence", "fruit", "error", "latency_s"]
BAR = "#4c78a8"


def model(settings: Settings) -> OnnxClassifier:
    return load_classifier(images_model(settings))


def classify_one(data: bytes, settings: Settings) -> Prediction:
    """The single-image and camera modes: in-process, the same model and preprocessing."""
    return classify_images([data], model(settings), ImagesSettings.of(settings).max_pixels)[0]


def engine(settings: Settings) -> sa.Engine:
    """The results database, its table made or migrated first (the page may start first)."""
    return results_engine(settings)


@dataclass(frozen=True)
class SessionStats:
    rows: int
    classified: int
    errors: int
    fruits: int
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
        fruits=int(ok["fruit"].notna().sum()),
        mean_confidence=float(ok["confidence"].mean()) if len(ok) else None,
        latency_p50_s=float(latency.median()) if len(latency) else None,
        per_class=pd.DataFrame({"class": counts.index, "images": counts.to_numpy()}),
    )


def table_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: confidence in percent, empty cells instead of None."""
    view = frame[TABLE_COLUMNS].copy()
    view["confidence"] = pd.to_numeric(view["confidence"], errors="coerce") * 100
    for column in ("label", "fruit", "error"):
        view[column] = view[column].fillna("")
    return view


def prediction_html(
    ranked: Sequence[tuple[str, float]], fruit: str | None, fruit_p: float | None
) -> str:
    """The top five as bars (label, percent, bar) and the fruit badge, as the page shows them.

    Labels are escaped: they come from the model's sidecar, the page renders this as HTML.
    """
    if fruit:
        share = f" {fruit_p:.0%}" if fruit_p is not None else ""
        text = f"fruit: {html.escape(fruit)}{share}"
        badge = _badge("caudal-fruit", "#e6f4ea;color:#1e6b34", text)
    else:
        badge = _badge("caudal-fruit caudal-no-fruit", "#eee;color:#555", "no fruit")
    bars = "".join(
        f'<div class="caudal-bar" style="font-size:.8em;line-height:1.3">'
        f'<span class="caudal-label">{html.escape(label)}</span> {p:.0%}'
        f'<div style="background:{BAR};height:.35em;width:{max(p, 0.01) * 100:.1f}%"></div></div>'
        for label, p in ranked
    )
    return f'<div class="caudal-top5">{badge}{bars}</div>'


def _badge(classes: str, colours: str, text: str) -> str:
    style = f"background:{colours};border-radius:1em;padding:0 .6em"
    return f'<span class="{classes}" style="{style}">{text}</span>'


def row_html(row: pd.Series) -> str:
    """``prediction_html`` of one stored row (its ``top5`` JSON and fruit columns)."""
    ranked = [(t["label"], float(t["p"])) for t in top5(row.get("top5"))]
    fruit, fruit_p = row.get("fruit"), row.get("fruit_p")
    return prediction_html(
        ranked,
        fruit if isinstance(fruit, str) else None,
        float(fruit_p) if pd.notna(fruit_p) else None,
    )


def thumbnail(settings: Settings, url: object) -> bytes | None:
    """The stored bytes of one upload for the grid; None when it cannot be shown."""
    if not isinstance(url, str) or not url:
        return None
    try:
        return object_store(settings).get(url, ImagesSettings.of(settings).max_bytes)
    except StoreError:
        return None
