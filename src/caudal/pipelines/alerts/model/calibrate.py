"""Measure the pixel statistics of real ZTF alerts that the simulator is calibrated against.

Run ``python -m caudal.pipelines.alerts.model.calibrate [DIR]`` to print the per-stamp table and the
summary ranges; ``train`` puts the same summary in the model card so the calibration is
reproducible rather than quoted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import fastavro
import numpy as np

from caudal.pipelines.alerts.stamps import CHANNELS, alert_cutouts

_MAD_TO_SIGMA = 1.4826
_SAMPLES_ENV = "CAUDAL_ZTF_SAMPLES"


def default_samples_dir() -> Path | None:
    """Real alerts: ``$CAUDAL_ZTF_SAMPLES``, else the shared data folder beside the repository."""
    candidates = [os.environ.get(_SAMPLES_ENV, "")]
    candidates.append(str(Path(__file__).resolve().parents[5].parent / "shared/data/ztf_samples"))
    return next((Path(c) for c in candidates if c and Path(c).is_dir()), None)


def read_alerts(directory: Path) -> Iterator[dict]:
    """Every alert record in every ``*.avro`` file of ``directory``, in file-name order."""
    for path in sorted(Path(directory).glob("*.avro")):
        with path.open("rb") as handle:
            for record in fastavro.reader(handle):
                yield cast(dict, record)


def gaussian_fwhm(image: np.ndarray, background: float, radius: int = 5) -> float:
    """FWHM (px) of the brightest source: least-squares circular Gaussian over a sigma grid."""
    clean = np.nan_to_num(image - background, nan=0.0)
    y, x = np.unravel_index(int(np.argmax(clean)), clean.shape)
    box = clean[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1]
    yy, xx = np.indices(box.shape, dtype=np.float64)
    weights = np.clip(box, 0, None)
    cy, cx = (weights * yy).sum() / weights.sum(), (weights * xx).sum() / weights.sum()
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2).ravel()
    sigmas = np.linspace(0.4, 4.0, 73)
    models = np.exp(-r2[None, :] / (2 * sigmas[:, None] ** 2))
    fit = (models @ box.ravel()) ** 2 / (models**2).sum(axis=1)
    return float(2.3548 * sigmas[int(np.argmax(fit))])


def measure_stamp(image: np.ndarray) -> dict[str, float]:
    """Background (median), noise (MAD sigma), NaN fraction, peak S/N and FWHM of one stamp."""
    finite = image[np.isfinite(image)]
    background = float(np.median(finite))
    noise = _MAD_TO_SIGMA * float(np.median(np.abs(finite - background)))
    peak = float(finite.max() - background)
    return {
        "background": background,
        "noise": noise,
        "nan_fraction": 1.0 - finite.size / image.size,
        "peak": peak,
        "peak_snr": peak / noise if noise > 0 else float("inf"),
        "fwhm": gaussian_fwhm(image, background),
    }


def measure_samples(directory: Path) -> list[dict[str, float | str]]:
    """One row per (alert, stamp) with the ``measure_stamp`` numbers and the alert's ids."""
    rows: list[dict[str, float | str]] = []
    for alert in read_alerts(directory):
        for channel, image in zip(CHANNELS, alert_cutouts(alert), strict=True):
            if image is not None:
                row = {"objectId": alert["objectId"], "stamp": channel}
                rows.append(row | measure_stamp(image))
    return rows


def summarise(rows: list[dict[str, float | str]]) -> dict[str, dict[str, float]]:
    """Per-channel min/median/max of each statistic; template noise also as a ratio to science.

    FWHM is only meaningful where a source is well detected, so it is summarised over stamps
    with peak S/N > 20.
    """
    summary: dict[str, dict[str, float]] = {}
    for channel in CHANNELS:
        sub = [r for r in rows if r["stamp"] == channel]
        for stat in ("background", "noise", "nan_fraction", "peak_snr", "fwhm"):
            keep = [r for r in sub if stat != "fwhm" or float(r["peak_snr"]) > 20]
            values = np.array([float(r[stat]) for r in keep])
            if values.size:
                summary[f"{channel}.{stat}"] = _range(values)
    sci = {r["objectId"]: float(r["noise"]) for r in rows if r["stamp"] == "science"}
    ratio = [float(r["noise"]) / sci[r["objectId"]] for r in rows if r["stamp"] == "template"]
    if ratio:
        summary["template_to_science_noise"] = _range(np.array(ratio))
    return summary


def _range(values: np.ndarray) -> dict[str, float]:
    return {
        "min": float(values.min()),
        "median": float(np.median(values)),
        "max": float(values.max()),
    }


def main(argv: list[str] | None = None) -> None:
    """Print the measured table and summary for a folder of real alerts."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]) if args else default_samples_dir()
    if directory is None:
        raise SystemExit(f"no sample folder: pass one or set {_SAMPLES_ENV}")
    rows = measure_samples(directory)
    for r in rows:
        stats = " ".join(
            f"{k}={float(v):.3g}" for k, v in r.items() if k not in {"objectId", "stamp"}
        )
        print(f"{r['objectId']:<14} {r['stamp']:<10} {stats}")
    for name, span in summarise(rows).items():
        print(f"{name:<28} min={span['min']:.3g} median={span['median']:.3g} max={span['max']:.3g}")


if __name__ == "__main__":
    main()
