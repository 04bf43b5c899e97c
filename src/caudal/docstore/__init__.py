"""Document stores: JSON documents by (collection, key), upserted idempotently.

One small interface so a pipeline writes documents the same way everywhere: the embedded
default is a SQLite file of JSON documents (runs anywhere, no server), a PostgreSQL
``CAUDAL_DATABASE_URL`` puts them in a JSONB table, and ``CAUDAL_MONGO_URL`` switches to
MongoDB through pymongo. ``upsert`` replaces a document
with the same key, so writing a batch twice leaves the same state as writing it once: that
is what makes a replayed micro-batch harmless.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from caudal.errors import CaudalError
from caudal.settings import Settings

Document = dict[str, Any]
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DocumentStore(ABC):
    """Collections of JSON documents, each under a unique string key."""

    @abstractmethod
    def upsert(self, collection: str, docs: Iterable[tuple[str, Document]]) -> int:
        """Insert or replace each (key, document); returns how many were written."""

    @abstractmethod
    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        """Documents whose top-level fields equal ``where``, ordered by field ``sort``."""

    @abstractmethod
    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        """How many documents ``find(collection, where)`` would return."""

    @abstractmethod
    def close(self) -> None: ...


def field_name(name: str) -> str:
    """Field names go into query text, so only plain identifiers are accepted."""
    if not _FIELD.match(name):
        raise CaudalError(f"not a plain field name: {name!r}", "use letters, digits and _")
    return name


def open_store(settings: Settings) -> DocumentStore:
    """MongoDB when ``CAUDAL_MONGO_URL`` is set, else PostgreSQL JSONB when
    ``CAUDAL_DATABASE_URL`` is a PostgreSQL URL, else the SQLite file under the data dir."""
    if settings.mongo_url is not None and settings.mongo_url.get_secret_value():
        from caudal.docstore.mongo import MongoStore

        return MongoStore(settings.mongo_url.get_secret_value())
    database = settings.database_url.get_secret_value() if settings.database_url else ""
    if database.startswith("postgresql"):
        from caudal.docstore.postgres import PostgresStore

        return PostgresStore(database)
    from caudal.docstore.sqlite import SqliteStore

    return SqliteStore(settings.data_dir / "documents.sqlite")
