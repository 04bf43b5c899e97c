"""Requests → rows: the shipped model's answers on real photos, the fruit view, and one row
with a reason for each failure while the rest of the batch goes on."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from caudal.broker.process import free_port
from caudal.errors import CaudalError
from caudal.models.onnx_classifier import OnnxClassifier, load_classifier
from caudal.pipelines.images.classify import (
    CHUNK,
    OUTPUT_COLUMNS,
    classify_images,
    classify_requests,
)
from caudal.pipelines.images.fruit import FruitView
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.settings import Settings
from caudal.storage.factory import object_store
from tests.support.images import (
    SAMPLES,
    bomb,
    cmyk_jpeg,
    exif_rotated,
    gradient,
    greyscale_jpeg,
    one_pixel,
    png_with_alpha,
    sample_photos,
    save,
)

LIMIT = 40_000_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


@pytest.fixture(scope="module")
def model() -> OnnxClassifier:
    return load_classifier(images_model(Settings()))


def _request(name: str, url: str | None, rejected: str | None = None) -> dict:
    return {
        "request_id": uuid.uuid4().hex,
        "session_id": "s1",
        "file_name": name,
        "image_url": url,
        "size": 1,
        "sha256": "x",
        "uploaded_at": datetime.now(UTC),
        "rejected": rejected,
    }


def _stored(settings: Settings, files: dict[str, bytes]) -> pd.DataFrame:
    store = object_store(settings)
    return pd.DataFrame(
        [
            _request(name, store.put(f"uploads/d/s1/{i:05d}-{name}", data, "image/*"))
            for i, (name, data) in enumerate(files.items())
        ]
    )


@pytest.mark.parametrize(
    ("photo", "shows", "within"),
    [
        ("coffee.jpg", {"espresso", "cup", "coffee mug"}, 1),
        ("chelsea.jpg", {"tabby", "tiger cat", "Egyptian cat"}, 1),
        ("camera.png", {"tripod", "reflex camera"}, 1),  # a greyscale photo
        ("rocket.jpg", {"missile", "projectile", "space shuttle"}, 5),
    ],
)
def test_the_shipped_model_names_what_a_real_photo_shows(
    model: OnnxClassifier, photo: str, shows: set[str], within: int
) -> None:
    answer = classify_images([(SAMPLES / photo).read_bytes()], model, LIMIT)[0]
    assert answer.error is None
    assert shows & {label for label, _ in answer.top5[:within]}, answer.top5
    assert answer.fruit is None  # none of the samples shows fruit


def test_answers_are_the_model_run_directly(model: OnnxClassifier) -> None:
    photos = [p.read_bytes() for p in sample_photos()]
    spec = InputSpec.from_card(model.card)
    direct = model.predict_proba(np.stack([prepare(p, spec, LIMIT) for p in photos]))
    answers = classify_images(photos, model, LIMIT)
    for answer, proba in zip(answers, direct, strict=True):
        best = np.argsort(proba)[::-1][:5]
        assert [label for label, _ in answer.top5] == [model.classes[i] for i in best]
        assert np.allclose([p for _, p in answer.top5], proba[best], atol=1e-6)
        assert answer.label == answer.top5[0][0] and answer.confidence == answer.top5[0][1]
        assert all(a[1] >= b[1] for a, b in zip(answer.top5, answer.top5[1:], strict=False))


def test_the_fruit_view_adds_up_the_fruit_classes(model: OnnxClassifier) -> None:
    view = FruitView.from_card(model.card, model.classes)
    assert set(view.names) == {"apple", "strawberry", "orange", "lemon", "fig", "pineapple",
                               "banana", "jackfruit", "custard apple", "pomegranate"}  # fmt: skip
    index = model.classes.index

    def proba(**p: float) -> np.ndarray:
        row = np.zeros(len(model.classes))
        for name, value in p.items():
            row[index(name.replace("_", " "))] = value
        return row

    assert view.of(proba(orange=0.9, espresso=0.1)) == ("orange", 0.9)
    assert view.of(proba(lemon=0.3, orange=0.25, cup=0.45)) == ("lemon", 0.3)  # 0.55 fruit
    assert view.of(proba(Granny_Smith=0.6)) == ("apple", 0.6)
    assert view.of(proba(orange=0.4, cup=0.6)) == (None, None)


def test_a_model_without_fruit_names_none_and_a_wrong_one_is_refused() -> None:
    assert FruitView.from_card({}, ["a", "b"]).of(np.array([0.9, 0.1])) == (None, None)
    with pytest.raises(CaudalError, match="not among its classes"):
        FruitView.from_card({"fruit": {"classes": {"kiwi": "kiwi"}}}, ["a"])


def test_unusual_images_each_end_as_a_row_and_the_batch_goes_on(settings: Settings) -> None:
    upright = (SAMPLES / "coffee.jpg").read_bytes()
    files = {
        "grey.jpg": greyscale_jpeg(),
        "cmyk.jpg": cmyk_jpeg(),
        "alpha.png": png_with_alpha(),
        "rotated.jpg": exif_rotated(Image.open(SAMPLES / "coffee.jpg"), "JPEG"),
        "large.jpg": save(gradient(6000, 4000), "JPEG", quality=85),
        "pixel.png": one_pixel(),
        "notes.png": b"plain text",
        "coffee.jpg": upright,
    }
    out = classify_requests(_stored(settings, files), settings, images_model(settings))
    rows = out.set_index("file_name")
    assert list(out["file_name"]) == list(files)
    assert rows.loc["notes.png", "status"] == "error"
    assert "not an image" in rows.loc["notes.png", "error"]
    classified = rows.drop(index="notes.png")
    assert (classified["status"] == "classified").all() and classified["error"].isna().all()
    assert rows.loc["rotated.jpg", "label"] == rows.loc["coffee.jpg", "label"]  # seen upright
    for name in ("grey.jpg", "cmyk.jpg"):
        top5 = [t["label"] for t in json.loads(rows.loc[name, "top5"])]
        assert rows.loc["coffee.jpg", "label"] in top5, (name, top5)


def test_each_failure_is_a_row_with_its_reason(settings: Settings) -> None:
    store = object_store(settings)
    photo = (SAMPLES / "chelsea.jpg").read_bytes()
    good = store.put("uploads/d/s1/00000-good.jpg", photo, "image/jpeg")
    gone = store.put("uploads/d/s1/00001-gone.jpg", photo, "image/jpeg")
    Path(gone.removeprefix("file://")).unlink()
    boom = store.put("uploads/d/s1/00003-bomb.png", bomb(), "image/png")
    frame = pd.DataFrame(
        [
            _request("good.jpg", good),
            _request("gone.jpg", gone),
            _request("bomb.png", boom),
            _request("big.png", None, "file too large: 11,000,000 bytes"),
            _request("nourl.png", None),
        ]
    )
    out = classify_requests(frame, settings, images_model(settings))
    assert list(out.columns) == OUTPUT_COLUMNS and len(out) == 5
    assert list(out["status"]) == ["classified"] + ["error"] * 4
    errors = list(out["error"])
    assert errors[0] is None and out["label"].iat[0] and len(json.loads(out["top5"].iat[0])) == 5
    assert "missing from the store" in errors[1]
    assert "image bomb" in errors[2]
    assert errors[3].startswith("file too large")
    assert errors[4] == "request has no image URL"
    assert out["top5"].iloc[1:].isna().all() and out["fruit"].isna().all()
    assert out["model_name"].iat[0] == "images_mobilenet_v2"


def test_a_batch_larger_than_a_chunk_keeps_every_row_in_order(settings: Settings) -> None:
    files = {f"{i:03d}.png": one_pixel() for i in range(CHUNK * 2 + 5)}
    frame = _stored(settings, files)
    out = classify_requests(frame, settings, images_model(settings))
    assert list(out["request_id"]) == list(frame["request_id"])
    assert (out["status"] == "classified").all()


def test_an_unreachable_store_is_retried_then_reported(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        object_store="s3",
        s3_bucket="nowhere",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id="k",
        s3_secret_access_key="s",
    )
    frame = pd.DataFrame([_request("a.png", "s3://nowhere/uploads/a.png")])
    out = classify_requests(frame, settings, images_model(settings))
    assert out["status"].iat[0] == "error"
    assert "unreachable" in out["error"].iat[0]
