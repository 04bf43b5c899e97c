"""Bytes of an uploaded file → the model's input tensor, or the one-line reason it cannot be.

Pure Pillow + numpy, and the only place an image becomes a tensor: the Spark job (on
executors), the page's single and camera modes (in the page's process) and the model build's
evaluation all call ``prepare``. The steps are the ones torchvision's ImageNet weights were
trained with, read from the model's sidecar JSON (``preprocess``):

    "preprocess": {"input": "image", "resize": 256, "crop": [224, 224], "mode": "RGB",
                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}

EXIF orientation applied (the model sees the photo upright); any Pillow mode made RGB
(palette, CMYK, 16-bit, greyscale; transparency laid on white); short side scaled to
``resize`` (bilinear); centre crop ``crop``; pixels to [0, 1]; ``(x - mean) / std``; float32
CHW. Memory stays bounded: a JPEG is decoded at the smallest DCT scale that still covers the
target, and no step after the decode holds more than one full-size copy.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from caudal.errors import CaudalError

ORIENTATION_TAG = 0x0112
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
REDUCING_GAP = 3.0
"""Images over 3x the target are first box-reduced by an integer factor (bounded work and
memory); under it the bilinear resize is exactly torchvision's."""


class ImageError(CaudalError):
    """An upload that cannot be classified; ``reason`` is what the page and the table show."""


@dataclass(frozen=True)
class InputSpec:
    """What a model wants: input name, short side, (height, width) crop, mode, mean/std."""

    input: str
    resize: int
    crop: tuple[int, int]
    mode: str
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_card(cls, card: dict[str, Any]) -> InputSpec:
        spec = card.get("preprocess")
        if not isinstance(spec, dict) or "crop" not in spec or "resize" not in spec:
            raise CaudalError(
                "the image model's sidecar JSON has no usable 'preprocess' section",
                "give input, resize (short side), crop [H, W], mode (RGB or L), mean and std "
                "(see docs/images.md)",
            )
        mode = spec.get("mode", "RGB")
        channels = 1 if mode == "L" else 3
        mean = tuple(float(x) for x in spec.get("mean", [0.0] * channels))
        std = tuple(float(x) for x in spec.get("std", [1.0] * channels))
        height, width = (int(v) for v in spec["crop"])
        resize = int(spec["resize"])
        if mode not in ("L", "RGB") or len(mean) != channels or len(std) != channels:
            raise CaudalError(
                f"model preprocess {spec} is not usable", "mode L or RGB, one mean/std per channel"
            )
        if resize < max(height, width):
            raise CaudalError(f"model preprocess {spec}: resize must be at least the crop")
        return cls(str(spec.get("input", "image")), resize, (height, width), mode, mean, std)


def open_image(data: bytes, max_pixels: int) -> Image.Image:
    """An image whose header was read; ``ImageError`` for empty, non-image or bomb input.

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


def scaled_size(size: tuple[int, int], short: int) -> tuple[int, int]:
    """(width, height) with the short side ``short``, as torchvision's ``Resize(short)``."""
    width, height = size
    if width <= height:
        return short, int(short * height / width)
    return int(short * width / height), short


def orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 = upright); a broken EXIF block counts as upright."""
    try:
        return int(image.getexif().get(ORIENTATION_TAG, 1))
    except (OSError, ValueError, SyntaxError, TypeError):
        return 1


def resizable(image: Image.Image) -> Image.Image:
    """The image in a mode Pillow can resize smoothly: palettes expanded, 16/32-bit to 8-bit."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("P", "PA"):
        transparent = image.mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if transparent else "RGB")
    if image.mode.startswith("I") or image.mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        top = 65535.0 if image.mode.startswith("I;16") or pixels.max() > 255 else 255.0
        return Image.fromarray(np.clip(pixels * (255 / top), 0, 255).astype(np.uint8), "L")
    return image


def flattened(image: Image.Image, mode: str) -> Image.Image:
    """``mode`` pixels; transparency is laid on white, as a browser shows it."""
    if "A" in image.mode or "a" in image.mode:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    try:
        return image.convert(mode)
    except ValueError as exc:
        raise ImageError(f"unsupported image mode {image.mode}: {exc}") from None


def center_crop(image: Image.Image, height: int, width: int) -> Image.Image:
    left = int(round((image.width - width) / 2.0))
    top = int(round((image.height - height) / 2.0))
    return image.crop((left, top, left + width, top + height))


def to_tensor(image: Image.Image, spec: InputSpec) -> np.ndarray:
    """[C, H, W] float32 as the model wants it; ``ImageError`` if decoding fails midway."""
    turn = orientation(image)
    target = scaled_size(image.size, spec.resize)
    try:
        image.draft("RGB" if image.mode == "RGB" else None, target)  # JPEG: DCT scaling
        small = resizable(image).resize(target, Image.Resampling.BILINEAR, None, REDUCING_GAP)
    except (OSError, ValueError, SyntaxError) as exc:  # "image file is truncated" is an OSError
        raise ImageError(f"truncated or corrupt image: {exc}") from None
    if turn in TRANSPOSE:
        small = small.transpose(TRANSPOSE[turn])
    cropped = center_crop(flattened(small, spec.mode), *spec.crop)
    pixels = np.asarray(cropped, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    # (x / 255 - mean) / std as one multiply-add per value, written channel-first
    std = np.asarray(spec.std, np.float32)
    scale, shift = 1 / (255 * std), np.asarray(spec.mean, np.float32) / std
    out = np.empty((pixels.shape[2], *pixels.shape[:2]), np.float32)
    np.multiply(pixels.transpose(2, 0, 1), scale[:, None, None], out=out)
    out -= shift[:, None, None]
    return out


def prepare(data: bytes, spec: InputSpec, max_pixels: int) -> np.ndarray:
    """Bytes → [C, H, W] tensor; every failure is an ``ImageError`` with a readable reason."""
    return to_tensor(open_image(data, max_pixels), spec)
