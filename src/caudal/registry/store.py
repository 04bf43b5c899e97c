"""The registry's state on disk: schemas by id, subjects as lists of ids, compatibility levels.

One JSON file, replaced atomically under an exclusive ``flock``: several processes may serve
the same store (the generator and the pipeline each start one), and an id, once given, means
the same schema for ever, across restarts and across processes.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro

from caudal.registry.compatibility import LEVELS, compatibility_problems
from caudal.sinks.batch_log import atomic_write

DEFAULT_LEVEL = "BACKWARD"


class RegistryError(Exception):
    """A request the registry refuses; ``status`` and ``code`` follow the Confluent API."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Version:
    subject: str
    version: int
    id: int
    schema: str

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "version": self.version,
            "id": self.id,
            "schema": self.schema,
        }


def canonical(schema: str) -> tuple[str, Any]:
    """The schema as compact JSON (the identity used for ids) and parsed; 422 when invalid."""
    try:
        parsed = json.loads(schema)
        fastavro.parse_schema(parsed)
    except Exception as exc:
        raise RegistryError(422, 42201, f"Invalid Avro schema: {exc}") from exc
    return json.dumps(parsed, separators=(",", ":"), sort_keys=True), parsed


class SchemaStore:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "registry.json"
        self._lock = directory / "registry.lock"

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"schemas": {}, "subjects": {}, "config": {}}
        return dict(json.loads(self.path.read_text()))

    @contextmanager
    def _writing(self) -> Iterator[dict[str, Any]]:
        with self._lock.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            yield state
            atomic_write(self.path, json.dumps(state))

    def subjects(self) -> list[str]:
        return sorted(s for s, ids in self._read()["subjects"].items() if ids)

    def schema(self, schema_id: int) -> str:
        text = self._read()["schemas"].get(str(schema_id))
        if text is None:
            raise RegistryError(404, 40403, f"Schema {schema_id} not found")
        return str(text)

    def versions(self, subject: str) -> list[Version]:
        state = self._read()
        ids = state["subjects"].get(subject)
        if not ids:
            raise RegistryError(404, 40401, f"Subject '{subject}' not found.")
        return [Version(subject, n, i, state["schemas"][str(i)]) for n, i in enumerate(ids, 1)]

    def version(self, subject: str, version: str) -> Version:
        versions = self.versions(subject)
        if version in ("latest", "-1"):
            return versions[-1]
        if not version.isdigit() or not 1 <= int(version) <= len(versions):
            raise RegistryError(404, 40402, f"Version {version} not found.")
        return versions[int(version) - 1]

    def lookup(self, subject: str, schema: str) -> Version:
        text, _ = canonical(schema)
        for v in self.versions(subject):
            if v.schema == text:
                return v
        raise RegistryError(404, 40403, "Schema not found")

    def level(self, subject: str | None = None) -> str:
        config = self._read()["config"]
        return str(config.get(subject or "", config.get("", DEFAULT_LEVEL)))

    def set_level(self, level: str, subject: str | None = None) -> str:
        if level.upper() not in LEVELS:
            raise RegistryError(422, 42203, f"Invalid compatibility level {level}")
        with self._writing() as state:
            state["config"][subject or ""] = level.upper()
        return level.upper()

    def problems(self, subject: str, schema: str, version: str = "latest") -> list[str]:
        """Why ``schema`` breaks ``subject``'s compatibility level (empty when it does not)."""
        _, parsed = canonical(schema)
        try:
            versions = self.versions(subject)
        except RegistryError:
            return []
        if version not in ("latest", "-1"):
            versions = [self.version(subject, version)]
        earlier = [json.loads(v.schema) for v in versions]
        return compatibility_problems(self.level(subject), parsed, earlier)

    def register(self, subject: str, schema: str) -> Version:
        """The existing version for an identical schema, else a new one if compatible (409)."""
        text, parsed = canonical(schema)
        with self._writing() as state:
            ids: list[int] = state["subjects"].setdefault(subject, [])
            for n, i in enumerate(ids, 1):
                if state["schemas"][str(i)] == text:
                    return Version(subject, n, i, text)
            earlier = [json.loads(state["schemas"][str(i)]) for i in ids]
            config = state["config"]
            level = config.get(subject, config.get("", DEFAULT_LEVEL))
            problems = compatibility_problems(level, parsed, earlier)
            if problems:
                raise RegistryError(
                    409,
                    409,
                    f"Schema being registered is incompatible with an earlier schema for "
                    f"subject '{subject}' ({level}): {'; '.join(problems)}",
                )
            known = {v: int(k) for k, v in state["schemas"].items()}
            schema_id = known.get(text, max(map(int, state["schemas"]), default=0) + 1)
            state["schemas"][str(schema_id)] = text
            ids.append(schema_id)
            return Version(subject, len(ids), schema_id, text)

    def delete(self, subject: str) -> list[int]:
        versions = [v.version for v in self.versions(subject)]
        with self._writing() as state:
            state["subjects"][subject] = []
        return versions
