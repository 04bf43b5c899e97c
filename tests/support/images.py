"""Test support for the images pipeline: the sample photos, image bytes of every kind the
pipeline must handle (made here with Pillow), a database of a test's own."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


def sample_photos() -> list[Path]:
    """The shipped real photos (samples/images/README.md says what each shows)."""
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".jpg", ".png"))


COFFEE = SAMPLES / "coffee.jpg"


def encoded(size: tuple[int, int], fmt: str = "PNG", mode: str = "RGB") -> bytes:
    """A flat grey image of ``size``."""
    return save(Image.new(mode, size, (128,) * len(mode)), fmt)


def save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def bomb(side: int = 20_000) -> bytes:
    """A tiny PNG (a few hundred kB) that decodes to side x side pixels."""
    return save(Image.new("1", (side, side)), "PNG", optimize=True)


def coffee() -> Image.Image:
    return Image.open(COFFEE).convert("RGB")


def greyscale_jpeg() -> bytes:
    return save(coffee().convert("L"), "JPEG", quality=90)


def cmyk_jpeg() -> bytes:
    return save(coffee().convert("CMYK"), "JPEG", quality=90)


def png_with_alpha() -> bytes:
    """The photo with a transparent border (alpha 0 around a fully opaque centre)."""
    image = coffee().convert("RGBA")
    alpha = np.zeros((image.height, image.width), np.uint8)
    alpha[40:-40, 40:-40] = 255
    image.putalpha(Image.fromarray(alpha))
    return save(image, "PNG")


def exif_rotated(upright: Image.Image, fmt: str = "PNG") -> bytes:
    """``upright`` stored turned 90° anticlockwise, with EXIF orientation 6 ("turn it 90°
    clockwise to show it"), as a phone held upright writes it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return save(upright.transpose(Image.Transpose.ROTATE_90), fmt, exif=exif.tobytes())


def gradient(width: int, height: int) -> Image.Image:
    """A smooth picture: huge in pixels, small as a file."""
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[..., 0] = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    pixels[..., 1] = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels[..., 2] = 128
    return Image.fromarray(pixels)


def one_pixel() -> bytes:
    return save(Image.new("RGB", (1, 1), (200, 120, 40)), "PNG")


def fresh_database(postgres_url: str) -> str:
    """A new, empty database on the test cluster; its URL (the table starts from nothing)."""
    name = f"images_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
