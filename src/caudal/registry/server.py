"""The HTTP face of ``SchemaStore``: the Confluent REST routes that clients and serializers use.

Routes: ``/subjects``, ``/subjects/{s}`` (lookup, delete), ``/subjects/{s}/versions[/{v}]``,
``/schemas/ids/{id}``, ``/schemas/types``, ``/compatibility/subjects/{s}/versions[/{v}]``,
``/config[/{s}]``. Errors carry ``error_code`` and ``message`` as the real registry's do.
The standard library's threading server is enough: requests are small and rare (clients cache).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from caudal.registry.store import RegistryError, SchemaStore

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
Handler = Callable[[SchemaStore, dict[str, Any], list[str]], Any]


def _subjects(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return store.subjects()


def _versions(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return [v.version for v in store.versions(args[0])]


def _version(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return store.version(args[0], args[1]).as_json()


def _register(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    v = store.register(args[0], _schema_of(body))
    return {"id": v.id, "version": v.version, "subject": v.subject, "schema": v.schema}


def _lookup(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return store.lookup(args[0], _schema_of(body)).as_json()


def _delete(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return store.delete(args[0])


def _by_id(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return {"schema": store.schema(int(args[0])), "schemaType": "AVRO"}


def _compatible(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    problems = store.problems(args[0], _schema_of(body), args[1] if len(args) > 1 else "latest")
    return {"is_compatible": not problems, "messages": problems}


def _get_config(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    return {"compatibilityLevel": store.level(args[0] if args else None)}


def _put_config(store: SchemaStore, body: dict[str, Any], args: list[str]) -> Any:
    level = str(body.get("compatibility") or body.get("compatibilityLevel") or "")
    return {"compatibility": store.set_level(level, args[0] if args else None)}


def _schema_of(body: dict[str, Any]) -> str:
    if body.get("schemaType", "AVRO") != "AVRO":
        raise RegistryError(422, 42201, "only AVRO schemas are supported by the embedded registry")
    if not isinstance(body.get("schema"), str):
        raise RegistryError(422, 42201, "request body needs a 'schema' string")
    return str(body["schema"])


SEG = "([^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("GET", re.compile(r"/subjects/?"), _subjects),
    ("GET", re.compile(rf"/subjects/{SEG}/versions/?"), _versions),
    ("GET", re.compile(rf"/subjects/{SEG}/versions/{SEG}"), _version),
    ("POST", re.compile(rf"/subjects/{SEG}/versions/?"), _register),
    ("POST", re.compile(rf"/subjects/{SEG}/?"), _lookup),
    ("DELETE", re.compile(rf"/subjects/{SEG}/?"), _delete),
    ("GET", re.compile(rf"/schemas/ids/{SEG}"), _by_id),
    ("GET", re.compile(r"/schemas/types/?"), lambda s, b, a: ["AVRO"]),
    ("POST", re.compile(rf"/compatibility/subjects/{SEG}/versions/?"), _compatible),
    ("POST", re.compile(rf"/compatibility/subjects/{SEG}/versions/{SEG}"), _compatible),
    ("GET", re.compile(r"/config/?"), _get_config),
    ("GET", re.compile(rf"/config/{SEG}"), _get_config),
    ("PUT", re.compile(r"/config/?"), _put_config),
    ("PUT", re.compile(rf"/config/{SEG}"), _put_config),
]


class _RequestHandler(BaseHTTPRequestHandler):
    store: SchemaStore

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a registry serving a pipeline must not write to its progress display."""

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            for verb, pattern, handler in ROUTES:
                match = pattern.fullmatch(path)
                if verb == method and match:
                    args = [unquote(g) for g in match.groups()]
                    self._send(200, handler(self.store, self._body(), args))
                    return
            raise RegistryError(404, 404, f"no route {method} {path}")
        except RegistryError as exc:
            self._send(exc.status, {"error_code": exc.code, "message": exc.message})
        except ValueError as exc:
            self._send(422, {"error_code": 422, "message": f"bad request: {exc}"})

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        body = json.loads(self.rfile.read(length))
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")


class RegistryServer:
    """Serves a store on ``host:port`` (0 = a free port) from a daemon thread."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("Handler", (_RequestHandler,), {"store": SchemaStore(directory)})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="schema-registry", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RegistryServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
