"""The document store contract, on each backend that runs here: SQLite and real PostgreSQL.

(MongoDB is not tested: no MongoDB server package exists in the reachable registries.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caudal.docstore import DocumentStore, open_store
from caudal.docstore.postgres import TABLE, PostgresStore
from caudal.docstore.sqlite import SqliteStore
from caudal.errors import CaudalError
from caudal.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    if request.param == "sqlite":
        opened: DocumentStore = SqliteStore(tmp_path / "docs.sqlite")
    else:
        url = request.getfixturevalue("postgres_url")
        opened = open_store(Settings(data_dir=tmp_path, database_url=url))
        assert isinstance(opened, PostgresStore)
        opened._db.execute(f"TRUNCATE {TABLE}")
    yield opened
    opened.close()


def _bar(symbol: str, start: int, close: float) -> tuple[str, dict[str, object]]:
    return f"{symbol}|{start}", {"symbol": symbol, "start": start, "close": close}


def test_an_upsert_replaces_by_key_so_a_replay_changes_nothing(store: DocumentStore) -> None:
    docs = [_bar("AAPL", s, 1.0 + s) for s in (0, 5_000, 10_000)]
    assert store.upsert("windows", docs) == 3
    store.upsert("windows", docs)
    store.upsert("windows", [_bar("AAPL", 5_000, 99.5)])
    assert store.count("windows") == 3
    assert store.find("windows", {"start": 5_000}) == [docs[1][1] | {"close": 99.5}]
    assert store.count("models") == 0 and store.find("models") == []


def test_find_filters_sorts_numerically_and_limits(store: DocumentStore) -> None:
    store.upsert("windows", [_bar("AAPL", s, 1.0) for s in (9_000, 10_000, 500, 70_000)])
    store.upsert("windows", [_bar("MSFT", 1, 2.0)])
    newest = store.find("windows", {"symbol": "AAPL"}, sort="start", descending=True, limit=2)
    assert [d["start"] for d in newest] == [70_000, 10_000]
    assert [d["start"] for d in store.find("windows", {"symbol": "AAPL"}, sort="start")] == [
        500, 9_000, 10_000, 70_000
    ]  # fmt: skip
    assert store.count("windows", {"symbol": "MSFT"}) == 1
    assert store.find("windows", {"symbol": "MSFT", "start": 1}) == [_bar("MSFT", 1, 2.0)[1]]


def test_a_field_name_that_is_not_an_identifier_is_refused(store: DocumentStore) -> None:
    with pytest.raises(CaudalError, match="not a plain field name"):
        store.find("windows", {"x') OR 1=1 --": 1})


def test_an_unreachable_postgres_is_one_clear_error(tmp_path: Path) -> None:
    url = "postgresql+psycopg://u:p@127.0.0.1:1/none"
    with pytest.raises(CaudalError, match="cannot reach the documents database"):
        open_store(Settings(data_dir=tmp_path, database_url=url))
