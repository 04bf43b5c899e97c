"""Pixel physics of a simulated ZTF cutout triplet: PSFs, galaxies, noise and the subtraction.

Calibrated against the 16 real alerts in ``shared/data/ztf_samples`` (measured with
``python -m caudal.pipelines.alerts.model.calibrate``, numbers as min / median / max):

============================  =====================================================
science background (ADU)      10.9 / 22.6 / 244
science noise (MAD sigma)     6.25 / 15.4 / 16.2
template / science noise      0.0072 / 0.011 / 0.32 (templates are deep co-adds)
science PSF FWHM (px)         1.65 / 2.06 / 2.47 (stars with peak S/N > 20)
template PSF FWHM (px)        2.12 / 2.47 / 3.65
difference noise              5.3 / 15.4 / 16.1 (= science noise)
difference peak S/N           10.7 / 37.6 / 420
NaN fraction                  0 / 0 / 0.12 (a masked 7-column strip, all three stamps)
magzpsci                      22.96 .. 26.16
============================  =====================================================

``draw_conditions`` samples: science background log-uniform 8-300 ADU, noise 5-17 ADU, template
noise 0.006-0.03 (80%) or 0.006-0.35 (20%) of it, Moffat beta 2.5-4.5, science FWHM lognormal
(median 1.75 px, which measures 2.1 px with the Gaussian fit above), template FWHM 1.8-2.9 px,
zero point 22.9-26.3, gain 6.2 e-/ADU.

The difference is built the way ZOGY/HOTPANTS leave it: the science image minus the template
re-rendered with the science PSF, with a small astrometric shift and photometric scale error,
so static sources leave faint residuals and the difference noise is the science noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

SIZE = 63
CENTRE = (SIZE - 1) / 2.0
_SUB = np.array([-0.25, 0.25])  # 2x2 sub-pixel sampling of every profile
_BOX = 14  # half-size of the box a point source is rendered in (Moffat wings < 0.5% beyond)
_SERSIC_B = {1: 1.678, 4: 7.669}
_FFT = 128


@dataclass(frozen=True)
class Conditions:
    """One exposure and its reference: seeing, sky, noise, zero point, subtraction quality."""

    fwhm_sci: float
    fwhm_ref: float
    beta: float
    bg_sci: float
    noise_sci: float
    bg_ref: float
    noise_ref: float
    zp: float
    gain: float
    shift: tuple[float, float]
    flux_error: float

    @property
    def nea(self) -> float:
        """Noise-equivalent area (px) of the science PSF: PSF-fit S/N = flux / (noise*sqrt(NEA))."""
        sigma = self.fwhm_sci / 2.3548
        return 4.0 * np.pi * sigma**2

    def flux_for_snr(self, snr: float) -> float:
        return float(snr * self.noise_sci * np.sqrt(self.nea))

    def mag(self, flux: float) -> float:
        return float(self.zp - 2.5 * np.log10(max(flux, 1e-3)))


def draw_conditions(rng: np.random.Generator) -> Conditions:
    """Sample an exposure within the measured ranges (ZTF gain ~6.2 e-/ADU)."""
    deep_ref = rng.random() < 0.8
    ratio = np.exp(rng.uniform(np.log(0.006), np.log(0.03 if deep_ref else 0.35)))
    noise = rng.uniform(5.0, 17.0)
    bg = float(np.exp(rng.uniform(np.log(8.0), np.log(300.0))))
    return Conditions(
        fwhm_sci=float(np.clip(rng.lognormal(np.log(1.75), 0.2), 1.3, 4.0)),
        fwhm_ref=rng.uniform(1.8, 2.9),
        beta=rng.uniform(2.5, 4.5),
        bg_sci=bg,
        noise_sci=noise,
        bg_ref=bg * rng.uniform(0.85, 1.15),
        noise_ref=noise * ratio,
        zp=rng.uniform(22.9, 26.3),
        gain=6.2,
        shift=(float(rng.normal(0, 0.05)), float(rng.normal(0, 0.05))),
        flux_error=float(rng.normal(0, 0.01)),
    )


@dataclass
class Source:
    """A point source, trailed point source (asteroid) or Sersic galaxy, in both epochs."""

    x: float
    y: float
    flux_ref: float
    flux_sci: float
    kind: Literal["point", "trail", "galaxy"] = "point"
    r_eff: float = 0.0
    sersic_n: int = 1
    q: float = 1.0
    theta: float = 0.0
    trail: tuple[float, float] = field(default=(0.0, 0.0))


def _moffat(dx: np.ndarray, dy: np.ndarray, fwhm: float, beta: float) -> np.ndarray:
    """Unit-flux Moffat sampled 2x2 per pixel; dx/dy are pixel-centre offsets from the source."""
    alpha = fwhm / (2.0 * np.sqrt(2.0 ** (1.0 / beta) - 1.0))
    sx = (dx[:, None] + _SUB).ravel()
    sy = (dy[:, None] + _SUB).ravel()
    r2 = sy[:, None] ** 2 + sx[None, :] ** 2
    profile = (beta - 1.0) / (np.pi * alpha**2) * (1.0 + r2 / alpha**2) ** (-beta)
    return profile.reshape(dy.size, 2, dx.size, 2).mean(axis=(1, 3))


def add_point(image: np.ndarray, x: float, y: float, flux: float, fwhm: float, beta: float) -> None:
    """Add a Moffat point source of ``flux`` ADU at (x, y), rendered in a local box."""
    x0, y0 = int(round(x)), int(round(y))
    xs = np.arange(max(x0 - _BOX, 0), min(x0 + _BOX + 1, SIZE))
    ys = np.arange(max(y0 - _BOX, 0), min(y0 + _BOX + 1, SIZE))
    if xs.size and ys.size:
        image[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] += flux * _moffat(xs - x, ys - y, fwhm, beta)


def psf_image(fwhm: float, beta: float, x: float = CENTRE, y: float = CENTRE) -> np.ndarray:
    """A full-stamp unit-flux PSF (also the matched filter for the PSF-fit photometry)."""
    image = np.zeros((SIZE, SIZE))
    add_point(image, x, y, 1.0, fwhm, beta)
    return image


def _sersic(src: Source, dx: float, dy: float) -> np.ndarray:
    """Unit-flux Sersic profile (n=1 disc or n=4 bulge) before seeing, 2x2 sub-sampled."""
    grid = (np.arange(SIZE)[:, None] + _SUB).ravel()
    yy, xx = grid[:, None] - (src.y + dy), grid[None, :] - (src.x + dx)
    cos, sin = np.cos(src.theta), np.sin(src.theta)
    u, v = xx * cos + yy * sin, (-xx * sin + yy * cos) / src.q
    r = np.sqrt(u**2 + v**2) / src.r_eff
    n = src.sersic_n
    fine = np.exp(-_SERSIC_B[n] * (r ** (1.0 / n) - 1.0))
    intrinsic = fine.reshape(SIZE, 2, SIZE, 2).mean(axis=(1, 3))
    return intrinsic / intrinsic.sum()


def _convolve(image: np.ndarray, fwhm: float, beta: float) -> np.ndarray:
    """``image`` seen through the Moffat PSF (zero-padded FFT, so no wrap-around)."""
    kernel = psf_image(fwhm, beta)
    conv = np.fft.irfft2(
        np.fft.rfft2(image, (_FFT, _FFT)) * np.fft.rfft2(kernel, (_FFT, _FFT)), (_FFT, _FFT)
    )
    start = int(CENTRE)
    return conv[start : start + SIZE, start : start + SIZE]


def render(
    sources: list[Source],
    fluxes: list[float],
    fwhm: float,
    beta: float,
    shift: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Noiseless image of ``sources`` with the given fluxes, PSF and astrometric shift.

    Galaxies are summed before seeing and convolved once: convolution is linear.
    """
    image = np.zeros((SIZE, SIZE))
    extended = np.zeros((SIZE, SIZE))
    dx, dy = shift
    for src, flux in zip(sources, fluxes, strict=True):
        if flux == 0.0:
            continue
        if src.kind == "galaxy":
            extended += flux * _sersic(src, dx, dy)
        elif src.kind == "trail":
            steps = np.linspace(-0.5, 0.5, 7)
            for t in steps:
                x, y = src.x + dx + t * src.trail[0], src.y + dy + t * src.trail[1]
                add_point(image, x, y, flux / steps.size, fwhm, beta)
        else:
            add_point(image, src.x + dx, src.y + dy, flux, fwhm, beta)
    return image + _convolve(extended, fwhm, beta) if extended.any() else image


def observe(
    model: np.ndarray, bg: float, noise: float, gain: float, rng: np.random.Generator
) -> np.ndarray:
    """Sky + sources + Gaussian read/sky noise + source shot noise (Gaussian approximation)."""
    variance = noise**2 + np.clip(model, 0.0, None) / gain
    return bg + model + rng.normal(size=model.shape) * np.sqrt(variance)


def psf_photometry(diff: np.ndarray, cond: Conditions) -> tuple[float, float]:
    """PSF-fit flux and its error at the stamp centre (what ``magpsf``/``sigmapsf`` measure)."""
    psf = psf_image(cond.fwhm_sci, cond.beta)
    weights = psf / (psf**2).sum()
    flux = float(np.nansum(np.nan_to_num(diff) * weights))
    error = float(cond.noise_sci * np.sqrt((weights**2).sum()))
    return flux, error
