"""Hybrid parameters of ISO 25178-2:2021, clause 4.4: Sdq and Sdr, and the slope distribution.

Difference scheme
-----------------
ISO 25178-2 defines Sdq and Sdr on the continuous surface (integrals of the partial
derivatives over the definition area) and leaves the discretisation to the implementation.
surfsight uses the **two-point forward difference between adjacent valid neighbours**:

* ``dz/dx[i, j] = (z[i, j+1] - z[i, j]) / dx`` on the ``ny x (nx-1)`` horizontal edges,
* ``dz/dy[i, j] = (z[i+1, j] - z[i, j]) / dy`` on the ``(ny-1) x nx`` vertical edges.

An edge with an invalid (NaN) end is left out. This is the scheme of surfalize 0.19.2 and of
SurfaceTopography's ``rms_gradient``; it is exact for a plane and, for a sine of wavelength
``lambda``, underestimates the slope by the factor ``sinc(dx/lambda)``. Instrument software
often uses a central difference (``scheme="central"``, three points) or the seven-point
central formula given for profiles in ISO 4287:1997 (not provided); these reduce that
sampling bias but read noise differently, so values from different software differ by a few
per cent on finely sampled rough surfaces.

* ``Sdq = sqrt(mean(dz/dx**2) + mean(dz/dy**2))`` with each mean over its own valid edges.
* ``Sdr`` uses the cell-area formula of ISO 25178-2:2021, Annex D (eq. D.15): each grid cell
  ``ABCD`` is split into two triangles along both diagonals and the two triangulated areas are
  averaged, which equals ``dx*dy/4`` times the sum over the four corners of
  ``sqrt(1 + gx**2 + gy**2)`` with the forward differences of the cell's edges. Only cells whose
  four corners are valid count, both in the developed and in the projected area. Sdr is given
  in per cent, as the standard writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..surface import Surface
from .height import _source

__all__ = ["Gradients", "gradients", "SlopeSums", "slope_sums", "Sdq", "Sdr", "SlopeDistribution", "slope_distribution"]


@dataclass(frozen=True)
class Gradients:
    """Forward-difference slopes of a surface (dimensionless, NaN where an end is invalid).

    Attributes
    ----------
    dzdx
        ``(ny, nx-1)`` slopes along x between columns ``j`` and ``j+1``.
    dzdy
        ``(ny-1, nx)`` slopes along y between rows ``i`` and ``i+1``.
    has_invalid
        Whether any slope is NaN (so masked means are needed).
    """

    dzdx: np.ndarray
    dzdy: np.ndarray
    has_invalid: bool


def gradients(surface: Surface) -> Gradients:
    """Forward-difference slopes between adjacent points as full arrays (see the module notes).

    Sdq and Sdr do not need these arrays: they use :func:`slope_sums`, one blocked pass.
    """
    z = surface.heights
    if z.shape[0] < 2 or z.shape[1] < 2:
        raise ParameterError(f"{_source(surface)}: slopes need at least 2 x 2 points, got {z.shape}")
    dzdx = np.diff(z, axis=1)
    dzdx /= surface.dx
    dzdy = np.diff(z, axis=0)
    dzdy /= surface.dy
    return Gradients(dzdx, dzdy, surface.has_invalid)


@dataclass(frozen=True)
class SlopeSums:
    """Sums over the forward-difference slopes that Sdq and Sdr need, from one blocked pass.

    Attributes
    ----------
    sum_x2, count_x
        Sum of ``(dz/dx)**2`` over the valid horizontal edges, and their number.
    sum_y2, count_y
        The same for ``(dz/dy)**2`` over the valid vertical edges.
    area, cells
        Sum over the cells with four valid corners of ``1/4 * sum_corners sqrt(1 + gx**2 + gy**2)``
        (the cell's developed area over its projected area), and the number of such cells.
    """

    sum_x2: float
    count_x: int
    sum_y2: float
    count_y: int
    area: float
    cells: int
    source: str = "surface"


#: Rows per block in :func:`slope_sums` (keeps the work arrays in cache).
BLOCK_ROWS = 64


def slope_sums(surface: Surface) -> SlopeSums:
    """Sdq and Sdr sums in one pass over row blocks (no full-size slope arrays are kept)."""
    z = surface.heights
    ny, nx = z.shape
    if ny < 2 or nx < 2:
        raise ParameterError(f"{_source(surface)}: slopes need at least 2 x 2 points, got {z.shape}")
    masked = surface.has_invalid
    dx, dy = surface.dx, surface.dy
    sum_x2 = sum_y2 = area = 0.0
    count_x = count_y = cells = 0
    for r0 in range(0, ny, BLOCK_ROWS):
        r1 = min(r0 + BLOCK_ROWS, ny)
        zb = z[r0:min(r1 + 1, ny)]               # one extra row: the edges and cells below row r1 - 1
        gx2 = np.diff(zb, axis=1)
        gx2 *= gx2
        gx2 *= 1.0 / (dx * dx)
        own = gx2[:r1 - r0]
        gy2 = np.diff(zb, axis=0)
        gy2 *= gy2
        gy2 *= 1.0 / (dy * dy)
        if masked:
            ok = np.isfinite(own)
            sum_x2 += float(own[ok].sum())
            count_x += int(ok.sum())
            ok = np.isfinite(gy2)
            sum_y2 += float(gy2[ok].sum())
            count_y += int(ok.sum())
        else:
            sum_x2 += float(own.sum())
            count_x += own.size
            sum_y2 += float(gy2.sum())
            count_y += gy2.size
        if gy2.shape[0] == 0:
            continue
        gx2 += 1.0                               # 1 + gx^2
        bottom, top = gx2[:-1], gx2[1:]
        left, right = gy2[:, :-1], gy2[:, 1:]
        acc = np.add(bottom, left)
        np.sqrt(acc, out=acc)
        tmp = np.add(bottom, right)
        acc += np.sqrt(tmp, out=tmp)
        np.add(top, right, out=tmp)
        acc += np.sqrt(tmp, out=tmp)
        np.add(top, left, out=tmp)
        acc += np.sqrt(tmp, out=tmp)
        if masked:
            ok = np.isfinite(acc)
            area += float(acc[ok].sum()) / 4.0
            cells += int(ok.sum())
        else:
            area += float(acc.sum()) / 4.0
            cells += acc.size
    return SlopeSums(sum_x2, count_x, sum_y2, count_y, area, cells, _source(surface))


def _mean_square(a: np.ndarray, masked: bool) -> tuple[float, int]:
    if masked:
        a = a[np.isfinite(a)]
    n = a.size
    if n == 0:
        return float("nan"), 0
    flat = a.ravel()
    return float(np.einsum('i,i->', flat, flat)) / n, n


def Sdq(surface: Surface, *, sums: SlopeSums | None = None, scheme: str = "forward") -> float:
    """Root mean square gradient, ISO 25178-2:2021 4.4.2 (dimensionless).

    Parameters
    ----------
    sums
        Precomputed :func:`slope_sums` (forward scheme only).
    scheme
        ``"forward"`` (default): two-point differences between valid neighbours.
        ``"central"``: ``(z[j+1] - z[j-1]) / 2dx`` at interior points whose two neighbours are valid.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(50) * 1e-6
    >>> s = Surface(np.tile(0.1 * x, (40, 1)), spacing=1e-6)
    >>> round(Sdq(s), 12)
    0.1
    """
    if scheme == "central":
        z = surface.heights
        if z.shape[0] < 3 or z.shape[1] < 3:
            raise ParameterError(f"{_source(surface)}: central slopes need at least 3 x 3 points, got {z.shape}")
        gx = (z[:, 2:] - z[:, :-2]) / (2 * surface.dx)
        gy = (z[2:, :] - z[:-2, :]) / (2 * surface.dy)
        mx, nx = _mean_square(gx, surface.has_invalid)
        my, ny = _mean_square(gy, surface.has_invalid)
    elif scheme == "forward":
        t = slope_sums(surface) if sums is None else sums
        nx, ny = t.count_x, t.count_y
        mx = t.sum_x2 / nx if nx else float("nan")
        my = t.sum_y2 / ny if ny else float("nan")
    else:
        raise ParameterError(f"Sdq: unknown difference scheme {scheme!r}; use 'forward' or 'central'")
    if nx == 0 or ny == 0:
        raise ParameterError(f"{_source(surface)}: Sdq needs two valid neighbours along both x and y; "
                             "the valid points are too scattered")
    return float(np.sqrt(mx + my))


def Sdr(surface: Surface, *, sums: SlopeSums | None = None) -> float:
    """Developed interfacial area ratio, ISO 25178-2:2021 4.4.3 and Annex D (eq. D.15), in per cent.

    ``Sdr = (developed area / projected area - 1) * 100`` over the grid cells whose four corners
    are valid; see the module notes for the triangulation.
    """
    t = slope_sums(surface) if sums is None else sums
    if t.cells == 0:
        raise ParameterError(f"{_source(surface)}: Sdr needs at least one grid cell with four valid "
                             "corners; there is none")
    return (t.area / t.cells - 1.0) * 100.0


@dataclass(frozen=True)
class SlopeDistribution:
    """Distribution of local slopes (ISO 25178-2:2021, 4.6 gradient density).

    Attributes
    ----------
    angle_edges, angle_density
        Histogram of the slope angle ``arctan(|grad z|)`` in radians (density: integrates to 1).
    direction_edges, direction_density
        Histogram of the steepest-ascent direction ``atan2(dz/dy, dz/dx)`` in radians over
        ``[-pi, pi)``, counter-clockwise from +x with +y along increasing row index.
    """

    angle_edges: np.ndarray
    angle_density: np.ndarray
    direction_edges: np.ndarray
    direction_density: np.ndarray


def slope_distribution(surface: Surface, bins: int = 90, *, grads: Gradients | None = None) -> SlopeDistribution:
    """Histogram of slope angles and directions at the grid-cell centres.

    The gradient at a cell centre is the mean of the forward differences on its two x edges
    and its two y edges; cells with an invalid corner are left out.
    """
    g = gradients(surface) if grads is None else grads
    gx = 0.5 * (g.dzdx[:-1, :] + g.dzdx[1:, :])
    gy = 0.5 * (g.dzdy[:, :-1] + g.dzdy[:, 1:])
    ok = np.isfinite(gx) & np.isfinite(gy)
    if not ok.any():
        raise ParameterError(f"{_source(surface)}: no grid cell with four valid corners for a slope distribution")
    gx, gy = gx[ok], gy[ok]
    angle = np.arctan(np.hypot(gx, gy))
    direction = np.arctan2(gy, gx)
    a_density, a_edges = np.histogram(angle, bins=bins, range=(0.0, np.pi / 2), density=True)
    d_density, d_edges = np.histogram(direction, bins=bins, range=(-np.pi, np.pi), density=True)
    return SlopeDistribution(a_edges, a_density, d_edges, d_density)
