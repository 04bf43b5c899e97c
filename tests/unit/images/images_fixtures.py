"""Image bytes of every kind the pipeline must handle, made here with Pillow (no files)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PIL import Image

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "images"


def sample_images() -> list[tuple[str, bytes, str]]:
    """(file name, PNG bytes, true label) of the shipped Fashion-MNIST test samples."""
    with (SAMPLES / "labels.csv").open() as fh:
        return [
            (r["file"], (SAMPLES / r["file"]).read_bytes(), r["label"]) for r in csv.DictReader(fh)
        ]


def encoded(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (128,) * len(mode)).save(buffer, format=fmt)
    return buffer.getvalue()


def bomb(side: int = 20_000) -> bytes:
    """A tiny PNG (a few hundred kB) that decodes to side x side pixels."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
