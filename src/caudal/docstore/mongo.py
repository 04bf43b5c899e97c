"""MongoDB through pymongo (``CAUDAL_MONGO_URL``): a collection per document collection,
the key as ``_id``, upserts as ``ReplaceOne(upsert=True)`` in one unordered bulk write."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from caudal.docstore import Document, DocumentStore
from caudal.errors import CaudalError


class MongoStore(DocumentStore):
    def __init__(self, url: str, database: str = "caudal") -> None:
        try:
            import pymongo
        except ImportError as exc:
            raise CaudalError("CAUDAL_MONGO_URL is set but pymongo is missing",
                              "pip install 'caudal[mongo]'") from exc  # fmt: skip
        self._client: Any = pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000)
        self._db = self._client.get_default_database(default=database)
        self._replace = pymongo.ReplaceOne
        self._order = {False: pymongo.ASCENDING, True: pymongo.DESCENDING}

    def upsert(self, collection: str, docs: Iterable[tuple[str, Document]]) -> int:
        ops = [self._replace({"_id": key}, {**doc, "_id": key}, upsert=True) for key, doc in docs]
        if ops:
            self._db[collection].bulk_write(ops, ordered=False)
        return len(ops)

    def find(
        self,
        collection: str,
        where: dict[str, Any] | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Document]:
        cursor = self._db[collection].find(where or {}, {"_id": False})
        if sort:
            cursor = cursor.sort(sort, self._order[descending])
        if limit is not None:
            cursor = cursor.limit(limit)
        return list(cursor)

    def count(self, collection: str, where: dict[str, Any] | None = None) -> int:
        return int(self._db[collection].count_documents(where or {}))

    def close(self) -> None:
        self._client.close()
