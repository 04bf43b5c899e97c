"""Requests → rows: the shipped model's answers, and one row with a reason for each failure."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from images_fixtures import bomb, sample_images

from caudal.broker.process import free_port
from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.classify import OUTPUT_COLUMNS, classify_images, classify_requests
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.settings import Settings
from caudal.storage.factory import object_store


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path)


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


def test_the_shipped_model_gets_the_samples_mostly_right(settings: Settings) -> None:
    model = load_classifier(images_model(settings))
    samples = sample_images()
    answers = classify_images([png for _, png, _ in samples], model, 10**6)
    right = sum(a.label == truth for a, (_, _, truth) in zip(answers, samples, strict=True))
    assert right >= 16, f"{right}/20 right"  # 92% held-out accuracy; 20 samples
    assert all(a.error is None and 0 < a.confidence <= 1 for a in answers)
    assert all(len(a.top_k) == 3 and a.top_k[0][0] == a.label for a in answers)


def test_answers_equal_the_model_run_directly(settings: Settings) -> None:
    model = load_classifier(images_model(settings))
    pngs = [png for _, png, _ in sample_images()]
    spec = InputSpec.from_card(model.card)
    direct = model.predict_proba(np.stack([prepare(p, spec, 10**6) for p in pngs]))
    answers = classify_images(pngs, model, 10**6)
    assert [a.label for a in answers] == [model.classes[i] for i in direct.argmax(axis=1)]
    assert np.allclose([a.confidence for a in answers], direct.max(axis=1), atol=1e-6)


def test_each_failure_is_a_row_with_its_reason(settings: Settings) -> None:
    store = object_store(settings)
    name, png, _ = sample_images()[0]
    good = store.put("uploads/d/s1/00000-good.png", png, "image/png")
    gone = store.put("uploads/d/s1/00001-gone.png", png, "image/png")
    Path(gone.removeprefix("file://")).unlink()
    bad = store.put("uploads/d/s1/00002-notes.png", b"plain text", "text/plain")
    boom = store.put("uploads/d/s1/00003-bomb.png", bomb(), "image/png")
    frame = pd.DataFrame(
        [
            _request(name, good),
            _request("gone.png", gone),
            _request("notes.png", bad),
            _request("bomb.png", boom),
            _request("big.png", None, "file too large: 11,000,000 bytes"),
            _request("nourl.png", None),
        ]
    )
    out = classify_requests(frame, settings, images_model(settings))
    assert list(out.columns) == OUTPUT_COLUMNS and len(out) == 6
    assert list(out["status"]) == ["classified"] + ["error"] * 5
    errors = list(out["error"])
    assert errors[0] is None and out["label"].iat[0] and json.loads(out["top_k"].iat[0])
    assert "missing from the store" in errors[1]
    assert "not an image" in errors[2]
    assert "image bomb" in errors[3]
    assert errors[4].startswith("file too large")
    assert errors[5] == "request has no image URL"
    assert out["model_name"].iat[0] == "images_fashion_classifier"


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
