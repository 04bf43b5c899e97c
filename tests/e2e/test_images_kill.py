"""`caudal run images` SIGKILLed mid-batch and restarted: each request in the table once."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from caudal.broker.client import client_config
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.storage.factory import object_store
from tests.support.cli import CAUDAL, caudal, cli_env
from tests.support.images import fresh_database, sample_photos

N = 120


def _count(url: str) -> tuple[int, int]:
    """(rows, distinct request ids) in the table; (0, 0) before it exists."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.execute(
                    sa.text("select count(*), count(distinct request_id) from predictions")
                ).one()
            )
    except sa.exc.ProgrammingError:
        return 0, 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_and_restart_loses_and_duplicates_nothing(
    bootstrap: str, admin, tmp_path: Path, postgres_url: str
) -> None:
    url = fresh_database(postgres_url)
    prefix = f"k{uuid.uuid4().hex[:6]}."
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER="20",
        CAUDAL_SPARK_MASTER="local[2]",
        CAUDAL_DATABASE_URL=url,
    )
    settings = Settings(data_dir=tmp_path / "data", kafka_bootstrap=bootstrap, topic_prefix=prefix)
    topic = settings.topic(TOPIC)
    admin.create(topic, 2, exist_ok=True)
    photos = sample_photos()
    uploads = [Upload(p.name, p.read_bytes()) for p in photos] * (N // len(photos))
    uploader = BatchUploader(
        settings, object_store(settings), client_config(settings, bootstrap), topic
    )
    assert len(uploader.submit(new_session(), uploads)) == N

    args = [*CAUDAL, "run", "images", "--once"]
    job = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _count(url)[0] < 40 and time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
    assert job.poll() is None, "the run finished before it could be killed"
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert 0 < _count(url)[0] < N

    # the killed batch replays with its logged offsets; the rest comes in one batch
    env.pop("CAUDAL_MAX_OFFSETS_PER_TRIGGER")
    rerun = caudal("run", "images", "--once", env=env, timeout=400)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _count(url) == (N, N)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        statuses = conn.execute(sa.text("select status, count(*) from predictions group by 1"))
        assert dict(statuses.all()) == {"classified": N}
    engine.dispose()
