"""`caudal run images` SIGKILLed at random moments: each request in the table exactly once.

600 requests, not 100,000: each is an image fetched from the object store, decoded and put
through the CNN, then upserted into PostgreSQL; at ~65 images/s on a busy 2-core machine
100,000 would be ~25 minutes a pass, per variant, in a suite already near CI's limit
(docs/reliability.md). 600 (the 20 sample images 30 times), in batches capped so that the
stream outlasts the kills, take minutes.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from caudal.broker.client import client_config
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.storage.factory import object_store
from tests.support.cli import cli_env
from tests.support.images import fresh_database, sample_photos
from tests.support.random_kill import KILLS, run_with_random_kills

N = 120
N = 600
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


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


@pytest.mark.parametrize("kills", KILLS)
def test_random_kills_lose_and_duplicate_no_request(
    bootstrap: str, admin, tmp_path: Path, postgres_url: str, kills: int, reliability: Any
) -> None:
    url = fresh_database(postgres_url)
    prefix = f"k{uuid.uuid4().hex[:6]}."
    env = cli_env(
        tmp_path / "data",
        CAUDAL_KAFKA_BOOTSTRAP=bootstrap,
        CAUDAL_TOPIC_PREFIX=prefix,
        CAUDAL_MAX_OFFSETS_PER_TRIGGER=str(N // (3 * kills)),
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

    run = run_with_random_kills(
        ["run", "images", "--once"],
        env,
        lambda: _count(url)[0],
        kills,
        seed=kills,
        log=tmp_path / "runs.log",
    )

    rows, distinct = _count(url)
    assert (rows, distinct) == (N, N)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        statuses = conn.execute(sa.text("select status, count(*) from predictions group by 1"))
        assert dict(statuses.all()) == {"classified": N}
    engine.dispose()
    reliability("images", records=N, kills_survived=run.kills, lost=N - distinct,
                duplicated=rows - distinct, seconds=round(run.seconds))  # fmt: skip
