"""Simulated ZTF alerts per class: physics in ``render``/``scenes``, metadata in ``metadata``.

``simulate_alert(rng, cls)`` returns a dict in the ZTF v3.3 alert schema (shipped as
``schemas/ztf_alert.avsc``) with gzip-FITS cutouts; ``write_alerts`` writes Avro files that read
like real ZTF alerts plus a ``labels.csv`` with the true class. ``simulate_dataset`` skips the
FITS/Avro round trip (lossless for float32) to build training tensors quickly. Every alert ``i``
of a run draws from ``default_rng([seed, i])``, so runs are reproducible and seeds independent.
Pixel calibration numbers are in ``render``'s docstring and the model card.
"""

from __future__ import annotations

import csv
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import numpy as np

from caudal.pipelines.alerts.features import (
    ecliptic_latitude,
    galactic_latitude,
    metadata_features,
)
from caudal.pipelines.alerts.model import metadata as md
from caudal.pipelines.alerts.model.calibrate import gaussian_fwhm
from caudal.pipelines.alerts.model.render import (
    CENTRE,
    SIZE,
    Source,
    draw_conditions,
    observe,
    psf_photometry,
    render,
)
from caudal.pipelines.alerts.model.scenes import BUILDERS, CLASSES, Scene, field_sources
from caudal.pipelines.alerts.stamps import encode_stamp, prepare_stamps

_MIN_SNR = 5.0


@dataclass
class SimulatedAlert:
    """Raw stamps (difference sign-corrected as ZTF ships it) plus ZTF metadata."""

    cls: str
    science: np.ndarray
    template: np.ndarray
    difference: np.ndarray
    candidate: dict[str, Any]
    prv_candidates: list[dict[str, Any]]
    subtype: str


def compose(scene: Scene, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(science, template, science - PSF-matched template) images of a scene."""
    cond, sources = scene.cond, scene.sources
    ref_flux = [s.flux_ref for s in sources]
    sci_model = render(sources, [s.flux_sci for s in sources], cond.fwhm_sci, cond.beta)
    ref_model = render(sources, ref_flux, cond.fwhm_ref, cond.beta)
    matched = render(
        sources,
        [f * (1.0 + cond.flux_error) for f in ref_flux],
        cond.fwhm_sci * scene.match_fwhm,
        cond.beta,
        cond.shift,
    )
    science = observe(sci_model, cond.bg_sci, cond.noise_sci, cond.gain, rng)
    ref_noise = observe(ref_model, 0.0, cond.noise_ref, cond.gain * 30, rng) - ref_model
    for edit in scene.science_edits:
        edit(science)
    science = np.minimum(science, scene.saturation)
    offset = rng.normal(0.0, 0.1 * cond.noise_sci)
    difference = science - cond.bg_sci - matched - ref_noise + offset
    for edit in scene.difference_edits:
        edit(difference)
    template = cond.bg_ref + ref_model + ref_noise
    mask = scene.mask if scene.mask is not None else np.zeros((SIZE, SIZE), bool)
    mask = mask | _masked_strip(rng)
    return tuple(
        np.where(mask, np.nan, im).astype(np.float32) for im in (science, template, difference)
    )


def _masked_strip(rng: np.random.Generator) -> np.ndarray:
    """6% of stamps of any class have a masked column/row strip away from the candidate."""
    mask = np.zeros((SIZE, SIZE), bool)
    if rng.random() < 0.06:
        width, side = int(rng.integers(3, 21)), rng.choice([-1, 1])
        start = int(CENTRE + side * rng.uniform(5, 25))
        lo, hi = (start, start + width) if side > 0 else (start - width + 1, start + 1)
        region = (slice(max(lo, 0), max(hi, 0)), slice(None))
        mask[region if rng.random() < 0.5 else region[::-1]] = True
    return mask


def sky_position(rng: np.random.Generator, cls: str) -> tuple[float, float]:
    """ra/dec over the ZTF sky (dec > -31), weighted by where each class is found."""
    while True:
        ra = float(rng.uniform(0, 360))
        dec = float(np.rad2deg(np.arcsin(rng.uniform(np.sin(np.deg2rad(-31)), 1.0))))
        b, beta = abs(galactic_latitude(ra, dec)), abs(ecliptic_latitude(ra, dec))
        weight = {
            "VS": 0.15 + np.exp(-b / 12.0),
            "asteroid": np.exp(-(beta**2) / 200.0),
            "bogus": 1.0,
        }.get(cls, 1.0 if b > 12 else 0.1)
        if rng.random() < weight:
            return ra, dec


def _nearest(field: list[Source]) -> tuple[float, float, str] | None:
    """(distance px, flux, 'star' or 'galaxy') of the nearest static field source, if any."""
    if not field:
        return None
    best = min(field, key=lambda s: np.hypot(s.x - CENTRE, s.y - CENTRE))
    kind = "galaxy" if best.kind == "galaxy" else "star"
    return float(np.hypot(best.x - CENTRE, best.y - CENTRE)), best.flux_ref, kind


def _detect(
    rng: np.random.Generator, cls: str, density: float
) -> tuple[Scene, tuple[np.ndarray, ...], float, float]:
    """Build scenes until the candidate is a >= 5 sigma PSF-fit detection (as ZTF requires)."""
    while True:
        scene = BUILDERS[cls](rng, draw_conditions(rng))
        field = field_sources(rng, scene.cond, density)
        scene.sources.extend(field)
        images = compose(scene, rng)
        flux, error = psf_photometry(images[2], scene.cond)
        if abs(flux) / error >= _MIN_SNR:
            scene.facts["nearest_field"] = _nearest(field)
            return scene, images, flux, error


def simulate_arrays(rng: np.random.Generator, cls: str) -> SimulatedAlert:
    """One alert of class ``cls`` as arrays + metadata (no FITS/Avro encoding)."""
    ra, dec = sky_position(rng, cls)
    density = 2.0 + 40.0 * np.exp(-abs(float(galactic_latitude(ra, dec))) / 8.0)
    scene, (science, template, difference), flux, error = _detect(rng, cls, density)
    positive = flux >= 0
    signed = difference if positive else -difference  # ZTF ships ref - sci when negative
    candidate = md.candidate_record(
        rng, cls, scene, abs(flux), error, "t" if positive else "f", (ra, dec)
    )
    candidate["fwhm"] = gaussian_fwhm(signed[24:39, 24:39], 0.0)
    prv = md.prv_candidates(rng, cls, candidate, scene.cond)
    return SimulatedAlert(cls, science, template, signed, candidate, prv, scene.facts["subtype"])


def simulate_alert(rng: np.random.Generator, cls: str) -> dict[str, Any]:
    """One alert of class ``cls`` as a ZTF v3.3 alert dict with gzip-FITS cutouts."""
    sim = simulate_arrays(rng, cls)
    cand = sim.candidate
    candid, pid = cand["candid"], cand["pid"]
    direction = "scimref" if cand["isdiffpos"] == "t" else "refmsci"
    names = {
        "cutoutScience": (f"candid{candid}_pid{pid}_targ_sci.fits.gz", sim.science),
        "cutoutTemplate": (f"candid{candid}_ref.fits.gz", sim.template),
        "cutoutDifference": (f"candid{candid}_pid{pid}_targ_{direction}.fits.gz", sim.difference),
    }
    alert = {
        "schemavsn": "3.3",
        "publisher": "caudal-simulator",
        "objectId": md.object_id(rng, cand["jd"]),
        "candid": candid,
        "candidate": cand,
        "prv_candidates": sim.prv_candidates,
    }
    for key, (name, image) in names.items():
        alert[key] = {"fileName": name, "stampData": encode_stamp(image, name)}
    return alert


def class_sequence(n: int, seed: int) -> list[str]:
    """``n`` balanced class labels in a seeded random order."""
    labels = [CLASSES[i % len(CLASSES)] for i in range(n)]
    order = np.random.default_rng([seed, 2**31 - 1]).permutation(n)
    return [labels[i] for i in order]


def write_alerts(out_dir: Path, n: int, seed: int, per_file: int = 1) -> list[Path]:
    """Write ``n`` balanced simulated alerts as ZTF-like Avro files plus ``labels.csv``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    schema = fastavro.parse_schema(md.load_schema())
    alerts, labels = [], []
    for i, cls in enumerate(class_sequence(n, seed)):
        alert = simulate_alert(np.random.default_rng([seed, i]), cls)
        alerts.append(alert)
        labels.append((alert["objectId"], alert["candid"], cls))
    paths = []
    for start in range(0, n, max(per_file, 1)):
        chunk = alerts[start : start + max(per_file, 1)]
        name = f"{chunk[0]['candid']}.avro" if per_file == 1 else f"alerts_{start:06d}.avro"
        with (out_dir / name).open("wb") as handle:
            fastavro.writer(handle, schema, chunk)
        paths.append(out_dir / name)
    with (out_dir / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["objectId", "candid", "class"])
        writer.writerows(labels)
    return paths


def _training_example(job: tuple[int, int, str]) -> tuple[np.ndarray, dict[str, Any]]:
    seed, index, cls = job
    sim = simulate_arrays(np.random.default_rng([seed, index]), cls)
    return prepare_stamps(sim.science, sim.template, sim.difference)[0], sim.candidate


def simulate_dataset(
    seed: int, n_per_class: int, workers: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model-ready (stamps [N,3,63,63], metadata [N,K], labels [N]) for training/testing.

    ``workers`` > 1 forks processes; results do not depend on it (per-alert seeds).
    """
    classes = class_sequence(n_per_class * len(CLASSES), seed)
    jobs = [(seed, i, cls) for i, cls in enumerate(classes)]
    if workers > 1:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            examples = list(pool.map(_training_example, jobs, chunksize=64))
    else:
        examples = [_training_example(job) for job in jobs]
    labels = np.array([CLASSES.index(c) for c in classes], dtype=np.int64)
    stamps = np.stack([stamp for stamp, _ in examples])
    return stamps, metadata_features([cand for _, cand in examples]), labels
