"""The SQL sink on a real PostgreSQL: upsert once per key, a database outage survived, and a
table of the old (Fashion-MNIST era) schema migrated in place."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from caudal.errors import CaudalError
from caudal.pipelines.images.table import predictions, prepare_table
from caudal.sinks.sql import SqlWriter, make_engine
from tests.support.images import fresh_database
from tests.support.postgres import PostgresCluster


def _frame(ids: range, session: str = "s") -> pd.DataFrame:
    now = pd.Timestamp.now(tz="UTC")
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in ids],
            "session_id": session,
            "file_name": [f"f{i}.png" for i in ids],
            "status": "classified",
            "label": "bag",
            "confidence": 0.5,
            "received_at": now,
            "classified_at": now,
        }
    )


def _opened(writer: SqlWriter) -> SqlWriter:
    writer.open()
    return writer


def _ids(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.text("select request_id from predictions")).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def database(postgres: PostgresCluster, postgres_url: str) -> Iterator[str]:
    url = fresh_database(postgres_url)
    yield url
    if not (postgres.data / "postmaster.pid").exists():
        postgres.start()  # a failed test must not leave the shared cluster down


def test_rows_once_per_request_id(database: str) -> None:
    sink = _opened(SqlWriter(database, predictions, "request_id", wait_s=5))
    assert sink.write(_frame(range(5))).rows == 5
    assert sink.write(_frame(range(3, 8))).rows == 3
    assert _ids(database) == sorted(f"r{i}" for i in range(8))


def test_a_write_waits_for_the_database_to_come_back(
    postgres: PostgresCluster, database: str
) -> None:
    sink = _opened(SqlWriter(database, predictions, "request_id", wait_s=120))
    sink.write(_frame(range(2)))
    postgres.stop()
    outcome: dict[str, int] = {}
    writer = threading.Thread(
        target=lambda: outcome.update(rows=sink.write(_frame(range(2, 50))).rows)
    )
    writer.start()
    time.sleep(4)
    assert writer.is_alive(), f"the write should be waiting, it ended: {outcome}"
    postgres.start()
    writer.join(60)
    assert not writer.is_alive() and outcome["rows"] == 48
    assert _ids(database) == sorted(f"r{i}" for i in range(50))


def test_past_its_patience_the_sink_fails_with_one_line(
    postgres: PostgresCluster, database: str
) -> None:
    sink = _opened(SqlWriter(database, predictions, "request_id", wait_s=2))
    sink.write(_frame(range(1)))
    postgres.stop()
    try:
        with pytest.raises(CaudalError, match="database write failed") as caught:
            sink.write(_frame(range(1, 3)))
    finally:
        postgres.start()
    assert "CAUDAL_DATABASE_URL" in (caught.value.hint or "")
    assert postgres.password not in f"{caught.value.reason} {caught.value.hint}"  # a secret
    assert sink.write(_frame(range(1, 3))).rows == 2


def test_an_old_table_is_migrated_in_place(database: str) -> None:
    engine = make_engine(database)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "create table predictions (request_id varchar(64) primary key, session_id "
                "varchar(64) not null, file_name text not null, image_url text, status varchar(16) "
                "not null, label varchar(128), confidence float, top_k text, error text, "
                "model_name varchar(128), model_version varchar(32), size bigint, sha256 "
                "varchar(64), received_at timestamptz, classified_at timestamptz)"
            )
        )
        conn.execute(
            sa.text(
                "insert into predictions (request_id, session_id, file_name, status, label, top_k) "
                "values ('old', 's0', 'boot.png', 'classified', 'ankle boot', '[]')"
            )
        )
    sink = _opened(SqlWriter(database, predictions, "request_id", 5, prepare_table))
    assert sink.write(_frame(range(2))).rows == 2
    columns = {c["name"] for c in sa.inspect(engine).get_columns("predictions")}
    assert columns == {c.name for c in predictions.columns}
    with engine.connect() as conn:
        old = conn.execute(sa.text("select top5, fruit from predictions where request_id = 'old'"))
        assert old.one() == ("[]", None)
    engine.dispose()
    assert _ids(database) == ["old", "r0", "r1"]
