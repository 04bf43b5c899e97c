"""`caudal images submit` as a user runs it, beside a running `caudal run images`: a folder of
real photos and a broken file through the object store, Kafka, Spark and PostgreSQL, each
answer compared with the model run directly on the same bytes."""

from __future__ import annotations

import json
import shutil
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from caudal.models.onnx_classifier import load_classifier
from caudal.pipelines.images.pipeline import images_model
from caudal.pipelines.images.preprocess import InputSpec, prepare
from caudal.settings import Settings
from tests.support.browser import spawn, stop
from tests.support.cli import caudal, cli_env
from tests.support.images import fresh_database, sample_photos

FIRST_WAIT_S = "400"  # the job's first micro-batch waits for its Spark session to start

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job(
    bootstrap: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], str]]:
    """(the CLI's environment, database URL) with `caudal run images --watch` running."""
    home = tmp_path_factory.mktemp("images-submit")
    database = fresh_database(postgres_url)
    env = cli_env(
        home / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=f"c{uuid.uuid4().hex[:6]}.",
        CAUDAL_DATABASE_URL=database,
        CAUDAL_SPARK_MASTER="local[2]",
    )
    proc = spawn(["run", "images", "--watch"], env, home / "job.log")
    try:
        yield env, database
    finally:
        stop(proc, signal.SIGINT)
        assert "Traceback" not in (home / "job.log").read_text()


def _top5(paths: list[Path]) -> dict[str, list[str]]:
    model = load_classifier(images_model(Settings()))
    spec = InputSpec.from_card(model.card)
    proba = model.predict_proba(np.stack([prepare(p.read_bytes(), spec, 10**7) for p in paths]))
    return {
        p.name: [model.classes[i] for i in np.argsort(row)[::-1][:5]]
        for p, row in zip(paths, proba, strict=True)
    }


def test_a_folder_with_a_broken_file_gets_a_row_each(
    job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    env, database = job
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = [Path(shutil.copy(p, folder)) for p in sample_photos()]
    broken = folder / "broken.jpg"
    broken.write_bytes(photos[0].read_bytes()[: photos[0].stat().st_size // 2])
    (folder / ".hidden.jpg").write_bytes(b"never sent")

    done = caudal("images", "submit", str(folder), "--json", "--timeout", FIRST_WAIT_S,
                  env=env, timeout=600)  # fmt: skip

    assert done.returncode == 1, done.stderr[-2000:]  # one file is an error row
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in lines] == sorted(str(p) for p in [*photos, broken])
    records = {Path(r["file"]).name: r for r in lines}
    expected = _top5(photos)
    for name, top5 in expected.items():
        record = records[name]
        assert record["status"] == "classified" and record["error"] is None
        assert [t["label"] for t in record["top5"]] == top5
        assert record["fruit"] is None and 0 < record["latency_s"] < 600
    assert records["broken.jpg"]["status"] == "error" and records["broken.jpg"]["top5"] == []
    assert "truncated or corrupt image" in records["broken.jpg"]["error"]
    engine = sa.create_engine(database)
    with engine.connect() as conn:
        ids = [r["request_id"] for r in lines]
        query = sa.text("select count(*) from predictions where request_id = any(:ids)")
        assert conn.execute(query, {"ids": ids}).scalar_one() == len(lines)  # once each
    engine.dispose()


def test_the_table_and_no_wait_modes(job: tuple[dict[str, str], str]) -> None:
    env, _ = job
    photo = sample_photos()[0]
    done = caudal("images", "submit", str(photo), "--timeout", FIRST_WAIT_S, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    label = _top5([photo])[photo.name][0]
    assert "classified" in done.stdout and label in done.stdout and photo.name in done.stdout

    sent = caudal("images", "submit", str(photo), "--no-wait", "--json", env=env)
    assert sent.returncode == 0, sent.stderr[-2000:]
    record = json.loads(sent.stdout)
    assert record["status"] == "sent" and record["error"] is None and record["session_id"]


def test_a_missing_path_is_refused_before_anything_is_sent(
    job: tuple[dict[str, str], str], tmp_path: Path
) -> None:
    done = caudal("images", "submit", str(tmp_path / "nope"), env=job[0])
    assert done.returncode == 1 and "no such file or folder" in done.stderr
