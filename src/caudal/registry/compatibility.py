"""Avro schema compatibility, as the Confluent registry defines its levels.

BACKWARD: a reader on the new schema can read data written with the old one. FORWARD: the
reverse. FULL: both. ``*_TRANSITIVE`` checks against every earlier version, not only the
latest. Type promotions follow the Avro specification's schema resolution rules.
"""

from __future__ import annotations

from typing import Any

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


def _name(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    kind = schema["type"]
    return kind if isinstance(kind, str) else _name(kind)


def reader_problems(reader: Any, writer: Any, path: str = "") -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty when it can)."""
    if isinstance(writer, list):
        return [p for branch in writer for p in reader_problems(reader, branch, path)]
    if isinstance(reader, list):
        if any(not reader_problems(branch, writer, path) for branch in reader):
            return []
        return [f"{path or 'value'}: no branch of the union reads {_name(writer)}"]
    r, w = _name(reader), _name(writer)
    if isinstance(reader, dict) and isinstance(reader["type"], (dict, list)):
        return reader_problems(reader["type"], writer, path)
    if r != w:
        if w in PROMOTIONS and r in PROMOTIONS[w]:
            return []
        return [f"{path or 'value'}: type changed from {w} to {r}"]
    if r == "record":
        return _record_problems(reader, writer, path)
    if r == "array":
        return reader_problems(reader["items"], writer["items"], f"{path}[]")
    if r == "map":
        return reader_problems(reader["values"], writer["values"], f"{path}{{}}")
    if r == "enum":
        missing = set(writer["symbols"]) - set(reader["symbols"])
        if missing and "default" not in reader:
            return [f"{path or 'value'}: enum symbols removed: {sorted(missing)}"]
    if r == "fixed" and reader["size"] != writer["size"]:
        return [f"{path or 'value'}: fixed size changed"]
    return []


def _record_problems(reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
    written = {f["name"]: f for f in writer["fields"]}
    problems: list[str] = []
    for field in reader["fields"]:
        where = f"{path}.{field['name']}" if path else field["name"]
        old = written.get(field["name"])
        if old is None:
            if "default" not in field:
                problems.append(f"{where}: new field without a default")
            continue
        problems.extend(reader_problems(field["type"], old["type"], where))
    return problems


def compatibility_problems(level: str, new: Any, earlier: list[Any]) -> list[str]:
    """Problems of ``new`` against the ``earlier`` versions (oldest first) under ``level``."""
    if level == "NONE" or not earlier:
        return []
    against = earlier if level.endswith("_TRANSITIVE") else earlier[-1:]
    base = level.removesuffix("_TRANSITIVE")
    problems: list[str] = []
    for old in against:
        if base in ("BACKWARD", "FULL"):
            problems.extend(reader_problems(new, old))
        if base in ("FORWARD", "FULL"):
            problems.extend(reader_problems(old, new))
    return problems
