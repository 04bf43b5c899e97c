"""The registry a command uses: the configured one, else the embedded store served for a while."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from caudal.registry.server import RegistryServer
from caudal.settings import Settings


def store_dir(settings: Settings) -> Path:
    return settings.data_dir / "registry"


@contextmanager
def registry_url(settings: Settings) -> Iterator[str]:
    """``CAUDAL_SCHEMA_REGISTRY_URL`` if set; otherwise the data dir's store, served meanwhile."""
    if settings.schema_registry_url:
        yield settings.schema_registry_url
        return
    server = RegistryServer(store_dir(settings)).start()
    try:
        yield server.url
    finally:
        server.stop()
