"""Resources running out: a data dir that cannot be written, a full disk, a database that goes
away for a while. Each ends in a clear error (exit 1, one line, what to do next) or a wait,
and a rerun once the resource is back writes every record exactly once: nothing lost silently.

The read-only and the full file systems are real mounts (a read-only bind mount, a tmpfs of a
few hundred KiB) in a mount namespace of the job's own (``unshare``), so no root is needed and
nothing outside the test sees them.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from caudal.broker.client import client_config
from caudal.pipelines.images.message import TOPIC
from caudal.pipelines.images.upload import BatchUploader, Upload, new_session
from caudal.settings import Settings
from caudal.storage.factory import object_store
from tests.support.cli import CAUDAL, cli_env, produce
from tests.support.images import fresh_database
from tests.support.postgres import PostgresCluster

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "images"


def _in_namespace(script: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """``sh -c script`` in a private mount namespace; ``$CAUDAL`` runs the CLI."""
    command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-uc", script]
    return subprocess.run(command, env={**env, "CAUDAL": " ".join(CAUDAL)}, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip


def _clear_error(stderr: str, *words: str) -> None:
    """The run ends on one red line with the cause and a hint, no traceback after it (Spark's
    and py4j's logs before it may hold theirs)."""
    assert "error:" in stderr, stderr[-3000:]
    last = stderr[stderr.rindex("error:") :]
    flat = " ".join(last.split())
    assert "next:" in flat and "Traceback" not in last, stderr[-3000:]
    assert any(w in flat for w in words), stderr[-3000:]


def _readings(bootstrap: str, admin, n: int) -> str:  # type: ignore[no-untyped-def]
    topic = f"r{uuid.uuid4().hex[:6]}.readings"
    admin.create(topic, 2)
    values = [
        json.dumps({"sensor": f"s-{i % 5}", "temperature": i % 30}).encode() for i in range(n)
    ]
    produce(bootstrap, topic, values)
    return topic


def test_a_data_dir_that_cannot_be_written_is_a_clear_error(
    bootstrap: str, admin, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    topic = _readings(bootstrap, admin, 100)
    env = cli_env(data, CAUDAL_KAFKA_BOOTSTRAP=bootstrap, CAUDAL_SPARK_MASTER="local[1]")
    result = _in_namespace(
        f"mount --bind {data} {data} && mount -o remount,bind,ro {data} && "
        f"$CAUDAL run sensors --no-feed --topic {topic}",
        env,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-3000:]
    _clear_error(result.stderr, "Read-only file system", "not writable")
    assert str(data) in " ".join(result.stderr.split())


def test_a_full_disk_stops_the_run_clearly_and_a_rerun_loses_nothing(
    bootstrap: str, admin, tmp_path: Path
) -> None:
    n, disk, kept = 20_000, tmp_path / "disk", tmp_path / "kept"
    disk.mkdir()
    kept.mkdir()
    topic = _readings(bootstrap, admin, n)
    env = cli_env(disk / "data", CAUDAL_KAFKA_BOOTSTRAP=bootstrap, CAUDAL_SPARK_MASTER="local[1]",
                  CAUDAL_MAX_OFFSETS_PER_TRIGGER="2000")  # fmt: skip
    run = f"$CAUDAL run sensors --no-feed --topic {topic} --output {disk}/out.jsonl"
    script = (
        f"mount -t tmpfs -o size=400k tmpfs {disk}; "
        f"{run} 2>{kept}/full.err; echo $? >{kept}/full.rc; "
        f"mount -o remount,size=64m {disk}; "
        f"{run} 2>{kept}/rerun.err; echo $? >{kept}/rerun.rc; "
        f"cp {disk}/out.jsonl {kept}/"
    )
    result = _in_namespace(script, env, timeout=560)
    assert result.returncode == 0, result.stderr[-3000:]
    full_err = (kept / "full.err").read_text()
    assert (kept / "full.rc").read_text().strip() == "1", full_err[-3000:]
    _clear_error(full_err, "No space left on device")
    assert (kept / "rerun.rc").read_text().strip() == "0", (kept / "rerun.err").read_text()[-3000:]
    rows = [json.loads(line) for line in (kept / "out.jsonl").read_text().splitlines()]
    offsets = Counter((r["partition"], r["offset"]) for r in rows)
    assert len(offsets) == n and set(offsets.values()) == {1}


def _predictions(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = "select count(*), count(distinct request_id) from predictions"
            return tuple(conn.execute(sa.text(query)).one())  # type: ignore[return-value]
    except sa.exc.DBAPIError:
        return 0, 0
    finally:
        engine.dispose()


def _run_images(
    env: dict[str, str], url: str, postgres: PostgresCluster, log: Path, down_s: float | None
) -> int:
    """`caudal run images`; once it has written rows, PostgreSQL is stopped for ``down_s``
    (None: until the run ends). The run's exit code; its stderr goes to ``log``."""
    before = _predictions(url)[0]
    with log.open("w") as err:
        job = subprocess.Popen([*CAUDAL, "run", "images", "--once"], env=env,
                               stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        deadline = time.monotonic() + 300
        while _predictions(url)[0] <= before and job.poll() is None:
            assert time.monotonic() < deadline, "no row written in 5 minutes"
            time.sleep(0.2)
        assert job.poll() is None, "the run finished before the database could be stopped"
        postgres.stop()
        try:
            if down_s is None:
                job.wait(timeout=300)
            else:
                time.sleep(down_s)
        finally:
            postgres.start()
        return job.wait(timeout=400)


@pytest.mark.slow
def test_a_database_down_for_a_while_is_waited_for_or_a_clear_error(
    bootstrap: str, admin, tmp_path: Path, postgres: PostgresCluster, postgres_url: str
) -> None:
    n, url, prefix = 200, fresh_database(postgres_url), f"pg{uuid.uuid4().hex[:6]}."
    settings = Settings(data_dir=tmp_path / "data", kafka_bootstrap=bootstrap, topic_prefix=prefix)
    admin.create(settings.topic(TOPIC), 2)
    uploads = [Upload(p.name, p.read_bytes(), "image/png") for p in sorted(SAMPLES.glob("*.png"))]
    uploader = BatchUploader(settings, object_store(settings), client_config(settings, bootstrap),
                             settings.topic(TOPIC))  # fmt: skip
    assert len(uploader.submit(new_session(), uploads * (n // len(uploads)))) == n
    env = cli_env(tmp_path / "data", CAUDAL_KAFKA_BOOTSTRAP=bootstrap, CAUDAL_TOPIC_PREFIX=prefix,
                  CAUDAL_SPARK_MASTER="local[2]", CAUDAL_DATABASE_URL=url,
                  CAUDAL_MAX_OFFSETS_PER_TRIGGER="10")  # fmt: skip

    # down until the run gives up (past its patience): it stops with one clear line
    log = tmp_path / "impatient.err"
    assert _run_images({**env, "CAUDAL_DATABASE_WAIT_S": "2"}, url, postgres, log, None) == 1
    err = log.read_text()
    _clear_error(err, "database write failed")
    assert postgres.password not in err
    written = _predictions(url)[0]
    assert 0 < written < n

    # down for a while within its patience: the run waits, then finishes the stream
    log = tmp_path / "patient.err"
    patient = _run_images({**env, "CAUDAL_DATABASE_WAIT_S": "120"}, url, postgres, log, 8)
    assert patient == 0, log.read_text()[-3000:]
    assert _predictions(url) == (n, n)
