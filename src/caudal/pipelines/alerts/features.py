"""The model input contract: stamps [N, 3, 63, 63] float32 plus metadata [N, K] float32.

Metadata features come from the alert's ``candidate`` record only (first-detection information,
as in the ALeRCE stamp classifier). ZTF writes ``-999`` (or null) when a catalogue has no
match; such values become 0 plus an explicit ``*_missing`` flag so the network can tell
"no PS1 source" from "sgscore1 = 0".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from caudal.pipelines.alerts.stamps import alert_cutouts, prepare_batch

FEATURES: tuple[str, ...] = (
    "sgscore1",
    "sgscore1_missing",
    "distpsnr1_log",
    "distpsnr1_missing",
    "isdiffpos",
    "ndethist_log",
    "ss_known",
    "ssdistnr_log",
    "classtar",
    "classtar_missing",
    "magpsf_scaled",
    "sigmapsf_log",
    "rb",
    "rb_missing",
    "drb",
    "drb_missing",
    "abs_galactic_lat",
    "abs_ecliptic_lat",
)
SOURCE_COLUMNS = (
    "sgscore1",
    "distpsnr1",
    "isdiffpos",
    "ndethist",
    "ssdistnr",
    "classtar",
    "magpsf",
    "sigmapsf",
    "rb",
    "drb",
    "ra",
    "dec",
)
_SENTINEL = -99.0  # ZTF uses -999; anything at or below this is "no value"
_OBLIQUITY = np.deg2rad(23.439281)
_ICRS_TO_GALACTIC = np.array(
    [
        [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
        [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
        [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669],
    ]
)


def galactic_latitude(ra: npt.ArrayLike, dec: npt.ArrayLike) -> np.ndarray:
    """Galactic latitude b (deg) of ICRS ra/dec (deg); rotation matrix, no astropy overhead."""
    ra_r, dec_r = np.deg2rad(np.asarray(ra, float)), np.deg2rad(np.asarray(dec, float))
    xyz = np.stack([np.cos(dec_r) * np.cos(ra_r), np.cos(dec_r) * np.sin(ra_r), np.sin(dec_r)])
    z = np.tensordot(_ICRS_TO_GALACTIC[2], xyz, axes=1)
    return np.rad2deg(np.arcsin(np.clip(z, -1, 1)))


def ecliptic_latitude(ra: npt.ArrayLike, dec: npt.ArrayLike) -> np.ndarray:
    """Mean ecliptic latitude beta (deg) of ra/dec (deg): where asteroids concentrate."""
    ra_r, dec_r = np.deg2rad(np.asarray(ra, float)), np.deg2rad(np.asarray(dec, float))
    sin_beta = np.sin(dec_r) * np.cos(_OBLIQUITY) - np.cos(dec_r) * np.sin(_OBLIQUITY) * np.sin(
        ra_r
    )
    return np.rad2deg(np.arcsin(np.clip(sin_beta, -1, 1)))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Numeric column with sentinels and non-numbers as NaN; absent columns are all-missing."""
    if name not in frame:
        return pd.Series(np.nan, index=frame.index)
    values = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return values.where(values > _SENTINEL)


def _isdiffpos(frame: pd.DataFrame) -> np.ndarray:
    raw = frame.get("isdiffpos", pd.Series("t", index=frame.index))
    text = raw.astype(str).str.strip().str.lower()
    return text.isin(["t", "1", "true"]).to_numpy(float)


def metadata_features(candidates: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
    """ZTF ``candidate`` records (dicts or a DataFrame) -> [N, len(FEATURES)] float32."""
    frame = candidates if isinstance(candidates, pd.DataFrame) else pd.DataFrame(list(candidates))
    cols = {name: _column(frame, name) for name in SOURCE_COLUMNS if name != "isdiffpos"}
    sg, dist, ss = cols["sgscore1"], cols["distpsnr1"], cols["ssdistnr"]
    ss = ss.where(ss >= 0)
    ra, dec = cols["ra"].fillna(0.0).to_numpy(), cols["dec"].fillna(0.0).to_numpy()
    out = {
        "sgscore1": sg.fillna(0.0),
        "sgscore1_missing": sg.isna(),
        "distpsnr1_log": np.log10(1.0 + dist.clip(lower=0)).fillna(0.0),
        "distpsnr1_missing": dist.isna(),
        "isdiffpos": _isdiffpos(frame),
        "ndethist_log": np.log10(1.0 + cols["ndethist"].clip(lower=0)).fillna(0.0),
        "ss_known": ss.notna(),
        "ssdistnr_log": np.log10(1.0 + ss).fillna(0.0),
        "classtar": cols["classtar"].fillna(0.0),
        "classtar_missing": cols["classtar"].isna(),
        "magpsf_scaled": ((cols["magpsf"] - 18.0) / 2.0).fillna(0.0),
        "sigmapsf_log": np.log10(cols["sigmapsf"].clip(lower=1e-3)).fillna(0.0),
        "rb": cols["rb"].fillna(0.0),
        "rb_missing": cols["rb"].isna(),
        "drb": cols["drb"].fillna(0.0),
        "drb_missing": cols["drb"].isna(),
        "abs_galactic_lat": np.abs(galactic_latitude(ra, dec)) / 90.0,
        "abs_ecliptic_lat": np.abs(ecliptic_latitude(ra, dec)) / 90.0,
    }
    matrix = np.column_stack([np.asarray(out[name], dtype=np.float32) for name in FEATURES])
    return matrix.reshape(len(frame), len(FEATURES)).astype(np.float32)


def alert_inputs(alerts: Iterable[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray, list]:
    """Decoded alerts -> (stamps [N,3,63,63], metadata [N,K], per-alert ``StampFlags``).

    A corrupt cutout raises ``StampError``; a null cutout becomes an all-missing plane.
    """
    triplets, candidates = [], []
    for alert in alerts:
        triplets.append(alert_cutouts(dict(alert)))
        candidates.append(alert["candidate"])
    stamps, flags = prepare_batch(triplets)
    if not candidates:
        return stamps, np.zeros((0, len(FEATURES)), np.float32), []
    return stamps, metadata_features(candidates), flags
