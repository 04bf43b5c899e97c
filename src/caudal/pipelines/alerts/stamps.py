"""ZTF cutout stamps: decode/encode gzip-FITS bytes and turn a triplet into the model tensor.

ZTF ships each cutout as a gzip-compressed single-HDU FITS file (63x63 big-endian float32,
NaN where the CCD is masked or the stamp runs off the chip). Decoding failures raise
``StampError`` with a one-line reason so a stream can route the alert to a dead-letter topic.

Normalisation (per stamp, robust, in this order):

1. non-finite pixels (NaN/inf) are counted, then replaced by the median of the finite pixels;
2. stamps that are not 63x63 are centre-cropped or padded (padding counts as missing pixels);
3. ``z = asinh((x - median) / sigma)`` with ``sigma = 1.4826 * MAD`` of the finite pixels.

``asinh`` is linear inside ~1 sigma (noise keeps its shape) and logarithmic for bright sources,
so a 10,000-sigma template star and a 5-sigma transient both fit a small float range. The median
and MAD ignore the source itself, unlike the min/max scaling a single hot pixel would wreck.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from caudal.errors import CaudalError

STAMP_SIZE = 63
CHANNELS = ("science", "template", "difference")
_GZIP_MAGIC = b"\x1f\x8b"
_BLOCK = 2880
_MAD_TO_SIGMA = 1.4826


class StampError(CaudalError):
    """A cutout that cannot be decoded into a 2-D image."""


@dataclass(frozen=True)
class StampFlags:
    """What ``prepare_stamps`` had to repair; lets a pipeline decide to trust the prediction."""

    nan_fraction: tuple[float, ...]  # science, template, difference
    original_shapes: tuple[tuple[int, ...], ...]

    @property
    def resized(self) -> bool:
        return any(s != (STAMP_SIZE, STAMP_SIZE) for s in self.original_shapes)

    @property
    def max_nan_fraction(self) -> float:
        return max(self.nan_fraction)


def decode_stamp(data: bytes | None) -> np.ndarray:
    """gzip-FITS (or plain FITS) bytes -> 2-D native float32 array; ``StampError`` otherwise.

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    if not data:
        raise StampError("empty stamp: no bytes")
    raw = bytes(data)
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise StampError(f"corrupt gzip stamp: {exc}") from exc
    if not raw.startswith(b"SIMPLE"):
        raise StampError("not a FITS stamp: missing SIMPLE card")
    image = _plain_image(raw)
    return image if image is not None else _astropy_image(raw)


def _header(raw: bytes) -> tuple[dict[str, str], int] | None:
    """Primary header cards and the data offset, or None when there is no END card.

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    cards: dict[str, str] = {}
    for start in range(0, len(raw) - _BLOCK + 1, _BLOCK):
        for pos in range(start, start + _BLOCK, 80):
            key = raw[pos : pos + 8].decode("ascii", "replace").strip()
            if key == "END":
                return cards, start + _BLOCK
            if raw[pos + 8 : pos + 10] == b"= ":
                cards[key] = raw[pos + 10 : pos + 80].decode("ascii", "replace").split("/")[0]
    return None


def _plain_image(raw: bytes) -> np.ndarray | None:
    """The fast path for what ZTF ships: one unscaled 2-D float image in the primary HDU.

    Reads the array straight from the buffer (~30x faster than astropy); anything else
    (scaling, integer pixels, extensions) returns None and goes through astropy.

    Runs on executors (inside classify_frame) and on the driver (UI, training).
    """
    parsed = _header(raw)
    if parsed is None:
        return None
    cards, offset = parsed
    try:
        bitpix, naxis = int(cards["BITPIX"]), int(cards["NAXIS"])
        nx, ny = int(cards["NAXIS1"]), int(cards["NAXIS2"])
    except (KeyError, ValueError):
        return None
    scaled = any(k in cards and float(cards[k]) != d for k, d in (("BSCALE", 1), ("BZERO", 0)))
    if bitpix not in (-32, -64) or naxis != 2 or scaled or nx * ny == 0:
        return None
    dtype = np.dtype(">f4" if bitpix == -32 else ">f8")
    if len(raw) < offset + nx * ny * dtype.itemsize:
        raise StampError(f"unreadable FITS stamp: truncated, {nx}x{ny} pixels announced")
    image = np.frombuffer(raw, dtype=dtype, count=nx * ny, offset=offset)
    return image.reshape(ny, nx).astype(np.float32)


def _astropy_image(raw: bytes) -> np.ndarray:
    """Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ZTF headers trip astropy's SIMPLE-card verifier
            with fits.open(io.BytesIO(raw), memmap=False) as hdus:
                image = next((h.data for h in hdus if getattr(h, "data", None) is not None), None)
                image = None if image is None else np.array(image, dtype=np.float32)
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise StampError(f"unreadable FITS stamp: {exc}") from exc
    if image is None or image.ndim != 2 or image.size == 0:
        shape = None if image is None else image.shape
        raise StampError(f"FITS stamp has no 2-D image (shape {shape})")
    return image


def encode_stamp(array: np.ndarray, file_name: str = "stamp.fits") -> bytes:
    """2-D array -> gzip-compressed FITS bytes as ZTF ships them (big-endian float32, mtime 0)."""
    image = np.asarray(array, dtype=">f4")
    if image.ndim != 2:
        raise StampError(f"stamp must be 2-D, got shape {image.shape}")
    buffer = io.BytesIO()
    hdu = fits.PrimaryHDU(image)
    hdu.header["ORIGIN"] = "caudal.simulate"
    hdu.header["FILENAME"] = file_name[:68]
    hdu.writeto(buffer)
    return gzip.compress(buffer.getvalue(), mtime=0)


def fit_to_size(image: np.ndarray, size: int = STAMP_SIZE) -> np.ndarray:
    """Centre-crop or NaN-pad each axis to ``size`` so the candidate stays in the middle.

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    out = np.asarray(image, dtype=np.float32)
    for axis in (0, 1):
        n = out.shape[axis]
        if n > size:
            start = (n - size) // 2
            out = np.take(out, np.arange(start, start + size), axis=axis)
        elif n < size:
            before = (size - n) // 2
            pad = [(0, 0), (0, 0)]
            pad[axis] = (before, size - n - before)
            out = np.pad(out, pad, constant_values=np.nan)
    return out


def robust_normalise(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Fill non-finite pixels, then asinh((x - median) / MAD-sigma); returns (z, nan fraction).

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    finite = np.isfinite(image)
    nan_fraction = 1.0 - float(finite.mean())
    if not finite.any():
        return np.zeros_like(image, dtype=np.float32), nan_fraction
    values = image[finite].astype(np.float64)
    median = float(np.median(values))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(values - median)))
    if not sigma > 0:  # flat or nearly flat stamp: fall back to the standard deviation
        sigma = float(values.std()) or 1.0
    filled = np.where(finite, image, median).astype(np.float64)
    return np.arcsinh((filled - median) / sigma).astype(np.float32), nan_fraction


Triplet = tuple[np.ndarray | None, ...]
"""An alert's (science, template, difference) cutouts; None for a missing one."""


def prepare_stamps(
    science: np.ndarray | None, template: np.ndarray | None, difference: np.ndarray | None
) -> tuple[np.ndarray, StampFlags]:
    """Three cutouts (any 2-D size, ``None`` = missing) -> ([3, 63, 63] float32, flags).

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    tensors, flags = prepare_batch([(science, template, difference)])
    return tensors[0], flags[0]


def prepare_batch(triplets: list[Triplet]) -> tuple[np.ndarray, list[StampFlags]]:
    """``prepare_stamps`` of many alerts at once -> ([N, 3, 63, 63] float32, flags per alert).

    The stamps without a masked pixel (most of them) are normalised together, one median
    over all their rows instead of two ``np.median`` calls per stamp: the same values (63 x 63
    is odd, so a median is one of the pixels), ~17 % less time (the sort itself is most of
    it). The others go one by one.

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    planes, shapes = [], []
    for triplet in triplets:
        for image in triplet:
            if image is None:
                image = np.full((STAMP_SIZE, STAMP_SIZE), np.nan, dtype=np.float32)
            image = np.asarray(image, dtype=np.float32)
            if image.ndim != 2:
                raise StampError(f"stamp must be 2-D, got shape {image.shape}")
            shapes.append(tuple(image.shape))
            planes.append(fit_to_size(image))
    if not planes:
        return np.zeros((0, len(CHANNELS), STAMP_SIZE, STAMP_SIZE), np.float32), []
    pixels = np.stack(planes)
    out = np.empty_like(pixels)
    fractions = np.zeros(len(planes))
    whole = np.isfinite(pixels).all(axis=(1, 2))
    if whole.any():
        out[whole] = _normalise_finite(pixels[whole])
    for k in np.flatnonzero(~whole):
        out[k], fractions[k] = robust_normalise(pixels[k])
    n = len(CHANNELS)
    flags = [
        StampFlags(
            nan_fraction=tuple(float(f) for f in fractions[i : i + n]),
            original_shapes=tuple(shapes[i : i + n]),
        )
        for i in range(0, len(planes), n)
    ]
    return out.reshape(-1, n, STAMP_SIZE, STAMP_SIZE), flags


def _normalise_finite(stamps: np.ndarray) -> np.ndarray:
    """``robust_normalise`` of stamps [K, H, W] that have no non-finite pixel, all at once.

    Runs on executors (inside classify_frame) and on the driver (UI, training)."""
    values = stamps.reshape(len(stamps), -1).astype(np.float64)
    median = np.median(values, axis=1, keepdims=True)
    sigma = _MAD_TO_SIGMA * np.median(np.abs(values - median), axis=1, keepdims=True)
    flat = ~(sigma > 0)  # nearly flat stamps: the standard deviation instead, as one by one
    if flat.any():
        std = values.std(axis=1, keepdims=True)
        sigma = np.where(flat, np.where(std > 0, std, 1.0), sigma)
    z = np.arcsinh((values - median) / sigma).astype(np.float32)
    return z.reshape(stamps.shape)


def alert_cutouts(alert: dict) -> tuple[np.ndarray | None, ...]:
    """The (science, template, difference) arrays of one alert dict; missing cutouts are None."""
    keys = ("cutoutScience", "cutoutTemplate", "cutoutDifference")
    return tuple(decode_stamp(alert[key]["stampData"]) if alert.get(key) else None for key in keys)
