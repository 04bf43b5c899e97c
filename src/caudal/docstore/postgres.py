"""PostgreSQL JSONB documents (``CAUDAL_DATABASE_URL=postgresql+psycopg://...``): the same
table shape as the SQLite store, ``INSERT ... ON CONFLICT DO UPDATE`` as the upsert, and
field filters and sorts through ``->>`` with the value's JSON type kept (numbers compare as
numbers)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from caudal.docstore import Document, DocumentStore, field_name
from caudal.errors import CaudalError

TABLE = "caudal_documents"


class PostgresStore(DocumentStore):
    def __init__(self, url: str) -> None:
        conninfo = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
        try:
            self._db = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CaudalError(
                f"cannot reach the documents database: {reason}",
                "check CAUDAL_DATABASE_URL and that PostgreSQL is up",
            ) from exc
        self._db.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (collection TEXT NOT NULL, key TEXT NOT NULL,"
            " doc JSONB NOT NULL, PRIMARY KEY (collection, key))"
        )
        self._db.execute(
            f"CREATE INDEX IF NOT EXISTS {TABLE}_by_symbol_start ON {TABLE}"
            " (collection, (doc->'symbol'), (doc->'start'))"
        )

    def upsert(self, collection: str, docs: Iterable[tuple[str, Document]]) -> int:
        rows = [(collection, key, Jsonb(doc)) for key, doc in docs]
        with self._db.transaction(), self._db.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {TABLE} (collection, key, doc) VALUES (%s, %s, %s) "
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
        query, args = self._select(sql.SQL("doc"), collection, where)
        if sort:
            order = sql.SQL(" DESC") if descending else sql.SQL("")
            query += sql.SQL(" ORDER BY doc->{}{}").format(sql.Literal(field_name(sort)), order)
        if limit is not None:
            query += sql.SQL(" LIMIT {}").format(sql.Literal(int(limit)))
        return [row[0] for row in self._db.execute(query, args)]

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        query, args = self._select(sql.SQL("count(*)"), collection, where)
        row = self._db.execute(query, args).fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _select(
        what: sql.Composable, collection: str, where: dict[str, Any] | None
    ) -> tuple[sql.Composed, list[Any]]:
        query = sql.SQL("SELECT {} FROM {} WHERE collection = %s").format(
            what, sql.Identifier(TABLE)
        )
        args: list[Any] = [collection]
        for name, value in (where or {}).items():
            query += sql.SQL(" AND doc->{} = %s::jsonb").format(sql.Literal(field_name(name)))
            args.append(json.dumps(value))
        return query, args

    def close(self) -> None:
        self._db.close()
