"""Power spectral density of a surface: 2-D periodogram, radially averaged PSD and the angular
power spectrum used for the texture direction Std (ISO 25178-2:2021 4.3.5) and the dominant
wavelength Ssw (4.3.4).

Conventions
-----------
* Heights are centred on the mean of the valid points; invalid (NaN) points are set to that
  mean (zero after centring), i.e. they carry no power, and the normalisation uses the sum of
  the squared window over the *valid* points only. This masked treatment is exact for the
  total power (Parseval) and otherwise an approximation: a large share of invalid points leaks
  power between frequencies like any window.
* Window: ``"hann"`` (default), the separable 2-D Hann window ``w(y) w(x)``, which suppresses
  the cross-shaped leakage caused by the discontinuity between opposite edges of a non-periodic
  scan (without it, every such scan has a spurious lay along x and y). ``"none"`` gives the plain
  periodogram (right for exactly periodic data).
* Normalisation: ``psd = |FFT(w * z)|**2 * dx * dy / sum((w * valid)**2)`` in m^4 (m^2 of height
  per (1/m)^2 of spatial frequency), so that the sum of ``psd * dfx * dfy`` over the whole
  frequency plane equals the mean square height of the valid points (for ``window="none"``
  and no invalid point, exactly).
* Only the half plane ``fx >= 0`` is stored (``rfft2``); the other half is its mirror image.
* Frequencies are spatial frequencies in 1/m (not angular wavenumbers), ``fy`` along increasing
  row index (y), ``fx`` along increasing column index (x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..errors import ParameterError
from ..surface import Surface
from .height import _source

__all__ = ["Spectrum", "psd_2d", "psd_radial", "angular_spectrum", "WORKERS"]

#: Threads used by the FFTs (scipy.fft ``workers``).
WORKERS = 2


@dataclass(frozen=True)
class Spectrum:
    """One-sided 2-D power spectral density (see the module notes).

    Attributes
    ----------
    psd
        ``(ny, nx//2 + 1)`` array, m^4; ``psd[i, j]`` at ``(fy[i], fx[j])``.
    fx, fy
        Spatial frequencies (1/m): ``fx >= 0`` (columns), ``fy`` in FFT order (rows).
    window
        The window used (``"hann"`` or ``"none"``).
    shape
        ``(ny, nx)`` of the surface grid (the two-sided transform).
    """

    psd: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    window: str
    shape: tuple[int, int]

    @property
    def df(self) -> tuple[float, float]:
        """Frequency steps ``(dfy, dfx)`` in 1/m."""
        return float(abs(self.fy[1] - self.fy[0])) if self.fy.size > 1 else 0.0, \
            float(self.fx[1] - self.fx[0]) if self.fx.size > 1 else 0.0


def _window(n: int, kind: str) -> np.ndarray:
    if kind == "none":
        return np.ones(n)
    if kind == "hann":
        # Periodic-free symmetric Hann that does not zero both ends of short records.
        return 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(n) + 0.5) / n)
    raise ParameterError(f"PSD: unknown window {kind!r}; use 'hann' or 'none'")


def psd_2d(surface: Surface, *, window: str = "hann") -> Spectrum:
    """Windowed 2-D periodogram of the centred heights (see the module notes)."""
    z = surface.heights
    ny, nx = z.shape
    if ny < 2 or nx < 2:
        raise ParameterError(f"{_source(surface)}: a 2-D spectrum needs at least 2 x 2 points, got {z.shape}")
    wy, wx = _window(ny, window), _window(nx, window)
    if surface.has_invalid:
        valid = ~np.isnan(z)
        if not valid.any():
            raise ParameterError(f"{_source(surface)}: no valid point for a spectrum")
        data = np.where(valid, z - np.nanmean(z), 0.0)
        w2 = float(np.einsum("i,ij,j->", wy * wy, valid.astype(np.float64), wx * wx))
    else:
        data = z - z.mean()
        w2 = float((wy * wy).sum() * (wx * wx).sum())
    if window != "none":
        data = data * wy[:, None]
        data *= wx[None, :]
    f = scipy.fft.rfft2(data, workers=WORKERS)
    psd = f.real * f.real
    psd += f.imag * f.imag
    psd *= surface.dx * surface.dy / w2
    fx = scipy.fft.rfftfreq(nx, d=surface.dx)
    fy = scipy.fft.fftfreq(ny, d=surface.dy)
    return Spectrum(psd, fx, fy, window, (ny, nx))


def psd_radial(surface: Surface, *, window: str = "hann", spectrum: Spectrum | None = None,
               bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged PSD ``C(f)``: the mean of the 2-D PSD over annuli of ``|f|``.

    Returns
    -------
    f, psd
        Bin-centre frequencies (1/m) and the mean 2-D PSD in each annulus (m^4). Empty annuli are
        dropped. The default bin width is the coarser of the two frequency steps.
    """
    sp = psd_2d(surface, window=window) if spectrum is None else spectrum
    radius = np.hypot(sp.fy[:, None], sp.fx[None, :])
    fmax = min(float(np.abs(sp.fy).max()), float(sp.fx.max()))
    if bins is None:
        step = max(sp.df)
        bins = max(int(fmax / step), 1)
    edges = np.linspace(0.0, fmax, bins + 1)
    index = np.searchsorted(edges, radius.ravel(), side="right") - 1
    keep = (index >= 0) & (index < bins) & (radius.ravel() > 0)
    counts = np.bincount(index[keep], minlength=bins)
    sums = np.bincount(index[keep], weights=sp.psd.ravel()[keep], minlength=bins)
    ok = counts > 0
    centres = 0.5 * (edges[:-1] + edges[1:])
    return centres[ok], sums[ok] / counts[ok]


def angular_spectrum(surface: Surface, *, step: float = np.deg2rad(0.5), window: str = "hann",
                     spectrum: Spectrum | None = None, quantity: str = "amplitude") -> tuple[np.ndarray, np.ndarray]:
    """Angular spectrum: the amplitude (or power) spectrum integrated over angular sectors.

    ``quantity="amplitude"`` gives the angular amplitude density (fAAD) on which ISO 25178-2:2021
    defines Std, ``"power"`` the angular power spectrum (fAPS) of ISO 25178-2:2012. The angle of a
    frequency ``(fx, fy)`` is ``atan2(fy, fx)`` folded into ``[0, pi)`` (a direction has no sign),
    counter-clockwise from +x with +y along increasing row index.

    Unbiased binning
    ----------------
    Summing the FFT bins whose *centre* falls in each sector (as surfalize and the first version of
    this function did) is biased towards lattice directions: a sector along 0, 45 deg, atan(1/2) ...
    collects a whole line of low-frequency bins while its neighbours get none, so any broad spectrum
    "finds" its texture direction on those angles. Here every bin is treated as the cell of area
    ``dfx * dfy`` it stands for, seen from the origin under the angle
    ``h = (dfx |sin t| + dfy |cos t|) / |f|``: its value times its area is spread over the sectors by a
    triangular kernel of half-width ``max(h, step)`` centred on its angle ``t`` and integrated
    exactly over each sector (closed-form cumulative sums; bins with ``h <= step``, the vast
    majority, reduce to a linear split between the two nearest sector centres). No direction is
    favoured by the grid: a pure sine on any bin gives a peak exactly at its angle, and a broad
    anisotropic spectrum a smooth curve. Only the disc ``|f| <= min(max |fy|, max fx)`` is used
    (the fixed radial band common to all directions): the corners of the frequency rectangle
    reach further along the diagonals and would favour 45 deg for any broad-band (noisy) surface.
    The zero frequency is left out.

    Parameters
    ----------
    step
        Sector width (rad); sectors are centred on ``k * step``.
    window, spectrum
        Window of :func:`psd_2d`, or a spectrum already computed.
    quantity
        ``"amplitude"`` (sqrt of the PSD; default) or ``"power"`` (the PSD).

    Returns
    -------
    angles, density
        Sector centre angles ``k * step`` (rad) and the integral of the quantity over each sector
        (``m^2 * m^-2`` for power, i.e. the power in the sector: they sum to the mean square height
        inside the disc).
    """
    if quantity not in ("amplitude", "power"):
        raise ParameterError(f"angular spectrum: unknown quantity {quantity!r}; use 'amplitude' or 'power'")
    if not (0 < step <= np.pi / 2):
        raise ParameterError(f"angular spectrum: the sector width must lie in (0, pi/2] rad, got {step!r}")
    sp = psd_2d(surface, window=window) if spectrum is None else spectrum
    nbins = max(int(round(np.pi / step)), 2)
    step = np.pi / nbins
    dfy, dfx = sp.df
    dfy = dfy if dfy > 0 else dfx
    dfx = dfx if dfx > 0 else dfy
    ny, ncols = sp.psd.shape
    fmax = min(float(np.abs(sp.fy).max()), float(sp.fx.max()))
    weights = np.sqrt(sp.psd) if quantity == "amplitude" else sp.psd.copy()
    # Columns 0 < fx < Nyquist stand for themselves and their mirror image at -fx (same folded angle).
    last = ncols - (1 if sp.shape[1] % 2 == 0 else 0)  # the Nyquist column has no mirror
    weights[:, 1:last] *= 2.0
    weights *= dfx * dfy
    # Fixed radial band: the disc |f| <= fmax, row by row (no 2-D radius array needed).
    reach = np.sqrt(np.maximum(fmax * fmax - sp.fy * sp.fy, 0.0)) / dfx * (1 + 1e-9)
    weights *= np.arange(ncols)[None, :] <= reach[:, None]
    weights[0, 0] = 0.0  # DC
    # Cells near the origin subtend more than one sector: they are taken out here and spread exactly
    # by _tent_sectors. A cell subtends at most hypot(dfx, dfy) / |f|, so beyond the radius
    # hypot(dfx, dfy) / step every cell is narrow; only the rows and columns inside it are examined.
    near = math.hypot(dfx, dfy) / step
    rows = np.flatnonzero(np.abs(sp.fy) < near)
    cols = int(min(ncols, np.ceil(near / dfx) + 1))
    fy_n = sp.fy[rows][:, None]
    fx_n = sp.fx[:cols][None, :]
    w_n = weights[rows, :cols].copy()
    r_n = np.hypot(fy_n, fx_n)
    t_n = np.arctan2(fy_n, fx_n) % np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        h_n = (dfx * np.abs(np.sin(t_n)) + dfy * np.abs(np.cos(t_n))) / r_n / step
    wide = (h_n > 1.0) & (w_n > 0)
    weights[rows[:, None], np.arange(cols)[None, :]] = np.where(wide, 0.0, w_n)
    density = _tent_sectors(t_n[wide] / step, h_n[wide], w_n[wide], nbins)
    # Narrow cells: a triangle of half-width one sector, i.e. a linear split between the two nearest
    # sector centres (sector k is centred on k * step). Single precision is ample for the angle.
    pos = np.arctan2(sp.fy.astype(np.float32)[:, None], sp.fx.astype(np.float32)[None, :])
    pos[pos < 0] += np.float32(np.pi)  # fold into [0, pi)
    pos *= np.float32(1.0 / step)
    k = np.floor(pos)
    pos -= k  # fraction towards the next centre
    k = k.astype(np.intp).ravel()  # 0..nbins (nbins only where rounding reached pi)
    weights = weights.ravel()
    whole = np.bincount(k, weights=weights, minlength=nbins + 1)
    upper = np.bincount(k, weights=weights * pos.ravel(), minlength=nbins + 1)
    spread = np.zeros(nbins + 2)
    spread[: nbins + 1] += whole - upper
    spread[1:] += upper
    density += spread[:nbins]
    density[:2] += spread[nbins:]  # sectors nbins and nbins + 1 are sectors 0 and 1
    return np.arange(nbins) * step, density


def _tent_sectors(centre: np.ndarray, half: np.ndarray, weight: np.ndarray, nbins: int) -> np.ndarray:
    """Integrals over the sectors ``[k - 1/2, k + 1/2)`` (sector units, periodic with ``nbins``) of a sum
    of triangles of unit area times ``weight``, centred on ``centre`` with half-width ``half``.

    A triangle is ``(ramp(x - a) - 2 ramp(x - c) + ramp(x - b)) / half**2`` with ``a, b = c -+ half``, so
    its cumulative integral is the same sum of ``q(x - t) = max(x - t, 0)**2 / 2``. Its value at every
    sector edge ``e`` is ``sum_{t < e} g (e - t)**2 / 2``, obtained from cumulative sums of ``g``,
    ``g t`` and ``g t**2`` binned by edge: O(n + nbins), no loop over sectors. The angle axis is
    unrolled over three periods (a triangle is at most half a turn wide) and folded back.
    """
    half = np.minimum(half, nbins / 2.0)
    shift = nbins + 0.5  # edge of sector k - 1/2 maps to integer k + nbins
    edges = 3 * nbins + 1
    s0 = np.zeros(edges + 1)
    s1 = np.zeros(edges + 1)
    s2 = np.zeros(edges + 1)
    g = weight / (half * half)
    for t, coeff in ((centre - half + shift, g), (centre + shift, -2.0 * g), (centre + half + shift, g)):
        index = np.floor(t).astype(np.intp) + 1  # first edge strictly above t
        s0 += np.bincount(index, weights=coeff, minlength=edges + 1)[: edges + 1]
        s1 += np.bincount(index, weights=coeff * t, minlength=edges + 1)[: edges + 1]
        s2 += np.bincount(index, weights=coeff * t * t, minlength=edges + 1)[: edges + 1]
    e = np.arange(edges + 1, dtype=np.float64)
    cumulative = 0.5 * (e * e * np.cumsum(s0) - 2.0 * e * np.cumsum(s1) + np.cumsum(s2))
    sectors = np.diff(cumulative)[: 3 * nbins]  # sector between edges j and j + 1 is sector j mod nbins
    return sectors.reshape(3, nbins).sum(axis=0)
