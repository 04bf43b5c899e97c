"""``caudal registry``: the embedded schema registry, served on its own."""

from __future__ import annotations

import time

import typer

from caudal.cli.output import command, console, settings
from caudal.errors import CaudalError
from caudal.registry.embedded import store_dir
from caudal.registry.server import RegistryServer


@command
def serve_registry(
    port: int = typer.Option(8081, "--port", "-p", help="Port to listen on (0 = a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0: all)."),
) -> None:
    """Serve the embedded schema registry (Confluent REST API) until Ctrl-C.

    Same store (<data dir>/registry) as the pipelines and commands that use the embedded one.

    Point other producers and consumers (or CAUDAL_SCHEMA_REGISTRY_URL) at the printed URL.
    """
    conf = settings()
    try:
        server = RegistryServer(store_dir(conf), host, port).start()
    except OSError as exc:
        raise CaudalError(
            f"cannot listen on {host}:{port}: {exc.strerror}", "try --port 0"
        ) from exc
    console.print(f"schema registry at {server.url}  (Ctrl-C stops)", highlight=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
