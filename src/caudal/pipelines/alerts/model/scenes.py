"""Per-class scenes: what sits at the candidate position in the template and science epochs.

* SN: a new point source, usually offset from a host galaxy that is in the template;
* AGN: a galaxy (or bare QSO) whose nucleus changed flux; the change is at the nucleus;
* VS: a star in the template whose flux rose or fell (positive or negative difference);
* asteroid: a (slightly trailed) point source in the science image only;
* bogus: subtraction dipoles, hot pixels / cosmic rays, cold-pixel holes (as in the real
  ``ZTF20aabae*`` alerts), saturated-star residuals, chip edges / NaN blobs, satellite streaks.

Transient brightness is drawn as a PSF-fit S/N (log-uniform 6..500), not as a magnitude, so the
alert is always above ZTF's 5-sigma threshold whatever the exposure depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from caudal.pipelines.alerts.model.render import CENTRE, SIZE, Conditions, Source

CLASSES = ("AGN", "SN", "VS", "asteroid", "bogus")
Edit = Callable[[np.ndarray], None]


@dataclass
class Scene:
    """Sources plus the artefacts and masks a builder wants applied to the pixels."""

    sources: list[Source]
    cond: Conditions
    facts: dict[str, Any]
    science_edits: list[Edit] = field(default_factory=list)
    difference_edits: list[Edit] = field(default_factory=list)
    mask: np.ndarray | None = None
    match_fwhm: float = 1.0
    saturation: float = np.inf


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _power_law_mag(rng: np.random.Generator, low: float, high: float) -> float:
    """Magnitude with counts rising as 10**(0.3 m), like faint stars and galaxies."""
    a, b = 10 ** (0.3 * low), 10 ** (0.3 * high)
    return float(np.log10(a + rng.random() * (b - a)) / 0.3)


def _centre(rng: np.random.Generator) -> tuple[float, float]:
    return CENTRE + rng.uniform(-0.5, 0.5), CENTRE + rng.uniform(-0.5, 0.5)


def field_sources(rng: np.random.Generator, cond: Conditions, density: float) -> list[Source]:
    """Static stars and galaxies elsewhere in the stamp (none within 5 px of the candidate)."""
    limit = cond.mag(cond.flux_for_snr(5.0))
    out: list[Source] = []
    n_stars, n_gals = rng.poisson(density), rng.poisson(1.2)
    for i in range(n_stars + n_gals):
        while True:
            x, y = rng.uniform(-3, SIZE + 2, size=2)
            if np.hypot(x - CENTRE, y - CENTRE) > 5.0:
                break
        if i < n_stars:
            flux = 10 ** (-0.4 * (_power_law_mag(rng, limit - 8, limit + 1) - cond.zp))
            out.append(Source(x, y, flux, flux))
        else:
            flux = 10 ** (-0.4 * (_power_law_mag(rng, limit - 4, limit + 0.5) - cond.zp))
            out.append(_galaxy(rng, x, y, flux, rng.uniform(0.8, 3.5)))
    return out


def _galaxy(rng: np.random.Generator, x: float, y: float, flux: float, r_eff: float) -> Source:
    n = 1 if rng.random() < 0.65 else 4
    return Source(
        x, y, flux, flux, "galaxy", r_eff, n, rng.uniform(0.3, 1.0), rng.uniform(0, np.pi)
    )


def _signal(rng: np.random.Generator, cond: Conditions) -> float:
    return cond.flux_for_snr(_log_uniform(rng, 6.0, 500.0))


def _variable(
    rng: np.random.Generator, change: float, low: float, high: float
) -> tuple[float, float]:
    """(reference, science) flux of a source whose flux changed by ``change`` ADU (+ or -)."""
    amplitude = _log_uniform(rng, low, high)
    if rng.random() < 0.5:
        ref = change / amplitude
        return ref, ref + change
    ref = change / min(amplitude, 0.9)
    return ref, ref - change


def supernova(rng: np.random.Generator, cond: Conditions) -> Scene:
    """New point source; 85% have a host galaxy offset by 0.15-1.5 effective radii."""
    x, y = _centre(rng)
    flux = _signal(rng, cond)
    sources = [Source(x, y, 0.0, flux)]
    facts: dict[str, Any] = {"subtype": "SN", "counterpart": None}
    if rng.random() < 0.85:
        r_eff = rng.uniform(1.2, 7.0)
        offset, angle = max(0.4, r_eff * rng.uniform(0.15, 1.5)), rng.uniform(0, 2 * np.pi)
        host = flux * _log_uniform(rng, 0.3, 30.0)
        hx, hy = x + offset * np.cos(angle), y + offset * np.sin(angle)
        sources.append(_galaxy(rng, hx, hy, host, r_eff))
        facts["counterpart"] = (offset, host, "galaxy")
    return Scene(sources, cond, facts)


def agn(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Nucleus flux change at a galaxy centre; 25% are bare QSOs (point-like, no host)."""
    x, y = _centre(rng)
    ref, sci = _variable(rng, _signal(rng, cond), 0.1, 1.0)
    sources = [Source(x, y, ref, sci)]
    offset = abs(rng.normal(0, 0.15))
    if rng.random() < 0.75:
        host = ref * _log_uniform(rng, 0.3, 6.0)
        sources.append(_galaxy(rng, x + offset, y, host, rng.uniform(1.2, 5.0)))
        counterpart = (offset, ref + host, "galaxy")
    else:
        counterpart = (offset, ref, "qso")
    return Scene(sources, cond, {"subtype": "AGN", "counterpart": counterpart})


def variable_star(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Template star whose flux rose (up to x4) or fell (down to 10%)."""
    x, y = _centre(rng)
    ref, sci = _variable(rng, _signal(rng, cond), 0.05, 3.0)
    facts = {"subtype": "VS", "counterpart": (abs(rng.normal(0, 0.12)), ref, "star")}
    return Scene([Source(x, y, ref, sci)], cond, facts)


def asteroid(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Moving object: science-only point source trailed by up to 2.5 px in 30 s."""
    x, y = _centre(rng)
    length, angle = rng.uniform(0.0, 2.5), rng.uniform(0, np.pi)
    trail = (length * np.cos(angle), length * np.sin(angle))
    source = Source(x, y, 0.0, _signal(rng, cond), "trail", trail=trail)
    return Scene([source], cond, {"subtype": "asteroid", "counterpart": None, "trail": length})


def _cluster(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices of a compact random-walk cluster of ``size`` pixels at the centre."""
    pixels = {(int(CENTRE), int(CENTRE))}
    while len(pixels) < size:
        py, px = list(pixels)[rng.integers(len(pixels))]
        dy, dx = [(0, 1), (1, 0), (0, -1), (-1, 0)][rng.integers(4)]
        pixels.add((py + dy, px + dx))
    ys, xs = zip(*sorted(pixels), strict=True)
    return np.array(ys), np.array(xs)


def _pixel_defect(rng: np.random.Generator, cond: Conditions, sign: float) -> Scene:
    """Hot pixels / cosmic ray (sign +1) or a cold-pixel hole (sign -1) in the science image."""
    ys, xs = _cluster(rng, int(rng.integers(1, 7)))
    low, high = (6.0, 150.0) if sign > 0 else (6.0, 70.0)
    amps = sign * cond.noise_sci * _log_uniform(rng, low, high) * rng.uniform(0.3, 1.0, ys.size)

    def edit(image: np.ndarray) -> None:
        image[ys, xs] += amps

    kind = "hot_pixel" if sign > 0 else "cold_pixel"
    return Scene([], cond, {"subtype": kind, "counterpart": None}, science_edits=[edit])


def _dipole(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Misregistered (0.3-1.5 px) or PSF-mismatched subtraction of a bright star."""
    x, y = _centre(rng)
    star = cond.flux_for_snr(_log_uniform(rng, 50.0, 3000.0))
    angle, step = rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.5)
    bad = replace(cond, shift=(step * np.cos(angle), step * np.sin(angle)))
    bad = replace(bad, flux_error=float(rng.normal(0, 0.05)))
    match = 1.0 if rng.random() < 0.5 else rng.uniform(0.75, 1.25)
    facts = {"subtype": "dipole", "counterpart": (abs(rng.normal(0, 0.3)), star, "star")}
    return Scene([Source(x, y, star, star)], bad, facts, match_fwhm=match)


def _saturated(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Saturated bright star near the candidate: clipped core, bleed column, ring residual."""
    x, y = CENTRE + rng.uniform(-1.5, 1.5, size=2)
    star = cond.flux_for_snr(_log_uniform(rng, 3000.0, 60000.0))
    peak = star / (2 * np.pi * (cond.fwhm_sci / 2.3548) ** 2)
    level = cond.bg_sci + peak * rng.uniform(0.15, 0.5)
    col, half = int(round(x)), int(rng.integers(3, 25))

    def bleed(image: np.ndarray) -> None:
        image[max(int(y) - half, 0) : int(y) + half + 1, col] = level

    facts = {"subtype": "saturated", "counterpart": (abs(rng.normal(0, 0.5)), star, "star")}
    scene = Scene([Source(x, y, star, star)], cond, facts, science_edits=[bleed])
    scene.saturation = level
    if rng.random() < 0.4:  # ZTF often masks the saturated core
        scene.mask = np.zeros((SIZE, SIZE), bool)
        scene.mask[int(y) - 1 : int(y) + 2, col - 1 : col + 2] = True
    return scene


def _edge(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Chip edge or NaN blob next to the candidate with a glow/ring left in the difference."""
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    if rng.random() < 0.5:
        axis, side, gap = rng.integers(2), rng.choice([-1, 1]), rng.uniform(1.0, 5.0)
        coord = (yy, xx)[axis] - CENTRE
        distance = side * coord - gap  # > 0 inside the masked region
        subtype = "edge"
    else:
        radius = rng.uniform(1.5, 4.0)
        cy, cx = CENTRE + rng.uniform(-3, 3, size=2)
        distance = radius - np.hypot(yy - cy, xx - cx)
        subtype = "nan_blob"
    mask = distance > 0
    glow = cond.noise_sci * rng.uniform(5.0, 40.0) * np.exp(distance / rng.uniform(0.7, 2.0))

    def edit(image: np.ndarray) -> None:
        image += np.where(mask, 0.0, glow)

    facts = {"subtype": subtype, "counterpart": None}
    return Scene([], cond, facts, difference_edits=[edit], mask=mask)


def _streak(rng: np.random.Generator, cond: Conditions) -> Scene:
    """Satellite or airplane streak crossing within 1.5 px of the candidate (science only)."""
    yy, xx = np.indices((SIZE, SIZE), dtype=float)
    angle, offset = rng.uniform(0, np.pi), rng.uniform(-1.5, 1.5)
    distance = (xx - CENTRE) * np.sin(angle) - (yy - CENTRE) * np.cos(angle) - offset
    width = rng.uniform(0.5, 1.2) * cond.fwhm_sci / 2.3548
    profile = cond.noise_sci * rng.uniform(5.0, 60.0) * np.exp(-0.5 * (distance / width) ** 2)

    def edit(image: np.ndarray) -> None:
        image += profile

    return Scene([], cond, {"subtype": "streak", "counterpart": None}, science_edits=[edit])


def bogus(rng: np.random.Generator, cond: Conditions) -> Scene:
    """One artefact type, weighted towards the pixel defects seen in the real samples."""
    kind = rng.choice(6, p=[0.2, 0.15, 0.25, 0.1, 0.15, 0.15])
    if kind in (1, 2):
        return _pixel_defect(rng, cond, 1.0 if kind == 1 else -1.0)
    builders = {0: _dipole, 3: _saturated, 4: _edge, 5: _streak}
    return builders[int(kind)](rng, cond)


BUILDERS: dict[str, Callable[[np.random.Generator, Conditions], Scene]] = {
    "AGN": agn,
    "SN": supernova,
    "VS": variable_star,
    "asteroid": asteroid,
    "bogus": bogus,
}
