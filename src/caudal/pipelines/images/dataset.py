"""The training data: Fashion-MNIST as Debian's ``dataset-fashion-mnist`` package ships it.

Real labelled photographs (Zalando article images, 28x28 grey, light item on a dark
background, 60,000 training + 10,000 test images, 10 classes, MIT licence). No package in the
reachable registries ships fruit photos, which the seed's model was trained on; this is the
best real labelled image set found (see docs/images.md).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from caudal.errors import CaudalError

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = [
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]


def _read_idx(path: Path, header: int) -> np.ndarray:
    if not path.is_file():
        raise CaudalError(
            f"{path} not found: the Fashion-MNIST data is not installed",
            "apt-get install dataset-fashion-mnist (or pass --data DIR)",
        )
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), np.uint8, offset=header)


def load_split(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int64 [N]) of ``train`` or ``t10k``."""
    images = _read_idx(directory / f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = _read_idx(directory / f"{split}-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if len(images) != len(labels):
        raise CaudalError(f"{directory}: {split} images and labels differ in count")
    return images, labels
