"""The SQL sink on SQLite: once per key whatever is replayed, and additive migration."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from caudal.sinks.sql import SqlBatchResult, SqlWriter, ensure_table, make_engine


def _table(extra: bool = False) -> sa.Table:
    columns = [sa.Column("id", sa.String(32), primary_key=True), sa.Column("v", sa.Float)]
    if extra:
        columns.append(sa.Column("note", sa.Text))
    return sa.Table("things", sa.MetaData(), *columns)


def _opened(writer: SqlWriter) -> SqlWriter:
    writer.open()
    return writer


def _count(url: str) -> int:
    with make_engine(url).connect() as conn:
        return int(conn.execute(sa.text("select count(*) from things")).scalar_one())


def test_replays_and_duplicates_insert_nothing_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sink = _opened(SqlWriter(url, _table(), "id", wait_s=1))
    first = pd.DataFrame({"id": ["a", "b", "b"], "v": [1.0, float("nan"), 2.0]})
    assert sink.write(first) == SqlBatchResult(rows=2, duplicates=1)
    again = pd.DataFrame({"id": ["a", "b", "c"], "v": [1.0, 2.0, 3.0]})
    assert sink.write(again) == SqlBatchResult(rows=1, duplicates=2)
    assert _count(url) == 3
    with make_engine(url).connect() as conn:
        assert conn.execute(sa.text("select v from things where id='b'")).scalar_one() is None


def test_a_newer_schema_adds_its_columns_to_an_existing_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    ensure_table(engine, _table())
    _opened(SqlWriter(url, _table(), "id", 1)).write(pd.DataFrame({"id": ["a"], "v": [1.0]}))
    ensure_table(engine, _table(extra=True))
    assert {c["name"] for c in sa.inspect(engine).get_columns("things")} == {"id", "v", "note"}
    sink = _opened(SqlWriter(url, _table(extra=True), "id", 1))
    sink.write(pd.DataFrame({"id": ["b"], "v": [2.0], "note": ["new"]}))
    assert _count(url) == 2
