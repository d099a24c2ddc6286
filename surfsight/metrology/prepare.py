"""Preparing a measurement before analysis: levelling, form removal, outliers, filling holes.

These are the F-operations (form removal) and data-cleaning steps that come before the S- and
L-filters of ISO 25178-2 / ISO 21920-2 (see ISO 25178-3, clause 5, for the order of operations).
Every function takes a :class:`~surfsight.surface.Surface` (or a :class:`~surfsight.surface.Profile`
where that makes sense), respects invalid (NaN) points and returns a new object; metadata
records the step.

Which operations need a complete grid (no NaN)? Nothing in this module or in
:mod:`surfsight.metrology.filters` does: fits and filters use valid points only. FFT-based
analysis does (power spectral density, autocorrelation, ``Sal``/``Str``/``Std``), and so do
gradient-based parameters near holes (``Sdq``, ``Sdr``) and watershed segmentation for feature
parameters; for those use :func:`fill_invalid` first and say so in the report.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage, optimize, sparse
from scipy.sparse import linalg as sparse_linalg

from ..errors import InputError, ParameterError
from ..surface import Profile, Surface, require_grid

__all__ = [
    "level_plane",
    "level_line",
    "level_polynomial",
    "remove_form",
    "remove_outliers",
    "fill_invalid",
    "polynomial_form",
]


def _coords(obj: Surface | Profile) -> tuple[np.ndarray, ...]:
    """Centred, scaled coordinates in [-1, 1] (y, x) or (x,) for well-conditioned fits."""
    if isinstance(obj, Profile):
        n = obj.shape[0]
        return (np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1),)
    ny, nx = obj.shape
    y = np.linspace(-1.0, 1.0, ny) if ny > 1 else np.zeros(1)
    x = np.linspace(-1.0, 1.0, nx) if nx > 1 else np.zeros(1)
    return y, x


def polynomial_form(obj: Surface | Profile, degree: int) -> np.ndarray:
    """Least-squares polynomial of total degree ``degree`` over the valid points, evaluated everywhere.

    The basis is the product of Legendre polynomials ``P_i(y) P_j(x)`` (``i + j <= degree``) in
    coordinates scaled to [-1, 1], which are nearly orthogonal on a regular grid, so high
    degrees stay well conditioned. Returns the fitted form (metres) on the whole grid.
    """
    obj = require_grid(obj, "polynomial levelling")
    if not isinstance(degree, (int, np.integer)) or degree < 0:
        raise InputError(f"polynomial degree must be a non-negative integer, got {degree!r}")
    valid = obj.valid
    z = obj.heights
    coords = _coords(obj)
    if isinstance(obj, Profile):
        terms = [(i,) for i in range(degree + 1)]
    else:
        terms = [(i, total - i) for total in range(degree + 1) for i in range(total + 1)]
    if valid.sum() < len(terms):
        raise ParameterError(f"polynomial levelling of degree {degree} needs at least {len(terms)} valid "
                             f"points, the input has {int(valid.sum())}")
    legendre = [np.polynomial.legendre.legvander(c, degree) for c in coords]  # (n_axis, degree+1)
    if isinstance(obj, Profile):
        design = legendre[0][valid]
        coef, *_ = np.linalg.lstsq(design, z[valid], rcond=None)
        return legendre[0] @ coef
    rows, cols = np.nonzero(valid)
    design = np.stack([legendre[0][rows, i] * legendre[1][cols, j] for i, j in terms], axis=1)
    coef, *_ = np.linalg.lstsq(design, z[valid], rcond=None)
    form = np.zeros(obj.shape)
    for (i, j), c in zip(terms, coef):
        form += c * np.outer(legendre[0][:, i], legendre[1][:, j])
    return form


def level_polynomial(surface: Surface | Profile, degree: int) -> Surface | Profile:
    """Subtract the least-squares polynomial of total degree ``degree`` (F-operation, ISO 25178-3).

    Parameters
    ----------
    surface
        Surface or profile; NaN points are ignored by the fit and stay NaN.
    degree
        Total degree (1 = plane / line, 2 = quadric, ...). Any degree is allowed; the Legendre
        basis in scaled coordinates keeps the fit conditioned.

    Returns
    -------
    Surface or Profile
        Residual heights; metadata ``form_removed`` records the degree.
    """
    obj = require_grid(surface, "level_polynomial")
    form = polynomial_form(obj, degree)
    return obj.with_heights(obj.heights - form, form_removed=f"least-squares polynomial, degree {degree}")


def level_plane(surface: Surface | Profile) -> Surface | Profile:
    """Subtract the least-squares plane over the valid points (ISO 25178-2 F-operation, degree 1).

    For a profile this is :func:`level_line`. The result has zero mean over the valid points.
    """
    obj = require_grid(surface, "level_plane")
    out = level_polynomial(obj, 1)
    out.metadata["form_removed"] = "least-squares line" if isinstance(obj, Profile) else "least-squares plane"
    return out


def level_line(profile: Profile) -> Profile:
    """Subtract the least-squares straight line of a profile (ISO 21920-2, form removal)."""
    if not isinstance(profile, Profile):
        raise InputError(f"level_line needs a Profile, got {type(profile).__name__}")
    return level_plane(profile)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# sphere and cylinder
# ----------------------------------------------------------------------------------------------
def _cap(r2: np.ndarray, radius: float, sign: float) -> np.ndarray:
    # height of a sphere/cylinder above its centre, continued smoothly outside the radius
    return sign * np.sqrt(np.maximum(radius * radius - r2, 0.0))


def remove_form(surface: Surface | Profile, form: Literal["sphere", "cylinder", "circle"] = "sphere", *,
                axis: Literal["x", "y"] = "y") -> Surface | Profile:
    """Remove a least-squares sphere or cylinder (or circle, for a profile) and return the residual.

    The fit minimises the vertical residuals ``z - f(x, y)`` over the valid points
    (Levenberg-Marquardt, started from a quadric fit), with

    * sphere: ``f = z0 + s sqrt(R^2 - (x - x0)^2 - (y - y0)^2)``,
    * cylinder with its axis along ``axis``: ``f = z0 + t u + s sqrt(R^2 - (v - v0)^2)`` where ``u``
      is the coordinate along the axis (``t`` a slope of the axis) and ``v`` the one across,
    * circle (profile): ``f = z0 + s sqrt(R^2 - (x - x0)^2)``,

    ``s = +1`` for a convex cap, ``-1`` for a concave bowl (chosen from the quadric). Vertical
    residuals are what a height map measures; for caps much flatter than the radius they equal
    the normal residuals of ISO 25178-3 form removal to first order.

    Parameters
    ----------
    surface
        Surface (sphere, cylinder) or profile (circle; "sphere" and "cylinder" mean the same).
    form
        ``"sphere"``, ``"cylinder"`` or ``"circle"``.
    axis
        For a cylinder, the in-plane direction of its axis: ``"y"`` (default; curvature along x)
        or ``"x"``.

    Returns
    -------
    Surface or Profile
        The residual; metadata ``form_removed`` and ``form_fit`` (radius, centre, in metres).
    """
    obj = require_grid(surface, "remove_form")
    if form not in ("sphere", "cylinder", "circle"):
        raise InputError(f"remove_form: form must be 'sphere', 'cylinder' or 'circle', got {form!r}")
    if axis not in ("x", "y"):
        raise InputError(f"remove_form: axis must be 'x' or 'y', got {axis!r}")
    valid = obj.valid
    if valid.sum() < 5:
        raise ParameterError(f"remove_form: need at least 5 valid points, got {int(valid.sum())}")
    z = obj.heights
    if isinstance(obj, Profile):
        x = obj.x
        fit = _fit_circle(x[valid], z[valid])
        model = _circle_model(x, fit)
        info = {"radius": fit[2], "centre_x": fit[0], "centre_z": fit[1]}
        name = "least-squares circle"
    elif form == "sphere" or form == "circle":
        yy, xx = np.meshgrid(obj.y, obj.x, indexing="ij")
        fit = _fit_sphere(xx[valid], yy[valid], z[valid])
        model = _sphere_model(xx, yy, fit)
        info = {"radius": fit[3], "centre_x": fit[0], "centre_y": fit[1], "centre_z": fit[2]}
        name = "least-squares sphere"
    else:
        yy, xx = np.meshgrid(obj.y, obj.x, indexing="ij")
        along, across = (yy, xx) if axis == "y" else (xx, yy)
        fit = _fit_circle(across[valid], z[valid], along[valid])
        model = _circle_model(across, fit, along)
        info = {"radius": fit[2], "axis_position": fit[0], "centre_z": fit[1], "axis_slope": fit[3]}
        name = f"least-squares cylinder (axis along {axis})"
    info = {key: float(value) for key, value in info.items()}
    return obj.with_heights(z - model, form_removed=name, form_fit=info)


def _quadric_start(v: np.ndarray, z: np.ndarray) -> tuple[float, float, float, float]:
    """Start values (centre, apex height, radius, sign) from a parabola fit along ``v``."""
    scale = max(float(np.ptp(v)), 1e-300)
    t = (v - v.mean()) / scale
    a2, a1, a0 = np.polyfit(t, z, 2)
    if abs(a2) < 1e-300:
        raise ParameterError("remove_form: the data show no curvature to fit a sphere or cylinder to")
    curvature = 2.0 * a2 / scale**2  # d2z/dv2 in 1/m
    sign = -1.0 if curvature > 0 else 1.0  # convex cap: z = z0 + sqrt(...), curvature < 0
    radius = 1.0 / abs(curvature)
    t0 = -a1 / (2 * a2)
    centre = v.mean() + t0 * scale
    apex = a0 + a1 * t0 + a2 * t0 * t0
    return centre, apex, radius, sign


def _circle_model(v: np.ndarray, fit: np.ndarray, along: np.ndarray | None = None) -> np.ndarray:
    v0, z0, radius, slope, sign = fit
    out = z0 + _cap((v - v0) ** 2, radius, sign)
    if along is not None:
        out = out + slope * along
    return out


def _fit_circle(v: np.ndarray, z: np.ndarray, along: np.ndarray | None = None) -> np.ndarray:
    centre, apex, radius, sign = _quadric_start(v, z)
    s = max(float(np.ptp(v)), 1e-300)

    def residual(p: np.ndarray) -> np.ndarray:
        v0, z0, r, slope = p[0] * s, p[1] * s, p[2] * s, p[3]
        model = z0 + _cap((v - v0) ** 2, r, sign)
        if along is not None:
            model = model + slope * along
        return (model - z) / s

    p0 = np.array([centre / s, (apex - sign * radius) / s, radius / s, 0.0])
    if along is None:
        res = optimize.least_squares(lambda p: residual(np.append(p, 0.0)), p0[:3], method="lm")
        p = np.append(res.x, 0.0)
    else:
        res = optimize.least_squares(residual, p0, method="lm")
        p = res.x
    return np.array([p[0] * s, p[1] * s, abs(p[2] * s), p[3], sign])


def _sphere_model(x: np.ndarray, y: np.ndarray, fit: np.ndarray) -> np.ndarray:
    x0, y0, z0, radius, sign = fit
    return z0 + _cap((x - x0) ** 2 + (y - y0) ** 2, radius, sign)


def _fit_sphere(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    s = max(float(np.ptp(x)), float(np.ptp(y)), 1e-300)
    xm, ym = x.mean(), y.mean()
    u, w = (x - xm) / s, (y - ym) / s
    # paraboloid z = a + b u + c w + d (u^2 + w^2) for the start values
    design = np.stack([np.ones_like(u), u, w, u * u + w * w], axis=1)
    a, b, c, d = np.linalg.lstsq(design, z, rcond=None)[0]
    if abs(d) < 1e-300:
        raise ParameterError("remove_form: the data show no curvature to fit a sphere to")
    curvature = 2.0 * d / s**2
    sign = -1.0 if curvature > 0 else 1.0
    radius = 1.0 / abs(curvature)
    u0, w0 = -b / (2 * d), -c / (2 * d)
    apex = a + b * u0 + c * w0 + d * (u0 * u0 + w0 * w0)

    def residual(p: np.ndarray) -> np.ndarray:
        x0, y0, z0, r = p * s
        return (z0 + _cap((x - x0) ** 2 + (y - y0) ** 2, r, sign) - z) / s

    p0 = np.array([xm + u0 * s, ym + w0 * s, apex - sign * radius, radius]) / s
    res = optimize.least_squares(residual, p0, method="lm")
    x0, y0, z0, r = res.x * s
    return np.array([x0, y0, z0, abs(r), sign])


# ----------------------------------------------------------------------------------------------
# outliers and holes
# ----------------------------------------------------------------------------------------------
def _nearest_filled(z: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(z)
    if valid.all():
        return z
    index = ndimage.distance_transform_edt(~valid, return_distances=False, return_indices=True)
    return z[tuple(index)]


def remove_outliers(surface: Surface | Profile, *, size: int = 5, k: float = 6.0) -> Surface | Profile:
    """Mark spikes as invalid: points far from their local median become NaN.

    The residual ``r = z - median_filter(z, size)`` is computed at every valid point (invalid
    points are temporarily given their nearest valid value so they do not bias the median).
    The robust standard deviation of ``r`` is ``sigma = 1.4826 * median(|r - median(r)|)``
    (the MAD, consistent with the normal distribution); points with ``|r - median(r)| > k sigma``
    are set to NaN. This removes isolated spikes and drop-outs (optical "batwings", dust) while
    leaving steps and slopes alone, since a median follows both. It is a data-cleaning step
    (ISO 25178-3, clause 5, "outlier removal"); report how many points were removed
    (``metadata["outliers_removed"]``).

    Parameters
    ----------
    surface
        Surface or profile.
    size
        Width of the median window in samples (odd, >= 3). It must be more than twice the
        widest spike to remove.
    k
        Threshold in robust standard deviations (6 by default: about 2e-9 false alarms per point
        for Gaussian noise).
    """
    obj = require_grid(surface, "remove_outliers")
    if not isinstance(size, (int, np.integer)) or size < 3:
        raise InputError(f"remove_outliers: size must be an integer >= 3 samples, got {size!r}")
    if not (k > 0):
        raise InputError(f"remove_outliers: k must be positive, got {k!r}")
    valid = obj.valid
    if valid.sum() < 3:
        raise ParameterError(f"remove_outliers: need at least 3 valid points, got {int(valid.sum())}")
    filled = _nearest_filled(obj.heights)
    med = ndimage.median_filter(filled, size=size, mode="nearest")
    r = (obj.heights - med)[valid]
    centre = float(np.median(r))
    sigma = 1.4826 * float(np.median(np.abs(r - centre)))
    out = obj.heights.copy()
    if sigma > 0:
        bad = np.zeros(obj.shape, dtype=bool)
        bad[valid] = np.abs(r - centre) > k * sigma
    else:
        # more than half the residuals are exactly the median: anything different is an outlier
        bad = np.zeros(obj.shape, dtype=bool)
        bad[valid] = np.abs(r - centre) > 0
        if bad.sum() > 0.5 * valid.sum():
            bad[:] = False
    out[bad] = np.nan
    return obj.with_heights(out, outliers_removed=int(bad.sum()),
                            outlier_rule=f"|z - median_{size}(z)| > {k} x 1.4826 MAD")


def fill_invalid(surface: Surface | Profile, method: Literal["harmonic", "nearest"] = "harmonic") -> Surface | Profile:
    """Fill invalid (NaN) points, for operations that need a complete grid.

    Needed by FFT-based analysis (PSD, autocorrelation and the parameters built on them:
    ``Sal``, ``Str``, ``Std``), gradient parameters evaluated across holes (``Sdq``, ``Sdr``) and
    watershed segmentation; not needed by the filters or fits of this package, which weight
    valid points only.

    Parameters
    ----------
    surface
        Surface or profile with at least one valid point.
    method
        ``"harmonic"`` (default): each hole is filled with the solution of Laplace's equation
        whose boundary values are the surrounding valid points (the smoothest surface through
        them; for a profile this is linear interpolation, constant beyond the ends).
        ``"nearest"``: each invalid point takes the value of the nearest valid point.

    Returns
    -------
    Surface or Profile
        Complete heights; metadata ``filled_points`` and ``fill_method``; a layer ``"filled"``
        (bool) marks the points that were invented.
    """
    obj = require_grid(surface, "fill_invalid")
    if method not in ("harmonic", "nearest"):
        raise InputError(f"fill_invalid: method must be 'harmonic' or 'nearest', got {method!r}")
    valid = obj.valid
    if not valid.any():
        raise ParameterError("fill_invalid: the input has no valid point to fill from")
    z = obj.heights
    if valid.all():
        out = z.copy()
    elif method == "nearest":
        out = _nearest_filled(z)
    elif isinstance(obj, Profile):
        idx = np.nonzero(valid)[0]
        out = np.interp(np.arange(z.size), idx, z[idx])
    else:
        out = _harmonic_fill(z, valid)
    result = obj.with_heights(out, filled_points=int((~valid).sum()), fill_method=method)
    result.layers["filled"] = ~valid
    return result


def _harmonic_fill(z: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Solve the 5-point discrete Laplace equation on the invalid points (Dirichlet at valid ones,
    natural / Neumann conditions at the grid edge)."""
    ny, nx = z.shape
    holes = np.flatnonzero(~valid.ravel())
    number = -np.ones(ny * nx, dtype=np.int64)
    number[holes] = np.arange(holes.size)
    r, c = np.divmod(holes, nx)
    rows, cols, vals = [], [], []
    rhs = np.zeros(holes.size)
    degree = np.zeros(holes.size)
    zf = np.where(valid, z, 0.0).ravel()
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        degree += inside
        nb = np.where(inside, rr * nx + cc, 0)
        nb_hole = inside & (number[nb] >= 0)
        nb_valid = inside & (number[nb] < 0)
        rows.append(np.nonzero(nb_hole)[0])
        cols.append(number[nb[nb_hole]])
        vals.append(-np.ones(int(nb_hole.sum())))
        np.add.at(rhs, np.nonzero(nb_valid)[0], zf[nb[nb_valid]])
    rows.append(np.arange(holes.size))
    cols.append(np.arange(holes.size))
    vals.append(degree)
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(holes.size, holes.size))
    # A hole region with no valid neighbour anywhere would make the system singular; the caller
    # guarantees at least one valid point, and every hole region of a grid touches one (the grid
    # is connected), so the system is non-singular.
    solution = sparse_linalg.spsolve(matrix.tocsc(), rhs)
    out = z.copy().ravel()
    out[holes] = solution
    return out.reshape(z.shape)
