"""The page's uploader on a real broker: every file becomes one request, even refused ones."""

from __future__ import annotations

import json
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.broker.process import free_port
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.storage.factory import object_store
from tests.support.images import encoded

PNG = encoded((16, 16))  # under the 1,000-byte limit the first test sets


def _read(bootstrap: str, topic: str, n: int) -> list[dict]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "t", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(2)])
    found: list[dict] = []
    for _ in range(50):
        found += [json.loads(m.value()) for m in consumer.consume(100, 0.2) if not m.error()]
        if len(found) >= n:
            break
    consumer.close()
    return found


def test_refused_files_are_sent_with_their_reason(
    bootstrap: str, admin: TopicAdmin, topic: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, kafka_bootstrap=bootstrap, images_max_bytes=1000)
    uploader = BatchUploader(
        settings, object_store(settings), client_config(settings, bootstrap), topic
    )
    session = new_session()
    done: list[int] = []
    sent = uploader.submit(
        session,
        [
            Upload("ok.png", PNG, "image/png"),
            Upload("empty.png", b"", "image/png"),
            Upload("big.bin", b"x" * 1001),
        ],
        progress=done.append,
    )
    assert done == [1, 2, 3]
    assert [s.rejected is None for s in sent] == [True, False, False]
    records = {r["file_name"]: r for r in _read(bootstrap, topic, 3)}
    assert set(records) == {"ok.png", "empty.png", "big.bin"}
    assert records["ok.png"]["image_url"].endswith(f"/{session}/00000-ok.png")
    assert records["ok.png"]["size"] == len(PNG) and len(records["ok.png"]["sha256"]) == 64
    assert records["empty.png"]["rejected"] == "empty file (0 bytes)"
    assert records["big.bin"]["rejected"].startswith("file too large: 1,001 bytes, limit 1,000")
    assert records["big.bin"]["image_url"] is None


def test_an_unreachable_store_rejects_each_file_not_the_batch(
    bootstrap: str, topic: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        kafka_bootstrap=bootstrap,
        object_store="s3",
        s3_bucket="b",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id="k",
        s3_secret_access_key="s",
    )
    uploader = BatchUploader(
        settings, object_store(settings), client_config(settings, bootstrap), topic
    )
    sent = uploader.submit(new_session(), [Upload("a.png", PNG), Upload("b.png", PNG)])
    assert all("not stored" in (s.rejected or "") and "unreachable" in s.rejected for s in sent)
    assert len(_read(bootstrap, topic, 2)) == 2
