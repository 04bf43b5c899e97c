"""Page uploads → object store → Kafka → Spark (fetch, decode, ONNX) → SQL, with bad input.

The upload side is the page's own ``BatchUploader``; the job runs in this process on the
session's Spark; rows are compared with the model run directly on the same bytes.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from confluent_kafka import Producer
from PIL import Image

from caudal.broker.client import client_config
from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.pipeline import images_model, images_pipeline
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.pipelines.runner import RunSummary, run_pipeline
from caudal.settings import Settings
from caudal.sinks.sql import database_url
from caudal.storage.factory import object_store
from tests.support.images import (
    cmyk_jpeg,
    coffee,
    exif_rotated,
    fresh_database,
    gradient,
    greyscale_jpeg,
    one_pixel,
    png_with_alpha,
    sample_photos,
    save,
)
from tests.support.postgres import PostgresCluster

MAX_BYTES = 3_000_000


def _png(side: int, noise: bool = False) -> bytes:
    rng = np.random.default_rng(0)
    pixels = (
        rng.integers(0, 255, (side, side), np.uint8) if noise else np.zeros((side, side), np.uint8)
    )
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _bad_uploads() -> dict[str, Upload]:
    good = sample_photos()[0].read_bytes()
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG", optimize=True)
    return {
        "not_image": Upload("notes.png", b"this is a text file, not a picture", "image/png"),
        "truncated": Upload("cut.jpg", good[: len(good) // 2], "image/jpeg"),
        "empty": Upload("empty.jpg", b"", "image/jpeg"),
        "huge": Upload("huge.png", _png(2000, noise=True), "image/png"),
        "bomb": Upload("bomb.png", bomb.getvalue(), "image/png"),
        "traversal": Upload("../../../etc/cron.d/evil png.jpg", good, "image/jpeg"),
        "missing": Upload("deleted-before-spark.jpg", good, "image/jpeg"),
    }


def _unusual_uploads() -> list[Upload]:
    """Valid images of awkward kinds: each must end as a classified row."""
    return [
        Upload("grey.jpg", greyscale_jpeg(), "image/jpeg"),
        Upload("cmyk.jpg", cmyk_jpeg(), "image/jpeg"),
        Upload("alpha.png", png_with_alpha(), "image/png"),
        Upload("rotated.jpg", exif_rotated(coffee(), "JPEG"), "image/jpeg"),
        Upload("large.jpg", save(gradient(6000, 4000), "JPEG", quality=85), "image/jpeg"),
        Upload("pixel.png", one_pixel(), "image/png"),
    ]


def _rows(settings: Settings) -> pd.DataFrame:
    engine = sa.create_engine(database_url(settings))
    try:
        return pd.read_sql("select * from predictions", engine)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_batch_with_bad_files_lands_once_per_file(
    spark, bootstrap: str, admin, tmp_path: Path, postgres_url: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka_bootstrap=bootstrap,
        topic_prefix=f"i{uuid.uuid4().hex[:6]}.",
        database_url=fresh_database(postgres_url),
        images_max_bytes=MAX_BYTES,
    )
    topic = settings.topic(TOPIC)
    admin.create(topic, 2, exist_ok=True)
    samples = sample_photos()
    bad = _bad_uploads()
    unusual = _unusual_uploads()
    assert len(bad["huge"].data) > MAX_BYTES
    assert all(len(u.data) <= MAX_BYTES for u in unusual)
    session = new_session()
    uploader = BatchUploader(
        settings, object_store(settings), client_config(settings, bootstrap), topic
    )
    good = [Upload(p.name, p.read_bytes(), "image/jpeg") for p in samples]
    sent = uploader.submit(session, [*good, *bad.values(), *unusual])
    by_name = {s.request.file_name: s.request for s in sent}
    missing_url = by_name["deleted-before-spark.jpg"].image_url
    Path(missing_url.removeprefix("file://")).unlink()
    stored = by_name["../../../etc/cron.d/evil png.jpg"].image_url
    assert stored.startswith((settings.data_dir / "objects").resolve().as_uri())
    index = len(good) + list(bad).index("traversal")
    assert stored.endswith(f"/{session}/{index:05d}-evil_png.jpg")
    duplicate = by_name[samples[0].name]
    producer = Producer(client_config(settings, bootstrap))
    producer.produce(topic, duplicate.encode(), key=b"again")  # a producer retry, say
    producer.produce(topic, b"{not json", key=b"junk")
    producer.flush(10)

    summary = run_pipeline(images_pipeline(settings), settings, once=True)

    rows = _rows(settings)
    assert rows["request_id"].is_unique
    assert len(rows) == len(sent) + 1  # + the junk record; the duplicate added nothing
    assert summary.written["predictions"] == len(rows)
    mine = rows[rows["session_id"] == session].set_index("file_name")
    model = load_classifier(images_model(settings))
    spec = InputSpec.from_card(model.card)
    direct = model.predict_proba(np.stack([prepare(u.data, spec, 10**6) for u in good]))
    for upload, proba in zip(good, direct, strict=True):
        row = mine.loc[upload.name]
        assert row["status"] == "classified" and row["error"] is None
        assert row["label"] == model.classes[int(proba.argmax())]
        assert abs(row["confidence"] - float(proba.max())) < 1e-5
        top5 = [t["label"] for t in json.loads(row["top5"])]
        assert top5 == [model.classes[i] for i in np.argsort(proba)[::-1][:5]]
        assert row["fruit"] is None  # no sample shows fruit
    for upload in unusual:
        assert mine.loc[upload.name, "status"] == "classified", mine.loc[upload.name, "error"]
    errors = {name: mine.loc[u.name, "error"] for name, u in bad.items()}
    assert "not an image" in errors["not_image"]
    assert "truncated" in errors["truncated"] or "corrupt" in errors["truncated"]
    assert errors["empty"] == "empty file (0 bytes)"
    assert "file too large" in errors["huge"] and mine.loc["huge.png", "image_url"] is None
    assert "image bomb" in errors["bomb"]
    assert "missing from the store" in errors["missing"]
    assert errors["traversal"] is None  # a valid image under a hostile name: classified
    junk = rows[rows["request_id"].str.startswith("kafka:")]
    assert len(junk) == 1 and "malformed request" in junk["error"].iat[0]
    latency = pd.to_datetime(mine["classified_at"], utc=True) - pd.to_datetime(
        mine["received_at"], utc=True
    )
    assert (latency.dt.total_seconds() > 0).all()

    again = run_pipeline(images_pipeline(settings), settings, once=True)
    assert again.written["predictions"] == 0 and len(_rows(settings)) == len(rows)


@pytest.mark.slow
def test_a_database_outage_delays_the_rows_and_loses_none(
    spark,
    bootstrap: str,
    admin,
    tmp_path: Path,
    postgres: PostgresCluster,
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        kafka_bootstrap=bootstrap,
        topic_prefix=f"o{uuid.uuid4().hex[:6]}.",
        database_url=fresh_database(postgres_url),
    )
    topic = settings.topic(TOPIC)
    admin.create(topic, 2, exist_ok=True)
    pipeline = images_pipeline(settings)  # the table is made while the database is up
    uploads = [Upload(p.name, p.read_bytes()) for p in sample_photos()]
    conf = client_config(settings, bootstrap)
    BatchUploader(settings, object_store(settings), conf, topic).submit(new_session(), uploads)
    outcome: dict[str, RunSummary] = {}
    postgres.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="caudal.sinks.sql"):
            job = threading.Thread(
                target=lambda: outcome.update(run=run_pipeline(pipeline, settings, once=True))
            )
            job.start()
            deadline = time.monotonic() + 240
            while "database unreachable" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.5)
            assert "database unreachable" in caplog.text, "the batch never reached the sink"
            time.sleep(3)
            assert job.is_alive(), "the job should be waiting for the database"
    finally:
        postgres.start()
    job.join(120)
    assert not job.is_alive() and outcome["run"].written["predictions"] == len(uploads)
    rows = _rows(settings)
    assert len(rows) == len(uploads) and (rows["status"] == "classified").all()
