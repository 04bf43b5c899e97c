"""One ZTF alert → a metadata record and a cutout record, each with an explicit Avro schema.

Reads the alert generically: any field missing from an older schema version (e.g. ``drb``
before 3.3) becomes null; a record with no ``candid``/``candidate`` is a foreign schema.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from caudal.errors import CaudalError
from caudal.streaming.serde import encode_single_object, load_schema

SCHEMAS = Path(__file__).parent / "schemas"
CANDIDATE_FIELDS = (
    "jd",
    "fid",
    "ra",
    "dec",
    "magpsf",
    "sigmapsf",
    "isdiffpos",
    "rb",
    "drb",
    "classtar",
    "sgscore1",
    "distpsnr1",
    "ssdistnr",
    "ndethist",
)
CUTOUTS = {
    "science": "cutoutScience",
    "template": "cutoutTemplate",
    "difference": "cutoutDifference",
}


class ForeignAlert(CaudalError):
    """A record that is not a ZTF-like alert (no candid, objectId or candidate)."""


@lru_cache(maxsize=2)
def schema(name: str) -> Any:
    return load_schema(SCHEMAS / f"{name}.avsc")


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and value != value else value


def _history(prv: list[dict[str, Any]] | None) -> dict[str, Any]:
    prv = prv or []
    jds = [p["jd"] for p in prv if p.get("jd") is not None]
    return {
        "n_prv": len(prv),
        "n_prv_detections": sum(1 for p in prv if p.get("candid") is not None),
        "prv_first_jd": min(jds) if jds else None,
        "prv_last_jd": max(jds) if jds else None,
    }


def split_alert(alert: dict[str, Any], source_file: str) -> tuple[dict, dict]:
    """(metadata, cutouts) records for the two topics; raises ``ForeignAlert``."""
    candidate = alert.get("candidate")
    candid = alert.get("candid") or (candidate or {}).get("candid")
    if not isinstance(candidate, dict) or candid is None or not alert.get("objectId"):
        raise ForeignAlert(
            f"not a ZTF-like alert: fields {sorted(alert)[:8]} lack objectId/candid/candidate"
        )
    metadata = {
        "objectId": str(alert["objectId"]),
        "candid": int(candid),
        "schemavsn": str(alert["schemavsn"]) if alert.get("schemavsn") else None,
        "source_file": source_file,
        **{f: _number(candidate.get(f)) for f in CANDIDATE_FIELDS},
        **_history(alert.get("prv_candidates")),
    }
    if metadata["fid"] is not None:
        metadata["fid"] = int(metadata["fid"])
    cutouts = {"objectId": metadata["objectId"], "candid": metadata["candid"]}
    for short, key in CUTOUTS.items():
        stamp = alert.get(key)
        cutouts[short] = stamp.get("stampData") if isinstance(stamp, dict) else None
    return metadata, cutouts


def encode(name: str, record: dict[str, Any]) -> bytes:
    """Avro single-object encoding with the shipped schema ``name``."""
    return encode_single_object(schema(name), record)
