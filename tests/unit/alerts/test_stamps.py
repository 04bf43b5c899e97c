"""Stamp decoding, encoding and preparation, on synthetic and real ZTF cutouts."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
from astropy.io import fits

from caudal.pipelines.alerts.model.calibrate import default_samples_dir, read_alerts
from caudal.pipelines.alerts.stamps import (
    StampError,
    alert_cutouts,
    decode_stamp,
    encode_stamp,
    fit_to_size,
    prepare_batch,
    prepare_stamps,
    robust_normalise,
)

SAMPLES = default_samples_dir()
needs_samples = pytest.mark.skipif(SAMPLES is None, reason="real ZTF samples not available")


def _stamp(seed: int = 0, shape: tuple[int, int] = (63, 63)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.normal(100.0, 5.0, shape).astype(np.float32)
    image[shape[0] // 2, shape[1] // 2] += 500.0
    return image


def _plain_fits(data: np.ndarray | None) -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(data).writeto(buffer)
    return buffer.getvalue()


def test_encode_decode_round_trip_is_exact_including_nan() -> None:
    image = _stamp()
    image[:5, :7] = np.nan
    data = encode_stamp(image)
    assert data[:2] == b"\x1f\x8b"
    decoded = decode_stamp(data)
    assert decoded.dtype == np.float32 and decoded.shape == (63, 63)
    np.testing.assert_array_equal(decoded, image)  # NaN compares equal in this helper


def test_encoding_is_deterministic() -> None:
    assert encode_stamp(_stamp()) == encode_stamp(_stamp())


def test_plain_fits_decodes() -> None:
    np.testing.assert_array_equal(decode_stamp(_plain_fits(_stamp())), _stamp())


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (None, "empty"),
        (bytes(range(256)) * 4, "not a FITS"),
        (gzip.compress(b"not fits at all" * 50), "not a FITS"),
        (encode_stamp(_stamp())[:200], "corrupt gzip"),
        (gzip.compress(_plain_fits(_stamp())[:4000]), "unreadable FITS"),
        (_plain_fits(None), "no 2-D image"),
        (_plain_fits(np.zeros((2, 3, 4), np.float32)), "no 2-D image"),
    ],
)
def test_bad_stamps_raise_stamp_error_with_reason(data: bytes | None, reason: str) -> None:
    with pytest.raises(StampError, match=reason) as info:
        decode_stamp(data)
    assert "\n" not in str(info.value)


@needs_samples
def test_real_samples_decode_to_63x63_float32() -> None:
    count = 0
    for alert in read_alerts(SAMPLES):
        for image in alert_cutouts(alert):
            assert image is not None and image.shape == (63, 63) and image.dtype == np.float32
            count += 1
        tensor, flags = prepare_stamps(*alert_cutouts(alert))
        assert tensor.shape == (3, 63, 63) and np.isfinite(tensor).all()
        assert not flags.resized
    assert count == 48


@needs_samples
def test_real_sample_with_masked_strip_reports_nan_fraction() -> None:
    alert = next(a for a in read_alerts(SAMPLES) if a["objectId"] == "ZTF18abfisdf")
    _, flags = prepare_stamps(*alert_cutouts(alert))
    assert flags.max_nan_fraction == pytest.approx(476 / 63**2)


def test_nan_pixels_are_filled_and_counted() -> None:
    science = _stamp(1)
    science[10:20, :] = np.nan
    science[0, 0] = np.inf
    tensor, flags = prepare_stamps(science, _stamp(2), _stamp(3))
    assert np.isfinite(tensor).all() and tensor.dtype == np.float32
    assert flags.nan_fraction[0] == pytest.approx((10 * 63 + 1) / 63**2)
    assert flags.nan_fraction[1:] == (0.0, 0.0)
    assert np.all(tensor[0, 10:20, :] == 0.0)  # filled with the median -> 0 after normalising


def test_all_nan_and_missing_stamps_become_zero_planes() -> None:
    empty = np.full((63, 63), np.nan, np.float32)
    tensor, flags = prepare_stamps(empty, None, _stamp())
    assert np.all(tensor[:2] == 0.0)
    assert flags.nan_fraction[:2] == (1.0, 1.0)


@pytest.mark.parametrize("shape", [(71, 71), (51, 51), (63, 40), (80, 63)])
def test_other_sizes_are_centre_cropped_or_padded(shape: tuple[int, int]) -> None:
    image = _stamp(4, shape)
    tensor, flags = prepare_stamps(image, image, image)
    assert tensor.shape == (3, 63, 63) and flags.resized
    assert flags.original_shapes[0] == shape
    peak = np.unravel_index(np.argmax(tensor[0]), (63, 63))
    assert abs(peak[0] - 31) <= 1 and abs(peak[1] - 31) <= 1  # candidate stays central
    padded = (63 * 63 - min(shape[0], 63) * min(shape[1], 63)) / 63**2
    assert flags.nan_fraction[0] == pytest.approx(padded)


def test_normalisation_is_robust_to_a_hot_pixel() -> None:
    clean = _stamp(5)
    hot = clean.copy()
    hot[3, 3] = 1e6
    a, _ = prepare_stamps(clean, clean, clean)
    b, _ = prepare_stamps(hot, clean, clean)
    assert np.abs(a[0] - b[0])[np.arange(63) != 3].max() < 0.05
    assert abs(float(np.median(a[0]))) < 0.05


def test_non_2d_arrays_are_rejected() -> None:
    with pytest.raises(StampError):
        prepare_stamps(np.zeros((3, 63, 63)), None, None)
    with pytest.raises(StampError):
        encode_stamp(np.zeros(10))


def _one_by_one(triplet: tuple[np.ndarray | None, ...]) -> tuple[np.ndarray, tuple[float, ...]]:
    """What ``prepare_stamps`` computed before batches: ``robust_normalise`` stamp by stamp."""
    planes, fractions = [], []
    for image in triplet:
        if image is None:
            image = np.full((63, 63), np.nan, np.float32)
        z, fraction = robust_normalise(fit_to_size(np.asarray(image, np.float32)))
        planes.append(z)
        fractions.append(fraction)
    return np.stack(planes), tuple(fractions)


def _triplets() -> list[tuple[np.ndarray | None, ...]]:
    masked = _stamp(4)
    masked[:9, :] = np.nan
    flat = np.full((63, 63), 7.0, np.float32)
    triplets: list[tuple[np.ndarray | None, ...]] = [
        (_stamp(1), _stamp(2), _stamp(3)),
        (masked, flat, _stamp(5, (70, 60))),  # masked, flat, cropped and padded
        (None, _stamp(6), flat),
    ]
    if SAMPLES is not None:
        triplets += [alert_cutouts(alert) for alert in read_alerts(SAMPLES)]
    return triplets


def test_a_batch_is_normalised_to_the_same_values_as_one_stamp_at_a_time() -> None:
    triplets = _triplets()
    tensors, flags = prepare_batch(triplets)
    assert tensors.shape == (len(triplets), 3, 63, 63) and tensors.dtype == np.float32
    for triplet, tensor, flag in zip(triplets, tensors, flags, strict=True):
        expected, fractions = _one_by_one(triplet)
        np.testing.assert_array_equal(tensor, expected)
        assert flag.nan_fraction == fractions
        assert flag.original_shapes == tuple(
            (63, 63) if image is None else image.shape for image in triplet
        )


def test_an_empty_batch_is_an_empty_tensor() -> None:
    tensors, flags = prepare_batch([])
    assert tensors.shape == (0, 3, 63, 63) and flags == []
