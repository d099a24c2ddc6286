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
                     spectrum: Spectrum | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Angular power spectrum (ISO 25178-2:2012 fAPS): the power summed in angular sectors.

    The angle of a frequency ``(fx, fy)`` is ``atan2(fy, fx)`` folded into ``[0, pi)`` (a texture
    direction has no sign), counter-clockwise from +x with +y along increasing row index.
    The zero frequency is left out.

    Returns
    -------
    angles, power
        Sector centre angles ``k * step`` (rad) and the summed PSD in each sector
        ``[k * step - step/2, k * step + step/2)``.
    """
    sp = psd_2d(surface, window=window) if spectrum is None else spectrum
    nbins = max(int(round(np.pi / step)), 1)
    # Sector index only: single precision is ample for 0.5 degree sectors and twice as fast.
    theta = np.arctan2(sp.fy.astype(np.float32)[:, None], sp.fx.astype(np.float32)[None, :])
    theta *= np.float32(nbins / np.pi)
    theta += np.float32(0.5)
    index = (np.floor(theta).astype(np.intp) % nbins).ravel()
    # Columns 0 < fx < Nyquist stand for themselves and their mirror image at -fx.
    weights = sp.psd.copy()
    last = weights.shape[1] - (1 if sp.shape[1] % 2 == 0 else 0)  # Nyquist column has no mirror
    weights[:, 1:last] *= 2.0
    weights[0, 0] = 0.0  # DC
    weights = weights.ravel()
    power = np.bincount(index, weights=weights, minlength=nbins)
    return np.arange(nbins) * (np.pi / nbins), power
