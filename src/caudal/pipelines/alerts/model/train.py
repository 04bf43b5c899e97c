"""Train the alert stamp classifier on simulated alerts, export ONNX, write the model card.

    python -m caudal.pipelines.alerts.model.train --out models/alerts_stamp_classifier.onnx --seed 0

Deterministic for a given seed and thread count. torch is an optional extra (``caudal[train]``)
so it is imported inside the functions; inference needs only onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.alerts.features import FEATURES
from caudal.pipelines.alerts.model import card
from caudal.pipelines.alerts.model.calibrate import default_samples_dir, measure_samples, summarise
from caudal.pipelines.alerts.model.scenes import CLASSES
from caudal.pipelines.alerts.model.simulate import simulate_dataset, write_alerts

Progress = Callable[[str, float], None]
VERSION = "1.0.0"
OPSET = 17
TEST_SEED_OFFSET = 1_000_003  # held-out alerts come from a different, non-overlapping seed


def _quiet(_message: str, _fraction: float) -> None:
    """Default progress callback: say nothing."""


def _batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + size] for i in range(0, n, size)]


def _augment(stamps: Any, rng: np.random.Generator) -> Any:
    """Random 90-degree rotation and flip per sample: the sky has no preferred orientation."""
    import torch

    out = stamps.clone()
    codes = rng.integers(0, 8, size=len(stamps))
    for code in np.unique(codes):
        idx = torch.from_numpy(np.flatnonzero(codes == code))
        part = torch.rot90(stamps[idx], int(code % 4), dims=(2, 3))
        out[idx] = torch.flip(part, dims=(3,)) if code >= 4 else part
    return out


def fit(data: tuple[np.ndarray, ...], epochs: int, seed: int, progress: Progress) -> Any:
    """Train ``StampClassifier`` on (stamps, metadata, labels); returns the model in eval mode."""
    import torch

    from caudal.pipelines.alerts.model.net import StampClassifier

    stamps, meta, labels = (torch.from_numpy(a) for a in data)
    torch.manual_seed(seed)
    model = StampClassifier(meta.shape[1], len(CLASSES))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    rng = np.random.default_rng([seed, 7])
    batches_per_epoch = len(_batches(len(labels), 128, rng))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=3e-3, total_steps=epochs * batches_per_epoch
    )
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for idx in _batches(len(labels), 128, rng):
            batch = torch.from_numpy(idx)
            logits = model(_augment(stamps[batch], rng), meta[batch])
            loss = loss_fn(logits, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
        progress(
            f"epoch {epoch + 1}/{epochs} loss {total / len(labels):.4f}",
            0.3 + 0.5 * (epoch + 1) / epochs,
        )
    return model.eval()


def export_onnx(model: Any, path: Path, n_meta: int) -> None:
    """Export the rotation-averaged softmax model with a dynamic batch dimension."""
    import torch

    from caudal.pipelines.alerts.model.net import RotationAveraged

    path.parent.mkdir(parents=True, exist_ok=True)
    example = (torch.zeros(2, 3, 63, 63), torch.zeros(2, n_meta))
    torch.onnx.export(
        RotationAveraged(model).eval(),
        example,
        str(path),
        input_names=["stamps", "metadata"],
        output_names=["probabilities"],
        dynamic_axes={"stamps": {0: "n"}, "metadata": {0: "n"}, "probabilities": {0: "n"}},
        opset_version=OPSET,
        dynamo=False,  # the torch.export-based exporter needs onnxscript; this one does not
    )


def _sidecar(path: Path, info: dict[str, Any]) -> None:
    keys = ("name", "version", "classes", "inputs", "output", "metadata_features", "opset")
    heldout = info.get("heldout", {})
    sidecar = {k: info[k] for k in keys} | {
        "heldout_accuracy": heldout.get("accuracy"),
        "heldout_n": heldout.get("n"),
        "training": {k: info[k] for k in ("seed", "test_seed", "n_train", "epochs", "command")},
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")


@contextmanager
def _torch_settings(threads: int) -> Iterator[None]:
    """Deterministic kernels on ``threads`` threads for the block; the caller's settings after."""
    import torch

    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        torch.use_deterministic_algorithms(before[1])


def _model_info(out_path: Path, seed: int, n_per_class: int, epochs: int) -> dict[str, Any]:
    """What the sidecar JSON and the card say about the exported model itself."""
    return {
        "name": "alerts_stamp_classifier",
        "version": VERSION,
        "classes": list(CLASSES),
        "inputs": {"stamps": [None, 3, 63, 63], "metadata": [None, len(FEATURES)]},
        "output": {"name": "probabilities", "kind": "probabilities"},
        "metadata_features": list(FEATURES),
        "opset": OPSET,
        "seed": seed,
        "test_seed": seed + TEST_SEED_OFFSET,
        "n_train": n_per_class * len(CLASSES),
        "epochs": epochs,
        "command": _command(out_path, seed, n_per_class, epochs),
        "onnx_bytes": out_path.stat().st_size,
    }


def evaluate(out_path: Path, test: tuple[np.ndarray, ...], samples: Path | None, seed: int) -> dict:
    """Held-out metrics of the exported ONNX model, real-alert table and calibration check."""
    classifier = load_classifier(out_path)
    proba = classifier.predict_proba({"stamps": test[0], "metadata": test[1]})
    return {
        "heldout": card.classification_metrics(test[2], proba, list(CLASSES)),
        "calibration": calibration_check(samples, seed),
        "real_samples": card.predict_real(classifier, samples) if samples else [],
    }


def train(
    out_path: Path,
    seed: int = 0,
    n_per_class: int = 2000,
    epochs: int = 10,
    progress: Progress | None = None,
    samples_dir: Path | None = None,
    threads: int = 2,
    workers: int = 2,
) -> dict[str, Any]:
    """Simulate, train, export ONNX + sidecar JSON + model card; returns the card's numbers.

    ``progress(message, fraction)`` is called as stages complete. Held-out alerts use seed
    ``seed + TEST_SEED_OFFSET``; real alerts in ``samples_dir`` (default: the shared samples)
    are predicted for the card but never trained on.
    """
    report = progress or _quiet
    started = time.perf_counter()
    out_path = Path(out_path)
    report("simulating training alerts", 0.0)
    data = simulate_dataset(seed, n_per_class, workers=workers)
    report("simulating held-out alerts", 0.2)
    test = simulate_dataset(seed + TEST_SEED_OFFSET, max(60, n_per_class // 5), workers=workers)
    with _torch_settings(threads):
        model = fit(data, epochs, seed, report)
        export_onnx(model, out_path, len(FEATURES))
    info = _model_info(out_path, seed, n_per_class, epochs) | {"threads": threads}
    _sidecar(out_path, info)  # the classifier loader needs the class names
    report("evaluating exported model", 0.85)
    info |= evaluate(out_path, test, samples_dir or default_samples_dir(), seed)
    info["train_seconds"] = time.perf_counter() - started
    _sidecar(out_path, info)
    out_path.with_suffix(".md").write_text(card.render_card(info))
    report(f"held-out accuracy {info['heldout']['accuracy']:.3f}", 1.0)
    return info


def calibration_check(samples: Path | None, seed: int) -> dict[str, dict]:
    """Pixel statistics of the real samples next to those of 200 fresh simulated alerts."""
    with tempfile.TemporaryDirectory() as tmp:
        write_alerts(Path(tmp), 200, seed + 2)
        simulated = summarise(measure_samples(Path(tmp)))
    return {"real": summarise(measure_samples(samples)) if samples else {}, "simulated": simulated}


def _command(out: Path, seed: int, n_per_class: int, epochs: int) -> str:
    return (
        f"python -m caudal.pipelines.alerts.model.train --out {out} --seed {seed} "
        f"--n-per-class {n_per_class} --epochs {epochs}"
    )


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: train and print the held-out metrics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("models/alerts_stamp_classifier.onnx"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-per-class", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=Path, default=None, help="folder of real alerts")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    started = time.perf_counter()

    def show(message: str, fraction: float) -> None:
        print(f"[{fraction:4.0%} {time.perf_counter() - started:5.0f}s] {message}", flush=True)

    info = train(
        args.out, args.seed, args.n_per_class, args.epochs, show, args.samples, args.threads
    )
    print(json.dumps({"heldout": info["heldout"], "seconds": round(info["train_seconds"], 1)}))


if __name__ == "__main__":
    main()
