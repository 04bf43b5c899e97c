"""Train the shipped image classifier on Fashion-MNIST, export ONNX, write sidecar and card.

    caudal train images --out models/images_fashion_classifier.onnx

Deterministic for a seed and thread count. The held-out figures come from the official 10,000
test images, never trained on, each encoded as PNG and sent through the same ``preprocess``
path the pipeline uses, so the card measures what the pipeline does.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from caudal.models.metrics import classification_metrics
from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images import card
from caudal.pipelines.images.dataset import CLASSES, DEFAULT_DIR, load_split
from caudal.pipelines.images.preprocess import InputSpec, prepare

Progress = Callable[[str, float], None]
NAME, VERSION, OPSET = "images_fashion_classifier", "1.0.0", 17
MEAN, STD = 0.2860, 0.3530  # of the training images, pixels scaled to [0, 1]
PREPROCESS = {"input": "image", "size": [28, 28], "mode": "L", "mean": [MEAN], "std": [STD]}


def fit(images: np.ndarray, labels: np.ndarray, epochs: int, seed: int, progress: Progress) -> Any:
    """Train ``SmallImageNet`` with AdamW, one-cycle schedule and random horizontal flips."""
    import torch

    from caudal.pipelines.images.net import SmallImageNet

    torch.manual_seed(seed)
    x = torch.from_numpy(((images.astype(np.float32) / 255.0 - MEAN) / STD)[:, None])
    y = torch.from_numpy(labels)
    model = SmallImageNet(1, len(CLASSES))
    steps = epochs * ((len(y) + 127) // 128)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(y), generator=generator).split(128):
            batch = x[idx]
            flip = torch.rand(len(idx), generator=generator) < 0.5
            batch[flip] = batch[flip].flip(3)
            loss = loss_fn(model(batch), y[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        progress(
            f"epoch {epoch + 1}/{epochs} loss {total / len(y):.4f}",
            0.1 + 0.7 * (epoch + 1) / epochs,
        )
    return model.eval()


def export_onnx(model: Any, path: Path) -> None:
    import torch

    from caudal.pipelines.images.net import WithSoftmax

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        WithSoftmax(model).eval(),
        (torch.zeros(2, 1, 28, 28),),
        str(path),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "n"}, "probabilities": {0: "n"}},
        opset_version=OPSET,
        dynamo=False,  # the torch.export-based exporter needs onnxscript; this one does not
    )


def png_bytes(pixels: np.ndarray) -> bytes:
    """One grey image as PNG, the form in which the pipeline would receive it."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def evaluate(path: Path, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Held-out metrics of the exported model, through the pipeline's own preprocessing."""
    classifier = load_classifier(path)
    spec = InputSpec.from_card(classifier.card)
    batch = np.stack([prepare(png_bytes(im), spec, 10**6) for im in images])
    return classification_metrics(labels, classifier.predict_proba(batch), CLASSES)


def train(
    out: Path,
    data_dir: Path = DEFAULT_DIR,
    epochs: int = 6,
    seed: int = 0,
    threads: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, export ``out`` + ``.json`` sidecar + ``.md`` card; returns the card's numbers."""
    import torch

    report = progress or (lambda _m, _f: None)
    started = time.perf_counter()
    report("reading Fashion-MNIST", 0.0)
    train_x, train_y = load_split(data_dir, "train")
    test_x, test_y = load_split(data_dir, "t10k")
    torch.set_num_threads(threads)
    model = fit(train_x, train_y, epochs, seed, report)
    export_onnx(model, out)
    info: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "classes": CLASSES,
        "preprocess": PREPROCESS,
        "output": {"name": "probabilities", "kind": "probabilities"},
        "opset": OPSET,
        "training": {
            "data": f"Fashion-MNIST ({data_dir}, Debian package dataset-fashion-mnist)",
            "n_train": int(len(train_y)),
            "epochs": epochs,
            "seed": seed,
            "threads": threads,
            "command": f"caudal train images --out {out} --epochs {epochs} --seed {seed}",
        },
    }
    out.with_suffix(".json").write_text(json.dumps(info, indent=2) + "\n")
    report("evaluating the exported model on the 10,000 test images", 0.85)
    info["heldout"] = evaluate(out, test_x, test_y)
    info["training"]["seconds"] = round(time.perf_counter() - started, 1)
    info["onnx_bytes"] = out.stat().st_size
    sidecar = {k: v for k, v in info.items() if k != "heldout"}
    sidecar["heldout_accuracy"] = info["heldout"]["accuracy"]
    out.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    out.with_suffix(".md").write_text(card.render_card(info))
    report(f"held-out accuracy {info['heldout']['accuracy']:.3f}", 1.0)
    return info
