"""Joined alert rows → output rows with class, probabilities and processing flags.

Plain pandas in, pandas out: Spark calls it through ``mapInPandas`` on executors, and tests
call it directly. The model is loaded once per Python worker (``load_classifier`` caches it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.alerts.features import metadata_features
from caudal.pipelines.alerts.records import CANDIDATE_FIELDS
from caudal.pipelines.alerts.stamps import (
    CHANNELS,
    StampError,
    Triplet,
    decode_stamp,
    prepare_batch,
)

HISTORY_COLUMNS = ["n_prv", "n_prv_detections", "prv_first_jd", "prv_last_jd", "source_file"]
METADATA_COLUMNS = [*CANDIDATE_FIELDS, *HISTORY_COLUMNS]
MAX_NAN_FRACTION = 0.5


def _cutouts(stamps: tuple[bytes | None, ...]) -> tuple[Triplet | None, str | None]:
    """The decoded cutouts of one alert (its science, template and difference bytes), or the
    reason it cannot be classified.

    Runs on executors (mapInPandas in job.py); the UI and tests call it on the driver too."""
    try:
        images = tuple(decode_stamp(data) if data is not None else None for data in stamps)
    except StampError as exc:
        return None, f"corrupt cutout: {exc.reason}"
    missing = [c for c, im in zip(CHANNELS, images, strict=True) if im is None]
    if missing:
        return None, f"missing cutout(s): {', '.join(missing)}"
    return images, None


def _tensors(triplets: dict[int, Triplet], errors: list[str | None]) -> dict[int, np.ndarray]:
    """The model tensors of the decoded alerts, normalised together; an alert whose stamps
    are mostly masked gets its reason in ``errors`` instead.

    Runs on executors (mapInPandas in job.py); the UI and tests call it on the driver too."""
    rows = sorted(triplets)
    batch, flags = prepare_batch([triplets[i] for i in rows])
    tensors = {}
    for i, tensor, flag in zip(rows, batch, flags, strict=True):
        if flag.max_nan_fraction > MAX_NAN_FRACTION:
            errors[i] = f"cutout {flag.max_nan_fraction:.0%} NaN"
        else:
            tensors[i] = tensor
    return tensors


def classify_frame(frame: pd.DataFrame, model_path: Path, classes: list[str]) -> pd.DataFrame:
    """One output row per input row; never raises on bad alerts (the row says why).

    A ``decode_error`` column, where the frame has one, says why a half of the alert could
    not be decoded; such an alert is not classified.

    Runs on executors (mapInPandas in job.py); the UI and tests call it on the driver too."""
    n = len(frame)
    out = pd.DataFrame({"objectId": frame["objectId"], "candid": frame["candid"]})
    errors: list[str | None] = [None] * n
    triplets: dict[int, Triplet] = {}
    problems = frame["decode_error"] if "decode_error" in frame else [None] * n
    stamps = zip(*(frame[c] for c in CHANNELS), strict=True)  # columns, not rows: 10x faster
    halves = zip(problems, frame["has_cutouts"], frame["has_metadata"], stamps, strict=True)
    for i, (problem, has_cutouts, has_metadata, triplet) in enumerate(halves):
        if problem:
            errors[i] = problem
        elif not has_cutouts:
            errors[i] = "cutouts never arrived"
        elif not has_metadata:
            errors[i] = "metadata never arrived"
        else:
            decoded, errors[i] = _cutouts(triplet)
            if decoded is not None:
                triplets[i] = decoded
    tensors = _tensors(triplets, errors)
    proba = np.full((n, len(classes)), np.nan)
    if tensors:
        rows = sorted(tensors)
        model = load_classifier(model_path)
        meta = metadata_features(frame.iloc[rows][list(CANDIDATE_FIELDS)].reset_index(drop=True))
        proba[rows] = model.predict_proba(
            {"stamps": np.stack([tensors[i] for i in rows]), "metadata": meta}
        )
    classified = ~np.isnan(proba).any(axis=1)
    best = np.where(classified, np.nan_to_num(proba).argmax(axis=1), 0)
    out["class"] = [classes[b] if ok else None for b, ok in zip(best, classified, strict=True)]
    out["confidence"] = np.where(classified, np.nan_to_num(proba).max(axis=1), np.nan)
    for j, name in enumerate(classes):
        out[f"p_{name}"] = proba[:, j]
    for col in METADATA_COLUMNS:
        out[col] = frame[col].to_numpy()
    out["has_metadata"] = frame["has_metadata"].astype(bool).to_numpy()
    out["has_cutouts"] = frame["has_cutouts"].astype(bool).to_numpy()
    out["cutouts_valid"] = [i in tensors for i in range(n)]
    out["classified"] = classified
    out["error"] = errors
    return out
