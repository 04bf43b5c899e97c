"""`caudal run images` and `caudal train images`: the images pipeline and its model."""

from __future__ import annotations

from pathlib import Path

import typer

from caudal.cli.output import command, console, fraction_progress, settings
from caudal.cli.run import execute


@command
def train_images(
    out: Path = typer.Option(
        Path("models/images_fashion_classifier.onnx"),
        "--out",
        "-o",
        help="ONNX file; the .json sidecar and .md model card go beside it.",
    ),
    data: Path = typer.Option(
        Path("/usr/share/datasets/fashion-mnist"),
        "--data",
        help="Fashion-MNIST folder (Debian package dataset-fashion-mnist).",
    ),
    epochs: int = typer.Option(6, "--epochs", min=1),
    seed: int = typer.Option(0, "--seed", help="Training seed."),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for torch."),
) -> None:
    """Train the image classifier on Fashion-MNIST (needs the `train` extra: torch).

    Held-out accuracy and the confusion matrix on the 10,000 test images go into the card.
    """
    from caudal.pipelines.images.train import train

    with fraction_progress("training") as progress:
        info = train(out, data, epochs, seed, threads, progress)
    console.print(
        f"[green]model written[/] {out}; held-out accuracy "
        f"{info['heldout']['accuracy']:.4f} (card: {out.with_suffix('.md')})"
    )


@command
def run_images(
    once: bool = typer.Option(
        False,
        "--once/--watch",
        help="Exit when every request already in the topic is classified, or keep serving "
        "the page's uploads (default).",
    ),
) -> None:
    """Image requests from the `caudal ui` Images page → Spark → SQL.

    For each request on `images.requests`: fetch the image from the object store,
    decode it, classify it with the ONNX model and write one row to the
    `predictions` table (SQLite under the data dir, or CAUDAL_DATABASE_URL),
    exactly once. Run it beside `caudal ui` (Images page).
    """
    from caudal.pipelines.images.pipeline import images_pipeline

    execute(images_pipeline(settings()), once)
