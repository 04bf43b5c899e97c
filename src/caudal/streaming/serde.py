"""Decoding record values for people and tools: Avro (registry or embedded schema) or JSON.

Avro values come in three shapes: the Confluent wire format (magic byte 0, 4-byte schema id,
schemaless body; the schema is fetched from the registry), Avro single-object encoding (magic
``C3 01``, 8-byte CRC-64-AVRO fingerprint; Caudal's own topics, schemas shipped as ``.avsc``
files in the package) and Avro object container files (the schema embedded, as ZTF alert files
are). Anything else is JSON if it parses, else text/bytes.
"""

from __future__ import annotations

import io
import json
import struct
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import fingerprint as schema_fingerprint
from fastavro.schema import to_parsing_canonical_form

from caudal.errors import CaudalError

MAGIC = 0
CONTAINER_MAGIC = b"Obj\x01"
SINGLE_OBJECT_MAGIC = b"\xc3\x01"


class DecodeError(CaudalError):
    """A value that claims a format but does not decode in it."""


class UnknownSchemaId(DecodeError):
    """The registry answered that it has no such id: the record is bad, not the registry."""


def _registry_get(registry_url: str, path: str, what: str) -> Any | None:
    """The registry's JSON answer for ``path``; None when it answers 404 (it has no such thing).

    A registry that cannot be reached is not a property of a record, so it is a plain
    ``CaudalError``: callers stop (and retry later) instead of rejecting good records.
    """
    try:
        with urllib.request.urlopen(f"{registry_url.rstrip('/')}{path}", timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise _unreachable(registry_url, what, exc) from exc
    except (OSError, ValueError) as exc:
        raise _unreachable(registry_url, what, exc) from exc


@lru_cache(maxsize=256)
def registry_schema(registry_url: str, schema_id: int) -> Any:
    """The writer schema of ``schema_id``, fetched once per process."""
    what = f"schema id {schema_id}"
    answer = _registry_get(registry_url, f"/schemas/ids/{schema_id}", what)
    if answer is None:
        raise UnknownSchemaId(f"{what} is not in the registry", "unknown_schema_id")
    try:
        schema = json.loads(answer["schema"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _unreachable(registry_url, what, exc) from exc
    return fastavro.parse_schema(schema)


def subject_schemas(registry_url: str, subject: str) -> dict[int, str]:
    """Every version of ``subject`` as ``{schema id: schema JSON}``, oldest version first.

    Empty when the registry has no such subject (nothing was ever produced with a schema).
    Read on the driver when a query starts, so that the JVM can decode with these schemas.
    """
    what = f"the versions of subject {subject}"
    quoted = urllib.parse.quote(subject, safe="")
    versions = _registry_get(registry_url, f"/subjects/{quoted}/versions", what) or []
    schemas: dict[int, str] = {}
    for version in sorted(versions):
        answer = _registry_get(registry_url, f"/subjects/{quoted}/versions/{version}", what)
        if answer is not None:  # a version deleted meanwhile
            schemas[int(answer["id"])] = str(answer["schema"])
    return schemas


def _unreachable(registry_url: str, what: str, exc: Exception) -> CaudalError:
    return CaudalError(
        f"could not read {what} from the registry at {registry_url}: {exc}",
        "check CAUDAL_SCHEMA_REGISTRY_URL and that the registry runs",
    )


def encode_confluent(schema_id: int, parsed_schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", MAGIC, schema_id))
    fastavro.schemaless_writer(buf, parsed_schema, record)
    return buf.getvalue()


def decode_confluent(value: bytes, registry_url: str | None) -> Any:
    if len(value) < 5 or value[0] != MAGIC:
        raise DecodeError("not Confluent wire format (no magic byte 0 + schema id)")
    if not registry_url:
        raise DecodeError("Avro with a schema id but no CAUDAL_SCHEMA_REGISTRY_URL set")
    (schema_id,) = struct.unpack(">I", value[1:5])
    schema = registry_schema(registry_url, schema_id)
    return fastavro.schemaless_reader(io.BytesIO(value[5:]), schema, None)


def decode_container(value: bytes) -> list[dict[str, Any]]:
    try:
        return [dict(r) for r in fastavro.reader(io.BytesIO(value))]  # type: ignore[arg-type]
    except Exception as exc:
        raise DecodeError(f"damaged Avro container: {exc}") from exc


def load_schema(path: Path) -> Any:
    """Parse an ``.avsc`` file (schemas are data, shipped beside the code that uses them)."""
    return fastavro.parse_schema(json.loads(path.read_text()))


def fingerprint(parsed_schema: Any) -> bytes:
    """The 8-byte CRC-64-AVRO fingerprint, in the byte order single-object encoding uses."""
    canonical = to_parsing_canonical_form(parsed_schema)
    return bytes.fromhex(schema_fingerprint(canonical, "CRC-64-AVRO"))


def encode_single_object(parsed_schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(SINGLE_OBJECT_MAGIC + fingerprint(parsed_schema))
    fastavro.schemaless_writer(buf, parsed_schema, record)
    return buf.getvalue()


@lru_cache(maxsize=1)
def shipped_schemas() -> dict[bytes, Any]:
    """Every ``.avsc`` shipped in the caudal package, by fingerprint."""
    root = Path(__file__).resolve().parent.parent
    schemas = (load_schema(p) for p in root.rglob("*.avsc"))
    return {fingerprint(s): s for s in schemas}


def decode_single_object(value: bytes, schemas: dict[bytes, Any] | None = None) -> Any:
    if not value.startswith(SINGLE_OBJECT_MAGIC) or len(value) < 10:
        raise DecodeError("not Avro single-object encoding (no C3 01 marker)")
    schema = (schemas or shipped_schemas()).get(value[2:10])
    if schema is None:
        raise DecodeError(f"unknown Avro schema fingerprint {value[2:10].hex()}")
    try:
        return fastavro.schemaless_reader(io.BytesIO(value[10:]), schema, None)
    except Exception as exc:
        raise DecodeError(f"damaged Avro record: {exc}") from exc


def decode_value(value: bytes | None, registry_url: str | None = None) -> Any:
    """Best-effort decoding for display: container Avro, Confluent Avro, JSON, text, bytes."""
    if value is None:
        return None
    if value.startswith(SINGLE_OBJECT_MAGIC):
        return decode_single_object(value)
    if value.startswith(CONTAINER_MAGIC):
        records = decode_container(value)
        return records[0] if len(records) == 1 else records
    if value[:1] == b"\x00" and len(value) >= 5 and registry_url:
        return decode_confluent(value, registry_url)
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return value.decode()
    except UnicodeDecodeError:
        return f"<{len(value)} bytes: {value[:24].hex()}…>"
