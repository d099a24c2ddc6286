"""Spatial parameters of ISO 25178-2:2021, clause 4.3: Sal, Str (from the autocorrelation
function), Ssw and Std (from the power spectrum), and the autocorrelation function itself.

Autocorrelation function (ACF)
------------------------------
``acf(t) = sum z(x) z(x+t) / sum m(x) m(x+t)``, normalised to 1 at ``t = 0``, where ``z`` is the
height minus the mean of the valid points, set to 0 at invalid points, and ``m`` is the validity
mask (1 valid, 0 invalid). Both sums are computed with zero-padded FFTs (no wrap-around), so
each lag is averaged over the pairs of *valid* points it actually joins: the overlap-normalised
("unbiased") estimator, which for a complete grid is the estimator of surfalize 0.19.2.
ISO 25178-2 writes the ACF as an integral over the definition area divided by the integral of
``z**2``; the overlap normalisation is the finite-area reading of that integral, without the
triangular taper the plain sum would add at large lags.

Lags are evaluated up to half the field in each direction (``|tx| <= Lx/2``, ``|ty| <= Ly/2``):
beyond that fewer than half the points overlap and the estimate is noise. This also lets the FFT
be padded by half the field instead of doubling it. For Sal and Str (:func:`decay`) an eighth of
the field is tried first and the half field only when the ACF has not decayed inside it,
which gives the same result faster on the usual surfaces.

Sal and Str (threshold ``s = 0.2``, ISO 25178-3 default)
-------------------------------------------------------
The ACF is interpolated bilinearly along 360 rays (0.5 degree apart over 180 degrees; the ACF is
point-symmetric) in physical units, and the first distance at which it falls to ``s`` is found on
each ray by linear interpolation. ``Sal`` is the shortest such distance ("fastest decay"), ``Str``
the shortest over the longest. If the ACF does not fall to ``s`` within the evaluated lags in
some direction (a strong lay, or a field too small), Str is undefined and raises
:class:`ParameterError` (surfalize returns NaN with a warning); Sal raises only if it decays in no
direction.

Std and Ssw
-----------
``Std`` is the angle of the maximum of the angular amplitude density (ISO 25178-2:2021; see
:func:`~surfsight.metrology.psd.angular_spectrum`, which spreads every FFT cell over the angle it
subtends inside a fixed disc of frequencies, so that no lattice direction is favoured), smoothed by
a circular Gaussian of 8 deg (:data:`STD_SMOOTHING`) and refined by a parabola; in radians in
``[0, pi)``, counter-clockwise from +x with +y along increasing row index. It is the direction of
the dominant wave vector, i.e. **perpendicular to the lay** (grooves along y give Std = 0).
surfalize measures the angle with y pointing up the displayed map (row 0 at the top), so its value
is ``180 deg - Std``. ``Ssw`` is the wavelength ``1/|f|`` of the largest value of the power spectrum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy import ndimage

from ..errors import ParameterError
from ..surface import Surface
from .height import _source
from .psd import WORKERS, Spectrum, angular_spectrum, psd_2d

__all__ = ["ACF", "Decay", "autocorrelation", "decay", "decay_lengths", "Sal", "Str", "Std", "Ssw", "STD_SMOOTHING"]

#: Number of rays over 180 degrees used to find the decay of the ACF.
RAYS = 360


@dataclass(frozen=True)
class ACF:
    """Areal autocorrelation function on a grid of lags.

    Attributes
    ----------
    values
        ``(2*hy + 1, 2*hx + 1)`` array, 1 at the centre ``[hy, hx]`` (zero lag); ``values[i, j]`` is
        the ACF at lag ``ty = (i - hy) * dy``, ``tx = (j - hx) * dx``.
    spacing
        ``(dy, dx)`` of the lag grid, metres.
    source
        Name of the surface, for messages.
    max_lag
        Largest lag evaluated, as a share of the field in each direction.
    """

    values: np.ndarray
    spacing: tuple[float, float]
    source: str = "surface"
    max_lag: float = 0.5

    @property
    def centre(self) -> tuple[int, int]:
        return self.values.shape[0] // 2, self.values.shape[1] // 2


def _correlation(a: np.ndarray, hy: int, hx: int, offset: float = 0.0) -> np.ndarray:
    """Linear (zero-padded, non-circular) autocorrelation sum of ``a - offset`` at lags ``-h..h``.

    The 2-D transform is split by axis so that no FFT is spent on the padding rows going in, or on
    rows of lags that are not wanted coming out; the centring is written straight into the padded
    row buffer.
    """
    ny, nx = a.shape
    py = scipy.fft.next_fast_len(ny + hy, real=False)
    px = scipy.fft.next_fast_len(nx + hx, real=True)
    buf = np.zeros((ny, px))
    np.subtract(a, offset, out=buf[:, :nx])
    f = scipy.fft.rfft(buf, axis=1, workers=WORKERS, overwrite_x=True)      # (ny, px//2+1), real rows only
    del buf
    f = scipy.fft.fft(f, n=py, axis=0, workers=WORKERS, overwrite_x=True)   # (py, px//2+1)
    power = f.real * f.real
    power += f.imag * f.imag
    del f
    g = scipy.fft.ifft(power, axis=0, workers=WORKERS, overwrite_x=True)    # complex, (py, px//2+1)
    rows = np.r_[py - hy:py, 0:hy + 1]
    g = g[rows]                                                              # only the wanted lags
    full = scipy.fft.irfft(g, n=px, axis=1, workers=WORKERS, overwrite_x=True)
    return np.concatenate((full[:, px - hx:], full[:, :hx + 1]), axis=1)


def autocorrelation(surface: Surface, *, max_lag: float = 0.5) -> ACF:
    """The overlap-normalised ACF of the valid heights (see the module notes).

    Parameters
    ----------
    max_lag
        Largest lag evaluated, as a share of the field in each direction (default 0.5).
    """
    z = surface.heights
    ny, nx = z.shape
    if ny < 3 or nx < 3:
        raise ParameterError(f"{_source(surface)}: the autocorrelation needs at least 3 x 3 points, got {z.shape}")
    if not 0.0 < max_lag <= 0.5:
        raise ParameterError(f"{_source(surface)}: max_lag must lie in (0, 0.5], got {max_lag!r}")
    hy, hx = max(int(ny * max_lag), 1), max(int(nx * max_lag), 1)
    if surface.has_invalid:
        valid = ~np.isnan(z)
        if valid.sum() < 2:
            raise ParameterError(f"{_source(surface)}: too few valid points for an autocorrelation")
        data = np.where(valid, z - z[valid].mean(), 0.0)
        num = _correlation(data, hy, hx)
        den = np.rint(_correlation(valid.astype(np.float64), hy, hx))
        with np.errstate(invalid="ignore", divide="ignore"):
            acf = np.where(den > 0, num / np.maximum(den, 1.0), np.nan)
    else:
        acf = _correlation(z, hy, hx, offset=float(z.mean()))
        count_y = ny - np.abs(np.arange(-hy, hy + 1))
        count_x = nx - np.abs(np.arange(-hx, hx + 1))
        acf /= np.outer(count_y, count_x)
    zero = acf[hy, hx]
    if not zero > 0:
        raise ParameterError(f"{_source(surface)}: the autocorrelation is undefined for a flat surface (Sq = 0)")
    acf /= zero
    return ACF(acf, (surface.dy, surface.dx), _source(surface), max_lag)


def decay_lengths(acf: ACF, s: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) at which the ACF first falls to ``s`` along each of :data:`RAYS` directions.

    Returns
    -------
    angles, lengths
        Ray angles (rad, counter-clockwise from +x, +y along rows) and decay lengths; ``inf``
        where the ACF stays above ``s`` out to the edge of the evaluated lags.
    """
    if not 0.0 < s < 1.0:
        raise ParameterError(f"{acf.source}: the ACF threshold s must lie strictly between 0 and 1, got {s!r}")
    values = acf.values
    cy, cx = acf.centre
    dy, dx = acf.spacing
    above = values > s
    above[np.isnan(values)] = False
    labels, _ = ndimage.label(above)
    lobe = labels == labels[cy, cx]
    rows, cols = np.nonzero(lobe)
    reach = float(np.sqrt(((rows - cy) * dy) ** 2 + ((cols - cx) * dx) ** 2).max()) if rows.size else 0.0
    step = min(dx, dy)
    nsteps = int(np.ceil(reach / step)) + 3
    angles = np.arange(RAYS) * (np.pi / RAYS)
    radii = np.arange(nsteps + 1) * step
    py = cy + np.outer(np.sin(angles), radii) / dy
    px = cx + np.outer(np.cos(angles), radii) / dx
    inside = (py >= 0) & (py <= values.shape[0] - 1) & (px >= 0) & (px <= values.shape[1] - 1)
    filled = np.where(np.isnan(values), 1.0, values)  # no-overlap lags never count as a decay
    samples = ndimage.map_coordinates(filled, [py.ravel(), px.ravel()], order=1, mode="nearest")
    samples = samples.reshape(py.shape)
    below = (samples <= s) & inside
    first = np.argmax(below, axis=1)
    found = below[np.arange(RAYS), first]
    lengths = np.full(RAYS, np.inf)
    k = first[found]
    a0 = samples[found, k - 1]
    a1 = samples[found, k]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(a0 > a1, (a0 - s) / (a0 - a1), 1.0)
    lengths[found] = radii[k - 1] + np.clip(t, 0.0, 1.0) * step
    # A ray that leaves the evaluated lags while still above s does not decay.
    return angles, lengths


@dataclass(frozen=True)
class Decay:
    """Decay lengths of the ACF to the threshold ``s`` along :data:`RAYS` directions (Sal/Str).

    Attributes
    ----------
    s
        The threshold.
    angles, lengths
        Ray angles (rad) and decay lengths (m; ``inf`` where the ACF does not fall to ``s`` within the
        evaluated lags).
    source
        Name of the surface, for messages.
    """

    s: float
    angles: np.ndarray
    lengths: np.ndarray
    source: str = "surface"


#: Lag window tried first by :func:`decay` (share of the field); widened to 0.5 when the lobe reaches it.
FIRST_LAG = 0.125


def decay(surface: Surface, s: float = 0.2, *, acf: ACF | None = None) -> Decay:
    """Decay lengths for Sal and Str, evaluating lags up to half the field.

    Without ``acf``, the ACF is first evaluated up to an eighth of the field (the FFT is smaller), and
    again up to half the field only if the ACF has not fallen to ``s`` within that window in every
    direction; the result is the same as with the half-field ACF (the thresholded lobe around the
    origin is the same connected region). An ``acf`` passed in with ``max_lag < 0.5`` is widened the
    same way.
    """
    a = autocorrelation(surface, max_lag=FIRST_LAG) if acf is None else acf
    _, lengths = decay_lengths(a, s)
    if a.max_lag < 0.5 and not _inside(a, lengths):
        a = autocorrelation(surface, max_lag=0.5)
    angles, lengths = decay_lengths(a, s)
    return Decay(float(s), angles, lengths, a.source)


def _inside(acf: ACF, lengths: np.ndarray) -> bool:
    """Whether every ray decayed at least 4 lag steps inside the evaluated window."""
    if not np.isfinite(lengths).all():
        return False
    hy, hx = acf.centre
    dy, dx = acf.spacing
    limit = min((hy - 4) * dy, (hx - 4) * dx)
    return bool(lengths.max() < limit)


def _decay(surface: Surface, s: float, acf: ACF | None, dec: Decay | None) -> Decay:
    if dec is not None and dec.s == s:
        return dec
    return decay(surface, s, acf=acf)


def Sal(surface: Surface, s: float = 0.2, *, acf: ACF | None = None, decay: Decay | None = None) -> float:
    """Autocorrelation length, ISO 25178-2:2021 4.3.2: the shortest lag at which the ACF falls to ``s`` (m)."""
    d = _decay(surface, s, acf, decay)
    finite = d.lengths[np.isfinite(d.lengths)]
    if finite.size == 0:
        raise ParameterError(f"{d.source}: Sal is undefined: the autocorrelation does not fall to s = {s} "
                             "within half the field in any direction (field too small for the texture)")
    return float(finite.min())


def Str(surface: Surface, s: float = 0.2, *, acf: ACF | None = None, decay: Decay | None = None) -> float:
    """Texture aspect ratio, ISO 25178-2:2021 4.3.3: fastest over slowest decay length of the ACF (0..1)."""
    d = _decay(surface, s, acf, decay)
    if not np.isfinite(d.lengths).all():
        raise ParameterError(f"{d.source}: Str is undefined: the autocorrelation does not fall to s = {s} "
                             "within half the field in at least one direction (a strong lay or a field too "
                             "small); see Std for the lay direction")
    return float(d.lengths.min() / d.lengths.max())


#: Standard deviation (rad) of the circular Gaussian that smooths the angular amplitude density before
#: its maximum is located (see :func:`Std`).
STD_SMOOTHING = float(np.deg2rad(8.0))


def Std(surface: Surface, *, spectrum: Spectrum | None = None, step: float = np.deg2rad(0.5),
        smoothing: float = STD_SMOOTHING, quantity: str = "amplitude") -> float:
    """Texture direction, ISO 25178-2:2021 4.3.5 (rad, ``[0, pi)``): the angle of the maximum of the
    angular amplitude density, i.e. of the dominant wave vector (perpendicular to the lay).

    The angular spectrum comes from :func:`~surfsight.metrology.psd.angular_spectrum` (each FFT cell
    spread over the angle it subtends, no lattice bias), in ``step`` sectors; it is smoothed with a
    circular Gaussian of standard deviation ``smoothing`` (rad; 0 for none) and its maximum is refined
    by a parabola through the three highest sectors.

    Parameters
    ----------
    spectrum
        A :class:`~surfsight.metrology.psd.Spectrum` already computed (Hann window by default).
    step
        Sector width (rad), 0.5 deg by default.
    smoothing
        The periodogram of a random surface scatters by its own size from bin to bin, so the raw
        angular spectrum of a broad (Str 0.3-0.5) texture has many local maxima a few degrees apart.
        Smoothing by 8 deg (the default; full width at half maximum 19 deg) brings the scatter of Std
        on such fields down to about a degree (see docs/metrology/areal.md); a symmetric peak (a
        sine, a single lay) is not moved. Two lays closer than about 20 deg are merged.
    quantity
        ``"amplitude"`` (ISO 25178-2:2021, the default) or ``"power"`` (the angular power spectrum of
        the 2012 edition). The amplitude gives less weight to the few strong low-frequency cells, so
        its maximum scatters less.
    """
    if not (smoothing >= 0 and math.isfinite(smoothing)):
        raise ParameterError(f"{_source(surface)}: Std smoothing must be a finite angle >= 0 rad, got {smoothing!r}")
    angles, density = angular_spectrum(surface, step=step, spectrum=spectrum, quantity=quantity)
    if not density.max() > 0:
        raise ParameterError(f"{_source(surface)}: Std is undefined for a flat surface")
    n = density.size
    width = np.pi / n
    if smoothing > 0:
        density = ndimage.gaussian_filter1d(density, smoothing / width, mode="wrap")
    i = int(np.argmax(density))
    p0, p1, p2 = density[(i - 1) % n], density[i], density[(i + 1) % n]
    denom = p0 - 2 * p1 + p2
    shift = 0.5 * (p0 - p2) / denom if denom < 0 else 0.0
    return float((angles[i] + shift * width) % np.pi)


def Ssw(surface: Surface, *, spectrum: Spectrum | None = None) -> float:
    """Dominant spatial wavelength, ISO 25178-2:2021 4.3.4: ``1/|f|`` at the largest PSD value (m)."""
    sp = psd_2d(surface) if spectrum is None else spectrum
    psd = sp.psd.copy()
    psd[0, 0] = 0.0
    i, j = np.unravel_index(int(np.argmax(psd)), psd.shape)
    f = float(np.hypot(sp.fy[i], sp.fx[j]))
    if not f > 0 or not psd[i, j] > 0:
        raise ParameterError(f"{_source(surface)}: Ssw is undefined for a flat surface")
    return 1.0 / f
