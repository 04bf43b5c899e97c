"""The object-store contract the images pipeline (and any other) writes and reads through.

A store hands out a URL for every object it keeps (``file://...`` or ``s3://bucket/key``);
the URL is what travels through Kafka, and ``get`` on any worker with the same settings reads
it back. Failures are typed so callers can tell a missing object (final: record it) from an
unreachable store (transient: retry, then record it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from caudal.errors import CaudalError


class StoreError(CaudalError):
    """The store could not do what was asked; ``reason`` is one line for a user."""


class ObjectMissing(StoreError):
    """No object at that URL (deleted, never written, or another store's URL)."""


class StoreUnreachable(StoreError):
    """The store did not answer (down, wrong endpoint, refused credentials)."""


class ObjectTooLarge(StoreError):
    """The object is over the size the caller accepts; it was not read in full."""


class ObjectStore(ABC):
    """Put bytes under a key, get them back by the URL that ``put`` returned."""

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store ``data`` at ``key`` (overwriting); returns the object's URL."""

    @abstractmethod
    def get(self, url: str, max_bytes: int) -> bytes:
        """The object's bytes; ``ObjectMissing``, ``ObjectTooLarge`` or ``StoreUnreachable``."""

    @abstractmethod
    def check(self) -> None:
        """Raise ``StoreUnreachable`` with what to fix if the store cannot be used now."""
