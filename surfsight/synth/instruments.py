"""Instrument models: what a stylus profiler, a coherence-scanning interferometer (CSI), a
confocal microscope, a focus-variation microscope and an AFM record of a true surface.

Each model applies, in order: the instrument's transfer (tip dilation, optical lateral
resolution, batwing, slope-limit dropouts), noise (its noise floor, or for focus variation a
noise that grows where the surface lacks optical contrast), tilt and form, line offsets, spikes,
missing points (NaN) and quantisation. Defaults follow typical data sheets and the literature:

* stylus: tip radius 2 µm (ISO 3274 nominal 2, 5 or 10 µm), lambda_s 2.5 µm, noise ~1 nm;
  the tip is a sphere and the trace its morphological dilation (Whitehouse 2011, ch. 4);
* CSI: noise floor ~0.1-1 nm (e.g. Zygo NewView 9000, Bruker ContourX data sheets), lateral
  resolution by the Sparrow limit of the objective, slope limit ``asin(NA)`` beyond which
  light misses the objective (dropouts), batwing artefacts at steps lower than the coherence
  length (Harasaki & Wyant, Appl. Opt. 39 (2000) 2101);
* confocal: noise a few nm, NA 0.8-0.95, slope limit as CSI but larger NA;
* focus variation: repeatability ~10-50 nm on rough surfaces, failing on smooth ones where
  there is no contrast to focus on (Danzl et al., Strojniski vestnik 57 (2011) 245);
* AFM: tip apex radius 2-10 nm on a cone (Villarrubia, J. Res. NIST 102 (1997) 425: the image
  is the dilation by the reflected tip), line-to-line offsets from drift.

Instruments work in physical units: a grid spacing much coarser than the tip makes the tip
effect vanish, as it does in reality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import InputError


@dataclass(frozen=True)
class Instrument:
    """Parameters of an instrument model (SI units)."""

    name: str
    kind: str
    noise: float                    # standard deviation of height noise, m
    lateral_resolution: float       # optical/stylus lateral resolution (Gaussian FWHM), m
    quantisation: float             # height step, m
    tip_radius: float = 0.0         # stylus or AFM tip radius, m (0: optical)
    tip_half_angle: float = 0.0     # cone half angle of stylus/AFM tip, rad
    numerical_aperture: float = 0.0  # optical NA (slope limit asin(NA)); 0: none
    lambda_s: float = 0.0           # stylus short-wavelength filter, m
    batwing: float = 0.0            # batwing amplitude as a fraction of the step height
    coherence_length: float = 0.0   # CSI coherence length, m
    contrast_noise: float = 0.0     # focus variation: extra noise where local slope contrast is low, m
    line_offset: float = 0.0        # std of per-line offsets, m
    tilt: float = 0.0               # max tilt slope (rad) of the mounted part
    form_radius: float = 0.0        # radius of a curved part (0: flat), m
    spike_rate: float = 0.0         # share of points with outlier spikes
    dropout_rate: float = 0.0       # share of randomly missing points (besides slope dropouts)
    scan_axis: int = 1              # stylus/AFM fast axis: 1 = along x (rows), 0 = along y
    extra: dict[str, Any] = field(default_factory=dict)

    def with_(self, **changes: Any) -> "Instrument":
        return replace(self, **changes)


INSTRUMENTS: dict[str, Instrument] = {
    "stylus": Instrument("stylus", "contact", noise=1e-9, lateral_resolution=0.0, quantisation=0.1e-9,
                         tip_radius=2e-6, tip_half_angle=math.radians(30), lambda_s=2.5e-6, tilt=2e-3,
                         line_offset=5e-9, spike_rate=0.0),
    "csi": Instrument("csi", "optical", noise=0.5e-9, lateral_resolution=1.0e-6, quantisation=0.05e-9,
                      numerical_aperture=0.3, batwing=0.3, coherence_length=1.5e-6, tilt=1e-3, spike_rate=2e-4,
                      dropout_rate=1e-3),
    "confocal": Instrument("confocal", "optical", noise=3e-9, lateral_resolution=0.6e-6, quantisation=0.5e-9,
                           numerical_aperture=0.8, tilt=1e-3, spike_rate=5e-4, dropout_rate=5e-4),
    "focus_variation": Instrument("focus_variation", "optical", noise=20e-9, lateral_resolution=2.0e-6,
                                  quantisation=5e-9, numerical_aperture=0.4, contrast_noise=150e-9, tilt=1e-3,
                                  spike_rate=1e-3, dropout_rate=2e-3),
    "afm": Instrument("afm", "contact", noise=0.1e-9, lateral_resolution=0.0, quantisation=0.01e-9,
                      tip_radius=8e-9, tip_half_angle=math.radians(20), line_offset=0.5e-9, tilt=5e-3),
}

#: Instrument class index used by the model (order is part of the model's contract).
INSTRUMENT_CLASSES = tuple(INSTRUMENTS)


def instrument(name: str | Instrument) -> Instrument:
    if isinstance(name, Instrument):
        return name
    try:
        return INSTRUMENTS[name]
    except KeyError:
        raise InputError(f"unknown instrument {name!r}; known: {', '.join(INSTRUMENTS)}") from None


# --- transfer ---------------------------------------------------------------------------------------------------

def tip_dilation(z: np.ndarray, spacing: tuple[float, float], radius: float, half_angle: float) -> np.ndarray:
    """The trace of a spherical-tipped cone: grey dilation of ``z`` by the reflected tip
    (Villarrubia 1997). Zero radius or a tip smaller than a pixel leaves ``z`` unchanged."""
    if radius <= 0:
        return z
    cone_slope = 1 / math.tan(half_angle) if half_angle > 0 else np.inf
    # the tip matters within the radius where it departs from the surface by less than z's range
    reach = min(radius, 8 * max(spacing) + radius * 0.5)
    ry, rx = int(reach / spacing[0]), int(reach / spacing[1])
    if ry < 1 and rx < 1:
        return z
    yy, xx = np.mgrid[-ry:ry + 1, -rx:rx + 1]
    r = np.hypot(yy * spacing[0], xx * spacing[1])
    sphere = radius - np.sqrt(np.clip(radius ** 2 - r ** 2, 0, None))
    tip = np.where(r <= radius, sphere, np.inf)
    if np.isfinite(cone_slope):
        tip = np.minimum(tip, (r - radius * math.cos(half_angle)) * cone_slope + radius * (1 - math.sin(half_angle)))
    tip = np.maximum(tip, 0)
    return ndimage.grey_dilation(z, structure=-tip, mode="nearest")


def gaussian_blur(z: np.ndarray, spacing: tuple[float, float], fwhm: float) -> np.ndarray:
    if fwhm <= 0:
        return z
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    return ndimage.gaussian_filter(z, (sigma / spacing[0], sigma / spacing[1]), mode="nearest")


def profile_lowpass(z: np.ndarray, spacing: tuple[float, float], cutoff: float, axis: int) -> np.ndarray:
    """ISO 16610-21 Gaussian low-pass along the scan axis (the stylus lambda_s filter)."""
    if cutoff <= 0:
        return z
    alpha = math.sqrt(math.log(2) / math.pi)
    sigma = alpha * cutoff / math.sqrt(2 * math.pi)
    return ndimage.gaussian_filter1d(z, sigma / spacing[axis], axis=axis, mode="nearest")


def slopes(z: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    gy, gx = np.gradient(z, spacing[0], spacing[1])
    return np.hypot(gx, gy)


def step_edges(z: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels next to a jump between neighbours of height in ``[low, high)`` (a step edge)."""
    jump = np.zeros(z.shape)
    dx = np.abs(np.diff(z, axis=1))
    dy = np.abs(np.diff(z, axis=0))
    jump[:, 1:] = np.maximum(jump[:, 1:], dx)
    jump[:, :-1] = np.maximum(jump[:, :-1], dx)
    jump[1:, :] = np.maximum(jump[1:, :], dy)
    jump[:-1, :] = np.maximum(jump[:-1, :], dy)
    return (jump >= low) & (jump < high)


def batwing(z: np.ndarray, spacing: tuple[float, float], amplitude: float, coherence: float,
            wavelength: float = 0.55e-6) -> np.ndarray:
    """CSI batwing: overshoot at the top and undershoot at the foot of steps whose height lies
    between a quarter wavelength and the coherence length (Harasaki & Wyant 2000). Modelled as
    ``-amplitude * h * L/|L|`` on the step edge pixels, with ``L`` the Laplacian of the lightly
    smoothed surface and ``h`` the local step height."""
    if amplitude <= 0:
        return np.zeros_like(z)
    edges = step_edges(z, wavelength / 4, coherence if coherence > 0 else np.inf)
    if not edges.any():
        return np.zeros_like(z)
    smooth = ndimage.gaussian_filter(z, 1.0)
    lap = ndimage.laplace(smooth)
    height = ndimage.maximum_filter(z, size=3) - ndimage.minimum_filter(z, size=3)
    return np.where(edges, -amplitude * height * np.sign(lap), 0.0)


# --- measurement ------------------------------------------------------------------------------------------------

def measure(truth: np.ndarray, spacing: tuple[float, float], inst: str | Instrument,
            rng: np.random.Generator, *, form: bool = True) -> np.ndarray:
    """What the instrument records of ``truth`` (metres, NaN = not measured)."""
    m = instrument(inst)
    z = truth
    if m.tip_radius > 0:
        z = tip_dilation(z, spacing, m.tip_radius, m.tip_half_angle)
    if m.lambda_s > 0:
        z = profile_lowpass(z, spacing, m.lambda_s, m.scan_axis)
    if m.lateral_resolution > 0:
        z = gaussian_blur(z, spacing, m.lateral_resolution)
    if m.batwing > 0:
        z = z + batwing(truth, spacing, m.batwing, m.coherence_length)
    noise_sd = np.full(z.shape, m.noise)
    if m.contrast_noise > 0:
        # focus variation needs texture to focus on: noise grows as local slope contrast falls
        contrast = ndimage.uniform_filter(slopes(truth, spacing), size=5)
        noise_sd = noise_sd + m.contrast_noise / (1 + (contrast / 0.02) ** 2)
    z = z + rng.standard_normal(z.shape) * noise_sd
    if m.line_offset > 0:
        offsets = rng.normal(0, m.line_offset, z.shape[1 - m.scan_axis])
        z = z + (offsets[:, None] if m.scan_axis == 1 else offsets[None, :])
    if form:
        y = np.arange(z.shape[0])[:, None] * spacing[0]
        x = np.arange(z.shape[1])[None, :] * spacing[1]
        ty, tx = rng.uniform(-m.tilt, m.tilt, 2)
        z = z + ty * y + tx * x
        if m.form_radius > 0:
            cx, cy = x.mean(), y.mean()
            z = z - ((x - cx) ** 2 + (y - cy) ** 2) / (2 * m.form_radius)
    if m.spike_rate > 0:
        spikes = rng.random(z.shape) < m.spike_rate
        z = np.where(spikes, z + rng.normal(0, 20 * max(np.std(truth), m.noise), z.shape), z)
    if m.quantisation > 0:
        z = np.round(z / m.quantisation) * m.quantisation
    invalid = np.zeros(z.shape, bool)
    if m.numerical_aperture > 0:
        invalid |= slopes(truth, spacing) > math.tan(math.asin(m.numerical_aperture))
    if m.dropout_rate > 0:
        invalid |= rng.random(z.shape) < m.dropout_rate
    return np.where(invalid, np.nan, z)
