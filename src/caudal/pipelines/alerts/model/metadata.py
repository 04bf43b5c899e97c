"""ZTF-like ``candidate`` and ``prv_candidates`` metadata for a simulated scene.

Pixel-derived numbers (magpsf, sigmapsf, isdiffpos, fwhm, diffmaglim) are measured on the
simulated stamps; catalogue numbers (sgscore1, distpsnr1, distnr, ssdistnr) follow from the
scene's counterpart, so metadata and pixels tell the same story. ZTF conventions kept:
``-999`` when a catalogue has no match, ``ssnamenr = 'null'``, 1.01 arcsec per pixel.
Score distributions overlap on purpose (about 10% of real alerts get a bogus-like rb/drb).
"""

from __future__ import annotations

import json
import string
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from caudal.pipelines.alerts.model.render import Conditions
from caudal.pipelines.alerts.model.scenes import Scene

SCHEMA_PATH = Path(__file__).parents[1] / "schemas" / "ztf_alert.avsc"
PIXEL_SCALE = 1.01  # arcsec per ZTF pixel
NONE = -999.0
_HISTORY = {  # (low, high) of log-uniform ndethist; span of history in days
    "SN": ((1, 25), (1, 40)),
    "AGN": ((3, 600), (100, 2000)),
    "VS": ((2, 800), (30, 2000)),
    "asteroid": ((1, 2), (0, 0)),
    "bogus": ((1, 4), (0, 30)),
}


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """The ZTF alert schema v3.3, copied verbatim from a real alert's Avro header."""
    return json.loads(SCHEMA_PATH.read_text())


def _record_fields(name: str) -> list[dict[str, Any]]:
    schema = load_schema()
    field = next(f for f in schema["fields"] if f["name"] == name)
    kind = field["type"]
    kind = kind[0] if isinstance(kind, list) else kind
    return (kind["items"] if kind.get("type") == "array" else kind)["fields"]


def fill_record(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Every field of schema record ``name`` (null where not given, in schema order)."""
    return {f["name"]: values.get(f["name"]) for f in _record_fields(name)}


def _beta(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.beta(a, b))


def scores(rng: np.random.Generator, cls: str, subtype: str) -> dict[str, float | None]:
    """rb / drb / classtar: real-bogus classifiers are right ~90% of the time."""
    real = cls != "bogus"
    if rng.random() < 0.1:
        real = not real
    rb = _beta(rng, 5, 2) if real else _beta(rng, 2, 4.5)
    drb = _beta(rng, 4, 0.5) if real else _beta(rng, 0.35, 3)
    star_like = subtype not in ("streak", "edge", "nan_blob") or rng.random() < 0.3
    classtar = _beta(rng, 12, 1) if star_like else float(rng.uniform(0, 1))
    return {"rb": rb, "drb": None if rng.random() < 0.03 else drb, "classtar": classtar}


def ps1_match(
    rng: np.random.Generator, counterpart: tuple | None, nearest: tuple | None, cond: Conditions
) -> dict[str, float]:
    """Nearest Pan-STARRS1 source: the counterpart, else the nearer of the closest field
    source in the stamp and a faint (invisible to ZTF) PS1 source; 4% have none in 30"."""
    faint = 25.0 * np.sqrt(rng.uniform(0.003, 1.0))
    if counterpart is None and nearest is not None and nearest[0] * PIXEL_SCALE < faint:
        counterpart = nearest
    if counterpart is None:
        if rng.random() < 0.04:
            return {"distpsnr1": NONE, "sgscore1": NONE, "srmag1": NONE, "sgmag1": NONE}
        distance = faint
        sgscore = 0.5 if rng.random() < 0.1 else float(rng.uniform(0, 1))
        mag = float(rng.uniform(19.5, 22.8))
    else:
        offset, flux, kind = counterpart
        distance = offset * PIXEL_SCALE + abs(rng.normal(0, 0.05))
        sgscore = {
            "star": _beta(rng, 12, 0.6),
            "qso": float(rng.uniform(0.3, 1.0)),
            "galaxy": _beta(rng, 0.7, 6),
        }[kind]
        mag = cond.mag(flux) + float(rng.normal(0, 0.15))
    return {
        "distpsnr1": float(distance),
        "sgscore1": sgscore,
        "srmag1": mag,
        "sgmag1": mag + float(rng.uniform(0.0, 1.2)),
    }


def sso_match(rng: np.random.Generator, cls: str, magpsf: float) -> dict[str, Any]:
    """Known solar-system object within 30": most asteroids, 1% chance coincidences."""
    if cls == "asteroid" and rng.random() < 0.85:
        distance = float(rng.exponential(1.0))
    elif rng.random() < 0.01:
        distance = float(rng.uniform(8.0, 30.0))
    else:
        return {"ssdistnr": NONE, "ssmagnr": NONE, "ssnamenr": "null"}
    return {
        "ssdistnr": distance,
        "ssmagnr": magpsf + float(rng.normal(0, 0.4)),
        "ssnamenr": str(int(rng.integers(1, 700_000))),
    }


def history(rng: np.random.Generator, cls: str, subtype: str, jd: float) -> dict[str, Any]:
    """ndethist / ncovhist / jdstarthist; persistent artefacts near bright stars recur."""
    (low, high), (span_low, span_high) = _HISTORY[cls]
    if subtype in ("dipole", "saturated"):
        (low, high), (span_low, span_high) = (1, 200), (30, 1500)
    ndet = int(np.exp(rng.uniform(np.log(low), np.log(high + 1))))
    span = 0.0 if ndet == 1 else float(rng.uniform(span_low, span_high))
    return {
        "ndethist": ndet,
        "ncovhist": ndet + int(np.exp(rng.uniform(0, np.log(1200)))),
        "jdstarthist": jd - span,
        "jdendhist": jd,
    }


def object_id(rng: np.random.Generator, jd: float) -> str:
    """ZTF-style object name: 'ZTF' + two-digit year + seven lowercase letters."""
    year = 17 + int((jd - 2457754.5) // 365.25)
    letters = rng.choice(list(string.ascii_lowercase), size=7)
    return f"ZTF{year:02d}{''.join(letters)}"


def prv_candidates(
    rng: np.random.Generator, cls: str, cand: dict[str, Any], cond: Conditions
) -> list[dict[str, Any]]:
    """Previous 30 days: detections for long-lived sources, upper limits otherwise."""
    ndet = cand["ndethist"]
    count = {
        "asteroid": int(rng.integers(0, 4)),
        "bogus": int(rng.integers(0, 9)),
        "SN": int(rng.integers(0, min(ndet, 12) + 4)),
    }.get(cls, int(rng.integers(5, 31)))
    detected = cls in ("AGN", "VS") or (cls == "SN" and ndet > 1)
    out = []
    for i in range(count):
        jd = cand["jd"] - (count - i) * float(rng.uniform(0.5, 3.0))
        limit = cand["diffmaglim"] + float(rng.normal(0, 0.4))
        row: dict[str, Any] = {
            "jd": jd,
            "fid": int(rng.choice([1, 2])),
            "pid": int(round((jd - 2458000) * 1e6)) % 10**12,
            "diffmaglim": limit,
            "programid": 1,
            "rbversion": cand["rbversion"],
        }
        if detected and rng.random() < 0.7:
            mag = cand["magpsf"] + float(rng.normal(0, 0.3))
            row |= {"candid": row["pid"] * 1_000_000 + i, "magpsf": mag, "isdiffpos": "t"}
            row |= {"sigmapsf": 1.0857 / max(10 ** (0.4 * (limit - mag)) * 5, 5.0)}
            row |= {"ra": cand["ra"], "dec": cand["dec"], "rb": cand["rb"]}
        out.append(fill_record("prv_candidates", row))
    return out


def _reference_match(scene: Scene, cond: Conditions) -> dict[str, float]:
    """distnr / magnr: nearest source in the reference image (counterpart or field source)."""
    counterpart = scene.facts.get("counterpart")
    nearest = scene.facts.get("nearest_field")
    if counterpart is not None:
        offset, flux = counterpart[0], counterpart[1]
    elif nearest is not None and nearest[0] < 30:
        offset, flux, _ = nearest
    else:
        return {"distnr": NONE, "magnr": NONE, "sigmagnr": NONE}
    return {"distnr": offset * PIXEL_SCALE, "magnr": cond.mag(flux), "sigmagnr": 0.02}


def candidate_record(
    rng: np.random.Generator,
    cls: str,
    scene: Scene,
    flux: float,
    error: float,
    isdiffpos: str,
    position: tuple[float, float],
) -> dict[str, Any]:
    """The ``candidate`` record: measured photometry + class-dependent catalogue facts."""
    cond, subtype = scene.cond, scene.facts["subtype"]
    jd = float(rng.uniform(2458200.5, 2460600.5))
    nid = int(jd - 2458119.5)
    pid = nid * 10**9 + int(rng.integers(10**9))
    magpsf = cond.mag(flux)
    trail = scene.facts.get("trail", 0.0) / cond.fwhm_sci
    values: dict[str, Any] = {
        "jd": jd,
        "fid": int(rng.choice([1, 2, 3], p=[0.45, 0.5, 0.05])),
        "pid": pid,
        "candid": pid * 10**6 + int(rng.integers(10**6)),
        "programid": 1,
        "isdiffpos": isdiffpos,
        "ra": position[0],
        "dec": position[1],
        "magpsf": magpsf,
        "sigmapsf": 1.0857 * error / flux,
        "magap": magpsf + float(rng.normal(0, 0.05)),
        "diffmaglim": cond.mag(cond.flux_for_snr(5.0)),
        "scorr": flux / error * float(rng.uniform(0.8, 1.2)),
        "elong": 1.0 + trail + abs(float(rng.normal(0, 0.4 if cls == "bogus" else 0.1))),
        "nbad": int(rng.integers(0, 6)) if subtype in ("edge", "nan_blob", "saturated") else 0,
        "ranr": position[0],
        "decnr": position[1],
        "nmtchps": int(rng.integers(0, 40)),
        "rfid": int(rng.integers(10**8, 10**9)),
        "jdstartref": jd - float(rng.uniform(400, 900)),
        "jdendref": jd - float(rng.uniform(100, 400)),
        "nframesref": int(rng.integers(15, 41)),
        "rbversion": "t17_f5_c3",
        "drbversion": "d6_m7",
        "nmatches": int(rng.integers(200, 3000)),
        "magzpsci": cond.zp,
        "exptime": 30.0,
        "field": int(rng.integers(250, 880)),
        "rcid": int(rng.integers(0, 64)),
        "tooflag": 0,
    }
    values |= scores(rng, cls, subtype)
    facts = scene.facts
    values |= ps1_match(rng, facts.get("counterpart"), facts.get("nearest_field"), cond)
    values |= sso_match(rng, cls, magpsf)
    values |= history(rng, cls, subtype, jd)
    values |= _reference_match(scene, cond)
    return fill_record("candidate", values)
