"""Held-out metrics every model card reports: accuracy, per-class figures, confusion matrix."""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, per-class precision/recall/support, confusion matrix (rows = truth), log loss."""
    pred = proba.argmax(axis=1)
    n = len(classes)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (y_true, pred), 1)
    per_class = {}
    for i, name in enumerate(classes):
        tp = confusion[i, i]
        per_class[name] = {
            "precision": float(tp / max(confusion[:, i].sum(), 1)),
            "recall": float(tp / max(confusion[i].sum(), 1)),
            "support": int(confusion[i].sum()),
        }
    picked = np.clip(proba[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    return {
        "accuracy": float((pred == y_true).mean()),
        "log_loss": float(-np.log(picked).mean()),
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "n": int(len(y_true)),
    }
