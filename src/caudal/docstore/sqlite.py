"""The embedded document store: one SQLite table of JSON documents (WAL, so readers such as
the UI never block the writer)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from caudal.docstore import Document, DocumentStore, field_name


class SqliteStore(DocumentStore):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, key TEXT NOT NULL,"
            " doc TEXT NOT NULL, PRIMARY KEY (collection, key))"
        )
        self._db.execute(  # the dashboard's query: one symbol's newest documents
            "CREATE INDEX IF NOT EXISTS by_symbol_start ON documents (collection,"
            " json_extract(doc, '$.symbol'), json_extract(doc, '$.start'))"
        )
        self._db.commit()

    def upsert(self, collection: str, docs: Iterable[tuple[str, Document]]) -> int:
        rows = [(collection, key, json.dumps(doc)) for key, doc in docs]
        with self._db:
            self._db.executemany(
                "INSERT INTO documents (collection, key, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (collection, key) DO UPDATE SET doc = excluded.doc",
                rows,
            )
        return len(rows)

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        sql, args = self._select("doc", collection, where)
        if sort:
            sql += f" ORDER BY json_extract(doc, '$.{field_name(sort)}')"
            sql += " DESC" if descending else ""
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [json.loads(doc) for (doc,) in self._db.execute(sql, args)]

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        sql, args = self._select("count(*)", collection, where)
        return int(self._db.execute(sql, args).fetchone()[0])

    @staticmethod
    def _select(what: str, collection: str, where: dict[str, Any] | None) -> tuple[str, list[Any]]:
        sql, args = f"SELECT {what} FROM documents WHERE collection = ?", [collection]
        for name, value in (where or {}).items():
            sql += f" AND json_extract(doc, '$.{field_name(name)}') = ?"
            args.append(value)
        return sql, args

    def close(self) -> None:
        self._db.close()
