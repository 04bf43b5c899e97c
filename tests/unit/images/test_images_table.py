"""The predictions table on SQLite: made new, migrated from the old schema with its rows
kept, and a foreign table of the same name refused (never altered)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from caudal.errors import CaudalError
from caudal.pipelines.images.table import predictions, prepare_table
from caudal.sinks.sql import SqlWriter, make_engine

OLD_SCHEMA = """
create table predictions (
    request_id varchar(64) primary key, session_id varchar(64) not null, file_name text not null,
    image_url text, status varchar(16) not null, label varchar(128), confidence float,
    top_k text, error text, model_name varchar(128), model_version varchar(32), size bigint,
    sha256 varchar(64), received_at timestamp, classified_at timestamp)
"""
OLD_ROW = """
insert into predictions values ('old1', 's0', 'boot.png', null, 'classified', 'ankle boot', 0.9,
    '[{"label": "ankle boot", "p": 0.9}]', null, 'images_fashion_classifier', '1.0.0', 10, 'x',
    '2026-11-30 10:00:00', '2026-11-30 10:00:01')
"""


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("predictions")}


def test_a_new_database_gets_the_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    prepare_table(engine)
    assert _columns(engine) == {c.name for c in predictions.columns}


def test_an_old_table_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_SCHEMA))
        conn.execute(sa.text(OLD_ROW))
    writer = SqlWriter(url, predictions, "request_id", 1, prepare_table)
    writer.open()
    writer.write(
        pd.DataFrame([{"request_id": "new1", "session_id": "s1", "file_name": "cat.jpg",
                       "status": "classified", "label": "tabby", "confidence": 0.7,
                       "top5": '[{"label": "tabby", "p": 0.7}]', "fruit": None}])
    )  # fmt: skip
    assert _columns(engine) == {c.name for c in predictions.columns}  # top_k is gone
    with engine.connect() as conn:
        rows = {r.request_id: r for r in conn.execute(sa.text("select * from predictions"))}
    assert rows["old1"].top5 == '[{"label": "ankle boot", "p": 0.9}]'
    assert rows["old1"].model_name == "images_fashion_classifier" and rows["old1"].fruit is None
    assert rows["new1"].label == "tabby"
    prepare_table(engine)  # a second start changes nothing
    assert _columns(engine) == {c.name for c in predictions.columns}


def test_a_foreign_table_of_that_name_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(sa.text("create table predictions (id integer primary key, price float)"))
    with pytest.raises(CaudalError, match="is not an images predictions table") as caught:
        prepare_table(engine)
    assert "CAUDAL_DATABASE_URL" in (caught.value.hint or "")
    assert _columns(engine) == {"id", "price"}
