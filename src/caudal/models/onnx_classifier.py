"""Run any shipped ONNX classifier: one session per model file per process, batched, softmaxed.

A model ``name.onnx`` ships with a sidecar ``name.json`` (the model card's machine-readable
part) holding at least ``classes``; ``output.kind`` says whether the graph already ends in a
softmax (``"probabilities"``, the default) or returns ``"logits"``. Streaming workers call
``load_classifier`` per batch; the cache keeps the session alive so the model loads once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from caudal.errors import CaudalError

_CACHE: dict[tuple[str, int, int], OnnxClassifier] = {}
_LOCK = threading.Lock()


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax.

    Runs where the model is used: on executors inside a pipeline's mapInPandas, and on the driver
    (UI, training)."""
    shifted = logits - logits.max(axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=axis, keepdims=True)


def sidecar_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_labels(model_path: Path) -> dict[str, Any]:
    """The sidecar JSON of a model (classes, input names, version, metrics)."""
    path = sidecar_path(model_path)
    try:
        card = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CaudalError(f"model sidecar {path} not found", "ship it next to the .onnx") from exc
    except json.JSONDecodeError as exc:
        raise CaudalError(f"model sidecar {path} is not valid JSON: {exc}") from exc
    if not isinstance(card.get("classes"), list) or not card["classes"]:
        raise CaudalError(f"model sidecar {path} has no 'classes' list")
    return card


class OnnxClassifier:
    """An ONNX Runtime session plus its class names; ``predict_proba`` returns [N, C]."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        import onnxruntime as ort  # optional at import time: only model users need it

        self.path = Path(path)
        self.card = read_labels(self.path)
        self.classes: list[str] = list(self.card["classes"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise CaudalError(f"cannot load ONNX model {self.path}: {exc}") from exc
        self.input_names = [i.name for i in self.session.get_inputs()]
        self._logits = self.card.get("output", {}).get("kind") == "logits"

    def predict_proba(
        self, inputs: Mapping[str, np.ndarray] | np.ndarray, batch_size: int = 256
    ) -> np.ndarray:
        """Probabilities [N, n_classes]; a bare array feeds a single-input model."""
        if not isinstance(inputs, Mapping):
            inputs = {self.input_names[0]: inputs}
        missing = set(self.input_names) - set(inputs)
        if missing:
            raise CaudalError(f"model {self.path.name} needs inputs {sorted(missing)}")
        arrays = {name: np.asarray(inputs[name], dtype=np.float32) for name in self.input_names}
        n = len(next(iter(arrays.values())))
        if n == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        outputs = []
        for start in range(0, n, batch_size):
            feed = {k: v[start : start + batch_size] for k, v in arrays.items()}
            outputs.append(self.session.run(None, feed)[0])
        scores = np.concatenate(outputs).astype(np.float32)
        return softmax(scores) if self._logits else scores

    def predict(self, inputs: Mapping[str, np.ndarray] | np.ndarray) -> list[tuple[str, float]]:
        """(class, confidence) per row."""
        proba = self.predict_proba(inputs)
        best = proba.argmax(axis=1)
        return [(self.classes[i], float(proba[row, i])) for row, i in enumerate(best)]


def load_classifier(path: Path, threads: int = 1) -> OnnxClassifier:
    """Cached ``OnnxClassifier``: keyed by resolved path and mtime so a retrained file reloads.

    Runs where the model is used: on executors inside a pipeline's mapInPandas, and on the driver
    (UI, training)."""
    resolved = Path(path).resolve()
    try:
        key = (str(resolved), resolved.stat().st_mtime_ns, threads)
    except FileNotFoundError as exc:
        raise CaudalError(f"model {resolved} not found", "train or download it first") from exc
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = OnnxClassifier(resolved, threads)
        return _CACHE[key]
