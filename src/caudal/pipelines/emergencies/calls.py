"""The call schema and its validation: what makes an input record a routable call.

A record is valid when it is a JSON object with exactly the fields below, each of the right
type, a known incident type, urgency and services, and coordinates inside Spain. Anything
else gets a one-line reason and goes to the dead-letter topic; the rest of the batch goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pandas as pd

from caudal.pipelines.emergencies.incidents import BY_TIPO, SERVICIOS, URGENCIAS
from caudal.pipelines.emergencies.places import in_spain

CALL_SCHEMA = (
    "id_aviso string, fecha string, tipo string, descripcion string, urgencia string, "
    "servicio string, cuerpos array<string>, necesita_medico boolean, heridos int, "
    "municipio string, provincia string, lat double, lon double"
)
FIELDS = [c.split(" ", 1)[0] for c in CALL_SCHEMA.split(", ")]
KEY = "id_aviso"
VALIDATED_SCHEMA = f"{CALL_SCHEMA}, motivo string, valor string, particion int, desplazamiento long"
"""A call's columns (null when invalid) plus the reason and, for dead letters, the source."""
VALIDATED_EXTRA = ["motivo", "valor", "particion", "desplazamiento"]
_EMPTY = dict.fromkeys(FIELDS)


def _text(v: Any) -> str | None:
    return None if isinstance(v, str) and v.strip() else "must be a non-empty string"


def _number(v: Any) -> str | None:
    ok = isinstance(v, int | float) and not isinstance(v, bool)
    return None if ok else "must be a number"


def _one_of(allowed: tuple[str, ...] | dict[str, Any]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if isinstance(v, str) and v in allowed else f"unknown value {v!r}"

    return check


def _timestamp(v: Any) -> str | None:
    if not isinstance(v, str):
        return "must be an ISO-8601 timestamp string"
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        return f"{v!r} is not an ISO-8601 timestamp"
    return None if parsed.tzinfo is not None else f"{v!r} has no time zone"


def _services(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must be a non-empty list of services"
    unknown = [s for s in v if s not in SERVICIOS]
    return f"unknown service(s) {unknown}" if unknown else None


def _count(v: Any) -> str | None:
    ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10_000
    return None if ok else "must be a whole number from 0"


CHECKS: dict[str, Callable[[Any], str | None]] = {
    "id_aviso": _text,
    "fecha": _timestamp,
    "tipo": _one_of(BY_TIPO),
    "descripcion": _text,
    "urgencia": _one_of(URGENCIAS),
    "servicio": _one_of(SERVICIOS),
    "cuerpos": _services,
    "necesita_medico": lambda v: None if isinstance(v, bool) else "must be true or false",
    "heridos": _count,
    "municipio": _text,
    "provincia": _text,
    "lat": _number,
    "lon": _number,
}


def check_call(value: bytes | None) -> tuple[dict[str, Any] | None, str | None]:
    """The call, or ``None`` and the reason it cannot be routed."""
    if value is None:
        return None, "empty record (no value)"
    try:
        call = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(call, dict):
        return None, f"not a JSON object but {type(call).__name__}"
    missing = [f for f in FIELDS if f not in call]
    if missing:
        return None, f"missing field(s): {', '.join(missing)}"
    unknown = sorted(set(call) - set(FIELDS))
    if unknown:
        return None, f"unknown field(s): {', '.join(unknown)}"
    for name, check in CHECKS.items():
        problem = check(call[name])
        if problem:
            return None, f"{name}: {problem}"
    if not in_spain(call["lat"], call["lon"]):
        return None, f"coordinates ({call['lat']}, {call['lon']}) are outside Spain"
    return call, None


def validate_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: Kafka rows (value, partition, offset) → VALIDATED_SCHEMA rows."""
    for batch in batches:
        rows = []
        for value, partition, offset in zip(
            batch["value"], batch["partition"], batch["offset"], strict=True
        ):
            call, reason = check_call(value)
            if call is not None:
                rows.append({**call, "motivo": None, "valor": None})
            else:
                rows.append({**_EMPTY, KEY: _id_of(value), "motivo": reason, "valor": _raw(value)})
            rows[-1]["particion"], rows[-1]["desplazamiento"] = int(partition), int(offset)
        frame = pd.DataFrame.from_records(rows, columns=[*FIELDS, *VALIDATED_EXTRA])
        yield frame.astype({"heridos": "Int32", "particion": "int32", "desplazamiento": "int64"})


def _id_of(value: bytes | None) -> str | None:
    """The call id of a rejected record when it has a readable one (so the DLQ names it)."""
    try:
        call_id = json.loads(value or b"").get(KEY)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return call_id if isinstance(call_id, str) else None


def _raw(value: bytes | None) -> str | None:
    if value is None:
        return None
    return bytes(value).decode("utf-8", errors="replace")
