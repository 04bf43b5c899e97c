"""Bytes → the model's tensor, as torchvision's ImageNet transform makes it; every kind of bad
or unusual upload becomes a tensor or a readable ``ImageError``, never a crash."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from caudal.errors import CaudalError
from caudal.pipelines.images.preprocess import ImageError, InputSpec, prepare
from tests.support.images import (
    bomb,
    cmyk_jpeg,
    coffee,
    encoded,
    exif_rotated,
    gradient,
    greyscale_jpeg,
    one_pixel,
    png_with_alpha,
    save,
)

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SPEC = InputSpec("image", 256, (224, 224), "RGB", MEAN, STD)
LIMIT = 40_000_000


def reference(image: Image.Image) -> np.ndarray:
    """torchvision's Resize(256) + CenterCrop(224) + ToTensor + Normalize, step by step."""
    w, h = image.size
    size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    small = image.resize(size, Image.Resampling.BILINEAR)
    left, top = int(round((size[0] - 224) / 2.0)), int(round((size[1] - 224) / 2.0))
    pixels = np.asarray(small.crop((left, top, left + 224, top + 224)), np.float32) / 255
    return ((pixels - MEAN) / STD).transpose(2, 0, 1).astype(np.float32)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"%PDF-1.7 this is not a picture", "not an image"),
        (encoded((64, 64))[:60], "truncated"),
        (encoded((300, 300), "JPEG")[:400], "truncated"),
    ],
    ids=["zero-byte", "not-an-image", "truncated-png", "truncated-jpeg"],
)
def test_bad_bytes_give_a_reason_not_a_crash(data: bytes, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        prepare(data, SPEC, LIMIT)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    payload = bomb()
    assert len(payload) < 2_000_000  # small on disk, 400 Mpx decoded
    with pytest.raises(ImageError, match=r"image bomb: .*400000000 pixels"):
        prepare(payload, SPEC, LIMIT)


def test_the_pixel_limit_from_settings_applies_below_pillows_own() -> None:
    with pytest.raises(ImageError, match=r"image bomb: 5000x5000 = 25,000,000 pixels"):
        prepare(bomb(5000), SPEC, 10_000_000)


def test_a_photo_becomes_exactly_the_imagenet_transform_of_it() -> None:
    photo = coffee()  # 600x400: short side to 256, then the centre 224x224
    tensor = prepare(save(photo, "PNG"), SPEC, LIMIT)
    assert tensor.shape == (3, 224, 224) and tensor.dtype == np.float32
    assert np.allclose(tensor, reference(photo), atol=1e-6)  # float rounding only


def test_portrait_and_landscape_are_cropped_in_their_centre() -> None:
    tall = Image.new("RGB", (300, 900), (255, 255, 255))
    tall.paste((0, 0, 0), (0, 400, 300, 500))  # a black band across the middle
    tensor = prepare(save(tall, "PNG"), SPEC, LIMIT)
    assert np.allclose(tensor[:, 112, 112], (np.zeros(3) - MEAN) / STD, atol=1e-5)
    assert np.allclose(tensor, reference(tall), atol=1e-6)


def test_a_greyscale_photo_is_read_as_rgb() -> None:
    tensor = prepare(greyscale_jpeg(), SPEC, LIMIT)
    pixels = tensor * np.asarray(STD)[:, None, None] + np.asarray(MEAN)[:, None, None]
    assert tensor.shape == (3, 224, 224)
    assert np.allclose(pixels[0], pixels[1], atol=1e-5) and np.allclose(pixels[1], pixels[2])


def test_a_cmyk_jpeg_is_converted_to_rgb_colours() -> None:
    rgb = prepare(save(coffee(), "JPEG", quality=90), SPEC, LIMIT)
    cmyk = prepare(cmyk_jpeg(), SPEC, LIMIT)
    assert cmyk.shape == (3, 224, 224)
    assert np.abs(cmyk - rgb).mean() < 0.1  # the same photo, two JPEG encodings


def test_transparency_is_laid_on_white() -> None:
    tensor = prepare(png_with_alpha(), SPEC, LIMIT)
    white = (np.ones(3) - MEAN) / STD
    assert np.allclose(tensor[:, 0, 0], white, atol=1e-5)  # the transparent border
    assert not np.allclose(tensor[:, 112, 112], white, atol=0.1)  # the opaque photo


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_exif_rotated_photo_reaches_the_model_upright(fmt: str) -> None:
    upright = coffee()
    turned = exif_rotated(upright, fmt)
    stored = Image.open(io.BytesIO(turned))
    assert stored.size == (400, 600)  # stored on its side
    assert ImageOps.exif_transpose(stored).size == (600, 400)  # as any viewer shows it
    seen = prepare(turned, SPEC, LIMIT)
    expected = prepare(save(upright, fmt, quality=95), SPEC, LIMIT)
    assert np.abs(seen - expected).mean() < 0.05
    sideways = prepare(save(stored.convert("RGB"), fmt), SPEC, LIMIT)
    assert np.abs(sideways - expected).mean() > 0.3  # without the EXIF turn it would differ


def test_a_one_pixel_image_is_a_flat_tensor() -> None:
    tensor = prepare(one_pixel(), SPEC, LIMIT)
    assert tensor.shape == (3, 224, 224)
    assert np.allclose(tensor, ((np.array([200, 120, 40]) / 255 - MEAN) / STD)[:, None, None])


def test_sixteen_bit_and_palette_images_are_read() -> None:
    deep = Image.fromarray(np.full((50, 80), 65535 // 2, np.uint16))
    grey = prepare(save(deep, "PNG"), SPEC, LIMIT)[0]
    assert np.allclose(grey, (0.5 - MEAN[0]) / STD[0], atol=0.02)  # 16-bit half → 8-bit 127
    palette = coffee().convert("P", palette=Image.Palette.ADAPTIVE)
    assert prepare(save(palette, "PNG"), SPEC, LIMIT).shape == (3, 224, 224)


PEAK_SCRIPT = """
import resource, sys
from pathlib import Path
from caudal.pipelines.images.preprocess import InputSpec, prepare
spec = InputSpec("image", 256, (224, 224), "RGB", (0.5,) * 3, (0.25,) * 3)
data = Path(sys.argv[1]).read_bytes()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
prepare(data, spec, 40_000_000)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


def _peak_bytes(data: bytes, tmp_path: Path) -> int:
    """How far one ``prepare`` raised a fresh process's peak memory."""
    path = tmp_path / "big"
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


def test_a_very_large_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    data = save(gradient(6000, 4000), "JPEG", quality=85)  # 24 Mpx: 72 MB as RGB pixels
    assert len(data) < 10 * 2**20  # within the upload limit
    assert prepare(data, SPEC, LIMIT).shape == (3, 224, 224)
    assert _peak_bytes(data, tmp_path) < 72_000_000 // 4


def test_a_very_large_png_holds_one_full_size_copy_at_most(tmp_path: Path) -> None:
    data = save(gradient(4000, 3000), "PNG")  # 12 Mpx: 36 MB as RGB pixels, no DCT scaling
    assert _peak_bytes(data, tmp_path) < 36_000_000 * 2


def test_a_sidecar_without_preprocess_says_what_to_add() -> None:
    with pytest.raises(CaudalError, match="preprocess"):
        InputSpec.from_card({"classes": ["a"]})
    with pytest.raises(CaudalError, match="one mean/std per channel"):
        InputSpec.from_card(
            {"preprocess": {"resize": 8, "crop": [8, 8], "mode": "RGB", "mean": [0.5]}}
        )
