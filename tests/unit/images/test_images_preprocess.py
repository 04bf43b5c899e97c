"""Every kind of bad upload becomes a readable ``ImageError``; good ones the model's tensor."""

from __future__ import annotations

import numpy as np
import pytest
from images_fixtures import bomb, encoded, sample_images

from caudal.errors import CaudalError
from caudal.pipelines.images.preprocess import ImageError, InputSpec, prepare

GREY = InputSpec("image", (28, 28), "L", (0.5,), (0.25,))
RGB = InputSpec("x", (224, 224), "RGB", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
LIMIT = 40_000_000


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
        prepare(data, GREY, LIMIT)


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    payload = bomb()
    assert len(payload) < 2_000_000  # small on disk, 400 Mpx decoded
    with pytest.raises(ImageError, match=r"image bomb: .*400000000 pixels"):
        prepare(payload, GREY, LIMIT)


def test_the_pixel_limit_from_settings_applies_below_pillows_own() -> None:
    with pytest.raises(ImageError, match=r"image bomb: 5000x5000 = 25,000,000 pixels"):
        prepare(bomb(5000), GREY, 10_000_000)


def test_grey_and_rgb_specs_give_nchw_normalised_tensors() -> None:
    grey = prepare(encoded((640, 480), "JPEG"), GREY, LIMIT)
    rgb = prepare(encoded((100, 300)), RGB, LIMIT)
    assert grey.shape == (1, 28, 28) and rgb.shape == (3, 224, 224)
    assert np.allclose(grey, (128 / 255 - 0.5) / 0.25, atol=0.02)
    assert grey.dtype == np.float32 and rgb.dtype == np.float32


def test_a_28px_sample_reaches_the_model_unchanged() -> None:
    _, png, _ = sample_images()[0]
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)), np.float32) / 255
    assert np.allclose(prepare(png, GREY, LIMIT)[0], (pixels - 0.5) / 0.25)


def test_a_sidecar_without_preprocess_says_what_to_add() -> None:
    with pytest.raises(CaudalError, match="preprocess"):
        InputSpec.from_card({"classes": ["a"]})
    with pytest.raises(CaudalError, match="one mean/std per channel"):
        InputSpec.from_card({"preprocess": {"size": [8, 8], "mode": "RGB", "mean": [0.5]}})
