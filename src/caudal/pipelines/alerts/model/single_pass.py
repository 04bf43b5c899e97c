"""The alerts model without test-time rotation averaging: one pass of the CNN instead of four.

    python -m caudal.pipelines.alerts.model.single_pass \
        [--model models/alerts_stamp_classifier.onnx]

The trained graph (``train.py``) averages the softmax over the four 90-degree rotations of the
stamps. This keeps its unrotated branch only (same weights, a subgraph of the same file; no
torch needed), then measures both on the training run's held-out alerts (re-simulated from
its ``test_seed``) and writes ``<name>_single.onnx`` with its sidecar and card. The pipeline
uses the single pass: the model is most of an alert's cost, and the card says what it costs
in accuracy. Development code: the runtime only reads the files it writes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.alerts.model.simulate import simulate_dataset

SUFFIX = "_single"


def unrotated_branch(model: onnx.ModelProto) -> str:
    """The output of the softmax over the unrotated stamps: the first input of the stack the
    graph averages (``Concat`` of unsqueezed softmaxes → ``ReduceMean``)."""
    producers = {out: node for node in model.graph.node for out in node.output}
    mean = producers[model.graph.output[0].name]
    stack = producers[mean.input[0]]
    return producers[stack.input[0]].input[0]


def extract(source: Path, target: Path) -> None:
    """``target``: ``source`` cut down to its unrotated branch, output renamed as before."""
    model = onnx.load(str(source))
    branch = unrotated_branch(model)
    onnx.utils.extract_model(str(source), str(target), ["stamps", "metadata"], [branch])
    single = onnx.load(str(target))
    output = model.graph.output[0]
    single.graph.node.append(onnx.helper.make_node("Identity", [branch], [output.name]))
    del single.graph.output[:]
    single.graph.output.append(output)
    onnx.checker.check_model(single)
    onnx.save(single, str(target))


def _measure(path: Path, test: tuple[np.ndarray, ...]) -> dict[str, float]:
    classifier = load_classifier(path, threads=1)
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        proba = classifier.predict_proba({"stamps": test[0], "metadata": test[1]})
        best = min(best, time.perf_counter() - started)
    accuracy = float((proba.argmax(axis=1) == test[2]).mean())
    return {"accuracy": round(accuracy, 4), "ms_per_alert": round(best / len(test[2]) * 1e3, 3)}


def build(source: Path) -> dict[str, Any]:
    """Write the single-pass model, sidecar and card beside ``source``; returns the figures."""
    target = source.with_name(source.stem + SUFFIX + ".onnx")
    extract(source, target)
    info = json.loads(source.with_suffix(".json").read_text())
    target.with_suffix(".json").write_text(json.dumps(info))  # the classifier reads the classes
    test_seed, n = info["training"]["test_seed"], info["heldout_n"]
    test = simulate_dataset(test_seed, n // len(info["classes"]), workers=2)
    figures = {"averaged": _measure(source, test), "single": _measure(target, test)}
    sidecar = info | {
        "name": info["name"] + SUFFIX,
        "heldout_accuracy": figures["single"]["accuracy"],
        "derived_from": source.name,
        "command": f"python -m caudal.pipelines.alerts.model.single_pass --model {source}",
        "comparison": figures | {"alerts": int(len(test[2])), "test_seed": test_seed},
    }
    target.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
    target.with_suffix(".md").write_text(_card(sidecar))
    return figures


def _card(info: dict[str, Any]) -> str:
    c = info["comparison"]
    avg, one = c["averaged"], c["single"]
    return f"""# Model card: `{info["name"]}`

The stamp classifier of [`{info["derived_from"]}`]({Path(info["derived_from"]).stem}.md) without
its test-time rotation averaging: the same trained weights, the unrotated branch only (a
subgraph of the same ONNX file; inputs, output and classes unchanged). It is the model
`caudal run alerts` uses by default.

Built by `{info["command"]}`, which re-simulates the training run's held-out alerts (seed
{c["test_seed"]}, {c["alerts"]:,} alerts, the classes in equal numbers) and measures both models
on them, onnxruntime, one thread, batches of the whole set (the averaged model scores here
what its own card says, so these are the same alerts):

| model | held-out accuracy | model time per alert |
|---|---|---|
| rotation-averaged (4 passes), as trained | {avg["accuracy"]:.4f} | {avg["ms_per_alert"]:.2f} ms |
| single pass (this model) | {one["accuracy"]:.4f} | {one["ms_per_alert"]:.2f} ms |

What is lost: the averaged output is invariant to 90-degree rotations of the stamps; this one
is not (the training augmented with random rotations and flips, so it is close). Everything
else the trained model's card says (training data, limits, real-alert behaviour) holds.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/alerts_stamp_classifier.onnx"))
    args = parser.parse_args(argv)
    print(json.dumps(build(args.model)))


if __name__ == "__main__":
    main()
