"""Bytes of an uploaded file → the model's input tensor, or the one-line reason it cannot be.

Pure Pillow + numpy, shared by the Spark job, the page's single-image mode and the trainer, so
every path sees an image exactly the same way. The input contract is data in the model's
sidecar JSON (``preprocess``), so any ONNX image classifier can be plugged in:

    "preprocess": {"input": "image", "size": [224, 224], "mode": "RGB",
                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

The tensor is float32 NCHW, pixels scaled to [0, 1], then ``(x - mean) / std`` per channel.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from caudal.errors import CaudalError


class ImageError(CaudalError):
    """An upload that cannot be classified; ``reason`` is what the page and the table show."""


@dataclass(frozen=True)
class InputSpec:
    """What a model wants: input name, (height, width), Pillow mode, per-channel mean/std."""

    input: str
    size: tuple[int, int]
    mode: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> InputSpec:
        spec = card.get("preprocess")
        if not isinstance(spec, dict):
            raise CaudalError(
                "the image model's sidecar JSON has no 'preprocess' section",
                "add input, size [H, W], mode (L or RGB), mean and std (see docs/images.md)",
            )
        mode = spec.get("mode", "RGB")
        channels = 1 if mode == "L" else 3
        mean = tuple(float(x) for x in spec.get("mean", [0.0] * channels))
        std = tuple(float(x) for x in spec.get("std", [1.0] * channels))
        if mode not in ("L", "RGB") or len(mean) != channels or len(std) != channels:
            raise CaudalError(
                f"model preprocess {spec} is not usable", "mode L or RGB, one mean/std per channel"
            )
        height, width = (int(v) for v in spec["size"])
        return cls(str(spec.get("input", "image")), (height, width), mode, mean, std)


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """A fully decoded image; ``ImageError`` for empty, non-image, truncated or bomb input.

    The pixel count is checked from the header before any pixel is decoded, so a decompression
    bomb (a small file that expands to gigabytes) costs nothing.
    """
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not an image (Pillow recognises no image format in it)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"image bomb: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"truncated or corrupt image: {exc}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"image bomb: {width}x{height} = {width * height:,} pixels, over the "
            f"{max_pixels:,}-pixel limit (CAUDAL_IMAGES_MAX_PIXELS)"
        )
    return image


def to_tensor(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """[C, H, W] float32 as the model wants it; ``ImageError`` if decoding fails midway."""
    height, width = spec.size
    try:
        image.draft(spec.mode, (width, height))  # JPEG: decode at reduced scale, much faster
        image = image.convert(spec.mode).resize((width, height), Image.Resampling.BILINEAR)
    except (OSError, ValueError, SyntaxError) as exc:  # "image file is truncated" is an OSError
        raise ImageError(f"truncated or corrupt image: {exc}") from None
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    normalised = (pixels - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(normalised.transpose(2, 0, 1))


def prepare(data: bytes, spec: InputSpec, max_pixels: int) -> np.ndarray:
    """Bytes → [C, H, W] tensor; every failure is an ``ImageError`` with a readable reason."""
    return to_tensor(open_image(data, max_pixels), spec)
