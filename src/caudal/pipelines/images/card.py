"""The model card of the shipped image classifier, filled from the training run's numbers."""

from __future__ import annotations

from typing import Any

TEMPLATE = """\
# Model card: `{name}` v{version}

Ten-class classifier of clothing and accessory photographs (Fashion-MNIST). Every number in
this card was computed by the training run that wrote it (command below).

## Why this data, not fruit

The seed classified 15 fruits with a fine-tuned MobileNetV2. No weights can be downloaded
here, and no package in the reachable registries (PyPI, Debian, npm) ships labelled fruit
photographs. The best real labelled image set shipped in a package is Fashion-MNIST (Debian
`dataset-fashion-mnist`: Zalando article photos, MIT licence). Any ONNX image classifier with a
sidecar JSON can replace this one (`CAUDAL_IMAGES_MODEL`, contract below), e.g. a MobileNetV2
fine-tuned on your own fruit photos.

## Input / output contract

* input `{input}`: float32 [N, {channels}, {height}, {width}], NCHW; the upload decoded by
  Pillow, converted to mode `{mode}`, resized (bilinear) to {width}x{height}, pixels scaled to
  [0, 1], then `(x - {mean}) / {std}` (`caudal.pipelines.images.preprocess`);
* output `probabilities`: float32 [N, {n_classes}], softmax, rows sum to 1.

Classes, in output order: {classes}.

The training images are light items on a dark background, centred, 28x28 grey. Photos taken
otherwise (white background, cluttered scenes) are outside the training distribution and
will be classified poorly: this model demonstrates the pipeline, it is not a product.

ONNX opset {opset}, {size_kb} kB, about 2M multiply-adds per image.

## Training

* data: {data}; {n_train:,} training images (the official training split);
* {epochs} epochs, AdamW + one-cycle, label smoothing 0.05, random horizontal flips,
  seed {seed}, {threads} CPU threads, {seconds:.0f} s;
* command: `{command}` (needs the `train` extra: torch).

## Held-out results

The official 10,000 test images, never seen in training, each encoded as PNG and sent
through the pipeline's preprocessing.

* accuracy **{accuracy:.4f}**, log loss {log_loss:.4f}, n = {n:,}

| class | precision | recall | support |
|---|---|---|---|
{per_class}

Confusion matrix (rows = true class, columns = predicted, same order):

| true ↓ predicted → | {short_header} |
|---|{dashes}
{confusion}
"""


def render_card(info: dict[str, Any]) -> str:
    held, training, pre = info["heldout"], info["training"], info["preprocess"]
    classes = info["classes"]
    per_class = "\n".join(
        f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['support']} |"
        for c, v in held["per_class"].items()
    )
    confusion = "\n".join(
        f"| {c} | " + " | ".join(str(n) for n in row) + " |"
        for c, row in zip(classes, held["confusion_matrix"], strict=True)
    )
    return TEMPLATE.format(
        name=info["name"],
        version=info["version"],
        input=pre["input"],
        channels=len(pre["mean"]),
        height=pre["size"][0],
        width=pre["size"][1],
        mode=pre["mode"],
        mean=pre["mean"],
        std=pre["std"],
        n_classes=len(classes),
        classes=", ".join(f"`{c}`" for c in classes),
        opset=info["opset"],
        size_kb=round(info["onnx_bytes"] / 1024),
        data=training["data"],
        n_train=training["n_train"],
        epochs=training["epochs"],
        seed=training["seed"],
        threads=training["threads"],
        seconds=training["seconds"],
        command=training["command"],
        accuracy=held["accuracy"],
        log_loss=held["log_loss"],
        n=held["n"],
        per_class=per_class,
        short_header=" | ".join(classes),
        dashes="---|" * len(classes),
        confusion=confusion,
    )
