"""Real sample photos with random byte flips and truncations, through upload and the real job.

Each example damages copies of the shipped sample photos (``fuzzing.damaged``), uploads them
with the page's own ``BatchUploader`` under drawn file names and runs the pipeline once. Every
upload must then have exactly one row in ``predictions``: classified, or an error with its
reason; no other row may appear.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from caudal.broker.admin import TopicAdmin
from caudal.broker.client import client_config
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.pipeline import images_pipeline
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.pipelines.runner import run_pipeline
from caudal.settings import Settings
from caudal.sinks.sql import database_url
from caudal.storage.factory import object_store
from tests.support.fuzzing import Tally, batches, damaged

SAMPLES = sorted(
    p
    for p in (Path(__file__).resolve().parents[2] / "samples" / "images").iterdir()
    if p.suffix in (".jpg", ".png")
)
NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=16)


@st.composite
def uploads(draw: st.DrawFn) -> list[Upload]:
    """Each sample photo a few times, mostly damaged, under a drawn (often hostile) name."""
    out = []
    for i in range(draw(st.integers(2, 3)) * len(SAMPLES)):
        sample = SAMPLES[i % len(SAMPLES)]
        data = draw(damaged(sample.read_bytes()))
        kind = draw(st.sampled_from(["image/png", "image/jpeg", ""]))
        out.append(Upload(draw(NAMES) + sample.suffix, data, kind))
    return out


def _run(settings: Settings, admin: TopicAdmin, files: list[Upload]) -> tuple[Settings, set[str]]:
    run = uuid.uuid4().hex[:6]
    here = settings.model_copy(
        update={"topic_prefix": f"iz{run}.", "data_dir": settings.data_dir / f"images-fuzz-{run}"}
    )
    topic = here.topic(TOPIC)
    admin.create(topic, 2)
    uploader = BatchUploader(here, object_store(here), client_config(here, admin.bootstrap), topic)
    sent = uploader.submit(new_session(), files)
    uploader.producer.flush(10)
    run_pipeline(images_pipeline(here), here, once=True)
    return here, {s.request.request_id for s in sent}


def test_every_damaged_upload_has_one_row_with_a_label_or_a_reason(
    settings: Settings,
    bootstrap: str,
    admin: TopicAdmin,
    spark: object,
    reliability: Callable[..., None],
) -> None:
    tally = Tally()
    here = settings.model_copy(update={"kafka_bootstrap": bootstrap})

    @batches(examples=3)
    @given(files=uploads())
    def one_row_each(files: list[Upload]) -> None:
        run, requests = _run(here, admin, files)
        assert len(requests) == len(files)
        engine = sa.create_engine(database_url(run))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("select request_id, status, label, error from predictions")
                ).all()
        finally:
            engine.dispose()
        assert sorted(r.request_id for r in rows) == sorted(requests)
        for r in rows:
            assert (r.status == "classified" and r.label) or (r.status == "error" and r.error), r
        tally.add(len(files))

    one_row_each()
    reliability("images", fuzz_cases=tally.cases, fuzz_runs=tally.examples)
    assert tally.examples == 3
