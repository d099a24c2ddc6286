"""ISO 16610 filters for profiles and surfaces: Gaussian (linear) and robust Gaussian regression.

What is here
------------
* :func:`gaussian_mean_surface`, :func:`s_filter`, :func:`l_filter` - the areal Gaussian filter of
  ISO 16610-61 with weighting function

  .. math:: s(x, y) = \\frac{1}{\\alpha^2 \\lambda_c^2}
            \\exp\\left(-\\pi \\frac{x^2 + y^2}{(\\alpha \\lambda_c)^2}\\right),
            \\qquad \\alpha = \\sqrt{\\ln 2 / \\pi} \\approx 0.4697,

  whose amplitude transmission is exactly 50 % at the nesting index (cut-off) wavelength.
* :func:`profile_gaussian`, :func:`profile_filters` - the profile Gaussian filter of ISO 16610-21
  (same weighting function in one dimension) and the split of a profile into primary, waviness and
  roughness profiles (ISO 21920-2 / ISO 3274 nomenclature: lambda_s, lambda_c, lambda_f).
* :func:`gaussian_regression_profile`, :func:`robust_gaussian_profile`,
  :func:`robust_gaussian_filter` - Gaussian regression filters of ISO 16610-28 (end effects),
  ISO 16610-31 (robust profile filter) and ISO 16610-71 (robust areal filter), with Tukey's
  biweight and polynomial order 0, 1 or 2.

End effects (ISO 16610-28)
--------------------------
The convolution is never silently periodic. Three treatments are offered through ``ends``:

``"renormalise"`` (default)
    Normalised convolution: at every point the weights of the valid (measured, non-NaN) points
    inside the truncated kernel are summed and the weighted sum is divided by that total. This is
    the zero-order Gaussian regression filter of ISO 16610-28; it keeps the mean line unbiased
    near the ends for a flat profile and treats NaN points (non-measured) the same way as the
    ends. A point with no valid neighbour inside the kernel comes out NaN.
``"nearest"``
    The profile is extended beyond each end by its end value (what some instruments do; the
    Tokyo Seimitsu Surfcom files in the test data are reproduced best this way). Needs data
    without NaN.
``"periodic"``
    The data are treated as one period of a periodic signal. Only correct for truly periodic
    data (e.g. simulated textures); never the default.

The regression filters use the truncated kernel at the ends with a local polynomial fit
(order 2 by default), which is the ISO 16610-28 recommendation for profiles with form.

Implementation
--------------
The Gaussian kernel is sampled exactly (``s(x_j) dx``) and truncated at ``|x| <= truncate *
cutoff`` (default ``truncate = 1``, where the weight is below 7e-7 of the centre). The 2-D
filter is separable, ``s(x, y) = s(x) s(y)``, so it is applied as two 1-D passes. Each pass is a
linear (zero-padded) correlation done directly for short kernels and by FFT for long ones, so a
2048 x 2048 surface is filtered in well under a second on one core whatever the cut-off.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from ..errors import InputError, ParameterError
from ..surface import Profile, Surface, require_grid

__all__ = [
    "ALPHA",
    "GAMMA_REGRESSION2",
    "gaussian_weights",
    "gaussian_mean_surface",
    "s_filter",
    "l_filter",
    "profile_gaussian",
    "profile_filters",
    "gaussian_regression_profile",
    "robust_gaussian_profile",
    "robust_gaussian_filter",
    "gaussian_transmission",
]

#: ISO 16610-21 / -61 constant: sqrt(ln 2 / pi), gives 50 % transmission at the cut-off.
ALPHA = math.sqrt(math.log(2.0) / math.pi)


def _gamma_regression2() -> float:
    # Second-order Gaussian regression (ISO 16610-31): the equivalent kernel of a local quadratic
    # fit with Gaussian weights has transmission H = (1 + q) exp(-q), q = pi (gamma lc / lambda)^2.
    # H = 1/2 at lambda = lc gives q* = -1 - W_{-1}(-1/(2e)) and gamma = sqrt(q*/pi) ~ 0.7309.
    from scipy.special import lambertw

    q = -1.0 - lambertw(-0.5 / math.e, -1).real
    return math.sqrt(q / math.pi)


#: Constant of the second-order Gaussian regression filter (ISO 16610-31), about 0.7309.
GAMMA_REGRESSION2 = _gamma_regression2()

Ends = Literal["renormalise", "nearest", "periodic"]
_ENDS = ("renormalise", "nearest", "periodic")
# Above this kernel length (samples) a pass is done by FFT rather than directly.
_DIRECT_MAX = 64


# ----------------------------------------------------------------------------------------------
# kernels and 1-D passes
# ----------------------------------------------------------------------------------------------
def gaussian_weights(cutoff: float, dx: float, n: int | None = None, truncate: float = 1.0,
                     constant: float = ALPHA) -> np.ndarray:
    """Sampled ISO 16610-21 Gaussian weighting function ``s(x_j) dx`` (odd length, centred).

    Parameters
    ----------
    cutoff
        Cut-off wavelength (nesting index) lambda_c in metres.
    dx
        Sampling interval in metres.
    n
        Length of the data; the kernel is never made longer than ``2 n - 1`` samples (weights
        further out never meet a data point).
    truncate
        Half-width of the kernel in units of the cut-off (ISO 16610-21 leaves the truncation to
        the implementation; 1.0 keeps the truncation error below 1e-6). For the regression
        constant gamma the half-width is stretched by gamma / alpha.
    constant
        ``alpha`` (0.4697, ISO 16610-21) or :data:`GAMMA_REGRESSION2` for second-order regression.

    Returns
    -------
    numpy.ndarray
        The weights ``exp(-pi (x / (constant * cutoff))^2) * dx / (constant * cutoff)``; they sum
        to 1 up to discretisation error.
    """
    _check_positive(cutoff, "cutoff")
    _check_positive(dx, "dx")
    # the same relative truncation whatever the constant (alpha or gamma)
    half = int(math.ceil(truncate * cutoff * constant / ALPHA / dx))
    if n is not None:
        half = min(half, max(n - 1, 0))
    x = np.arange(-half, half + 1) * dx
    width = constant * cutoff
    return np.exp(-math.pi * (x / width) ** 2) * dx / width


def _check_positive(value: float, name: str) -> None:
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive length in metres, got {value!r}")


def _correlate(a: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Zero-padded (linear) correlation ``out[k] = sum_j kernel[j] a[k + j - h]`` along ``axis``.

    Short kernels are applied directly; long ones by FFT over ``n + h`` points (the least length
    at which the circular correlation has no wrap-around inside the output).
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.size <= _DIRECT_MAX:
        return ndimage.correlate1d(a, kernel, axis=axis, mode="constant", cval=0.0)
    n = a.shape[axis]
    half = kernel.size // 2
    length = sp_fft.next_fast_len(n + half, real=True)
    circular = np.zeros(length)
    circular[: half + 1] = kernel[half:]
    if half:
        circular[length - half:] = kernel[:half]
    spectrum = np.conj(sp_fft.rfft(circular))
    shape = [1] * a.ndim
    shape[axis] = spectrum.size
    out = sp_fft.irfft(sp_fft.rfft(a, length, axis=axis) * spectrum.reshape(shape), length, axis=axis)
    index = [slice(None)] * a.ndim
    index[axis] = slice(0, n)
    return out[tuple(index)]


def _pass(a: np.ndarray, kernel: np.ndarray, axis: int, ends: str) -> np.ndarray:
    """One separable pass with end treatment ``nearest`` or ``periodic`` (kernel sums to 1)."""
    half = kernel.size // 2
    pad = [(0, 0)] * a.ndim
    pad[axis] = (half, half)
    padded = np.pad(a, pad, mode="edge" if ends == "nearest" else "wrap")
    out = _correlate(padded, kernel, axis)
    index = [slice(None)] * a.ndim
    index[axis] = slice(half, half + a.shape[axis])
    return out[tuple(index)]


def _smooth(z: np.ndarray, spacing: tuple[float, ...], cutoff: tuple[float, ...], ends: str,
            truncate: float) -> np.ndarray:
    """Gaussian mean of ``z`` (1-D or 2-D array, NaN = invalid) along every axis."""
    if ends not in _ENDS:
        raise InputError(f"ends must be one of {_ENDS}, got {ends!r}")
    kernels = [gaussian_weights(c, d, n, truncate) for c, d, n in zip(cutoff, spacing, z.shape)]
    valid = ~np.isnan(z)
    if ends != "renormalise":
        if not valid.all():
            raise InputError(f"ends={ends!r} needs data without invalid (NaN) points; "
                             "use ends='renormalise' or fill_invalid() first")
        out = z
        for axis, kernel in enumerate(kernels):
            out = _pass(out, kernel / kernel.sum(), axis, ends)
        return out
    num = np.where(valid, z, 0.0)
    for axis, kernel in enumerate(kernels):
        num = _correlate(num, kernel, axis)
    if valid.all():
        # The weight total is separable too: a product of 1-D totals.
        den = np.ones(())
        for axis, kernel in enumerate(kernels):
            ones = np.ones(z.shape[axis])
            shape = [1] * z.ndim
            shape[axis] = -1
            den = den * _correlate(ones, kernel, 0).reshape(shape)
    else:
        den = valid.astype(np.float64)
        for axis, kernel in enumerate(kernels):
            den = _correlate(den, kernel, axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[den < 1e-9] = np.nan
    return out


def _cutoffs(cutoff: float | tuple[float, float], what: str) -> tuple[float, float]:
    if np.ndim(cutoff) == 0:
        cutoff = (float(cutoff), float(cutoff))  # type: ignore[arg-type]
    if len(cutoff) != 2:  # type: ignore[arg-type]
        raise InputError(f"{what}: cutoff must be a length or (cutoff_y, cutoff_x) in metres, got {cutoff!r}")
    cy, cx = (float(c) for c in cutoff)  # type: ignore[union-attr]
    _check_positive(cy, f"{what}: cutoff")
    _check_positive(cx, f"{what}: cutoff")
    return cy, cx


# ----------------------------------------------------------------------------------------------
# areal Gaussian filter, ISO 16610-61
# ----------------------------------------------------------------------------------------------
def gaussian_mean_surface(surface: Surface | Profile, cutoff: float | tuple[float, float], *,
                          ends: Ends = "renormalise", truncate: float = 1.0,
                          keep_invalid: bool = True) -> Surface | Profile:
    """Gaussian mean (reference) surface of ISO 16610-61 with nesting index ``cutoff``.

    Parameters
    ----------
    surface
        A :class:`~surfsight.surface.Surface` (a :class:`~surfsight.surface.Profile` is passed on
        to :func:`profile_gaussian`). NaN points are left out of every weighted mean.
    cutoff
        Nesting index (cut-off wavelength) in metres; ``(cutoff_y, cutoff_x)`` for different values
        along y and x. The amplitude transmission is ``exp(-pi (alpha cutoff / lambda)^2)``,
        50 % at ``lambda = cutoff`` (ISO 16610-61, clause 4 / ISO 16610-21, clause 4).
    ends
        End and hole treatment (ISO 16610-28), see the module notes; ``"renormalise"`` by default.
    truncate
        Kernel half-width in units of the cut-off.
    keep_invalid
        If True (default) points that were NaN in the input stay NaN; if False they get the
        weighted mean of their valid neighbours (a smooth interpolation).

    Returns
    -------
    Surface or Profile
        The mean surface, same grid, metadata ``filter`` recording what was done.
    """
    obj = require_grid(surface, "gaussian_mean_surface")
    if isinstance(obj, Profile):
        return profile_gaussian(obj, float(np.max(cutoff)) if np.ndim(cutoff) else float(cutoff),
                                ends=ends, truncate=truncate, keep_invalid=keep_invalid)
    cy, cx = _cutoffs(cutoff, "gaussian_mean_surface")
    mean = _smooth(obj.heights, (obj.dy, obj.dx), (cy, cx), ends, truncate)
    if keep_invalid:
        mean[~obj.valid] = np.nan
    return obj.with_heights(mean, filter=f"ISO 16610-61 Gaussian mean surface, cutoff=({cy:.6g}, {cx:.6g}) m, ends={ends}")


def s_filter(surface: Surface | Profile, cutoff: float | tuple[float, float], *, ends: Ends = "renormalise",
             truncate: float = 1.0) -> Surface | Profile:
    """S-filter (ISO 25178-2 / ISO 16610-61): remove lateral scales shorter than ``cutoff``.

    This is the Gaussian mean surface itself (a low-pass): the result is the primary surface when
    ``cutoff`` is the S-filter nesting index (e.g. 2.5 um). Invalid points stay invalid.
    """
    out = gaussian_mean_surface(surface, cutoff, ends=ends, truncate=truncate)
    out.metadata["filter"] = f"S-filter (Gaussian, ISO 16610-61/21), nesting index {cutoff!r} m, ends={ends}"
    return out


def l_filter(surface: Surface | Profile, cutoff: float | tuple[float, float], *, ends: Ends = "renormalise",
             truncate: float = 1.0) -> Surface | Profile:
    """L-filter (ISO 25178-2 / ISO 16610-61): remove lateral scales longer than ``cutoff``.

    Returns the surface minus its Gaussian mean surface (a high-pass): with the L-filter nesting
    index (e.g. 0.8 mm) this gives the scale-limited (roughness) surface. Invalid points stay NaN.
    """
    obj = require_grid(surface, "l_filter")
    mean = gaussian_mean_surface(obj, cutoff, ends=ends, truncate=truncate)
    return obj.with_heights(obj.heights - mean.heights,
                            filter=f"L-filter (Gaussian, ISO 16610-61/21), nesting index {cutoff!r} m, ends={ends}")


def gaussian_transmission(wavelength: float | np.ndarray, cutoff: float) -> np.ndarray:
    """Amplitude transmission of the Gaussian mean line, ``exp(-pi (alpha cutoff / wavelength)^2)``.

    ISO 16610-21, clause 4.2; the roughness (high-pass) transmission is ``1 -`` this value.
    """
    wavelength = np.asarray(wavelength, dtype=np.float64)
    return np.exp(-math.pi * (ALPHA * cutoff / wavelength) ** 2)


# ----------------------------------------------------------------------------------------------
# profile Gaussian filter, ISO 16610-21
# ----------------------------------------------------------------------------------------------
def profile_gaussian(profile: Profile, cutoff: float, *, ends: Ends = "renormalise", truncate: float = 1.0,
                     keep_invalid: bool = True) -> Profile:
    """Gaussian mean line of a profile (ISO 16610-21), with ISO 16610-28 end treatment.

    Parameters
    ----------
    profile
        The profile; NaN points are left out of each weighted mean.
    cutoff
        Cut-off wavelength lambda_c (or lambda_s, lambda_f) in metres.
    ends, truncate, keep_invalid
        As for :func:`gaussian_mean_surface`.

    Returns
    -------
    Profile
        The mean line (low-pass). ``profile - mean`` is the high-pass part.
    """
    if not isinstance(profile, Profile):
        raise InputError(f"profile_gaussian needs a Profile, got {type(profile).__name__}")
    _check_positive(float(cutoff), "profile_gaussian: cutoff")
    mean = _smooth(profile.heights, (profile.dx,), (float(cutoff),), ends, truncate)
    if keep_invalid:
        mean[~profile.valid] = np.nan
    return profile.with_heights(mean, filter=f"ISO 16610-21 Gaussian mean line, cutoff={cutoff:.6g} m, ends={ends}")


def profile_filters(profile: Profile, lambda_s: float | None, lambda_c: float, lambda_f: float | None = None, *,
                    ends: Ends = "renormalise") -> dict[str, Profile]:
    """Split a profile into primary, waviness and roughness profiles (ISO 21920-2, ISO 3274).

    Parameters
    ----------
    profile
        The total (traced) profile, form already removed (see
        :func:`surfsight.metrology.prepare.level_line`). NaN allowed.
    lambda_s
        Short-wave cut-off of the primary profile in metres (None: no S-filter).
    lambda_c
        Cut-off between roughness and waviness in metres.
    lambda_f
        Optional long-wave cut-off of the waviness profile in metres.
    ends
        End treatment (ISO 16610-28).

    Returns
    -------
    dict
        ``{"primary": P, "waviness": W, "roughness": R}`` with ``P = S-filtered profile``,
        ``W = mean line of P at lambda_c`` (minus its own mean line at lambda_f when given) and
        ``R = P - mean line of P at lambda_c``.
    """
    if lambda_s is not None and lambda_f is not None and not lambda_s < lambda_c < lambda_f:
        raise InputError(f"profile_filters: need lambda_s < lambda_c < lambda_f, got {lambda_s}, {lambda_c}, {lambda_f}")
    if lambda_s is not None and lambda_s >= lambda_c:
        raise InputError(f"profile_filters: lambda_s ({lambda_s} m) must be shorter than lambda_c ({lambda_c} m)")
    primary = profile if lambda_s is None else profile_gaussian(profile, lambda_s, ends=ends)
    primary = primary.with_heights(primary.heights, profile_kind="primary", lambda_s=lambda_s)
    mean_c = profile_gaussian(primary, lambda_c, ends=ends)
    roughness = primary.with_heights(primary.heights - mean_c.heights, profile_kind="roughness",
                                     lambda_s=lambda_s, lambda_c=lambda_c)
    wav = mean_c.heights
    if lambda_f is not None:
        wav = wav - profile_gaussian(mean_c, lambda_f, ends=ends).heights
    waviness = primary.with_heights(wav, profile_kind="waviness", lambda_c=lambda_c, lambda_f=lambda_f)
    return {"primary": primary, "waviness": waviness, "roughness": roughness}


# ----------------------------------------------------------------------------------------------
# Gaussian regression filters, ISO 16610-28 / -31 / -71
# ----------------------------------------------------------------------------------------------
def _constant_for(order: int) -> float:
    if order not in (0, 1, 2):
        raise InputError(f"regression order must be 0, 1 or 2, got {order!r}")
    return GAMMA_REGRESSION2 if order == 2 else ALPHA


def _regression(z: np.ndarray, delta: np.ndarray, spacing: tuple[float, ...], cutoff: tuple[float, ...],
                order: int, truncate: float) -> np.ndarray:
    """Weighted local polynomial regression with Gaussian weights; value of the fit at each point.

    ``delta`` are extra per-point weights (0 for invalid points, Tukey weights when robust).
    The sums over the kernel are correlations with ``s(u) u^p``, computed separably.
    """
    constant = _constant_for(order)
    ndim = z.ndim
    base = [gaussian_weights(c, d, n, truncate, constant) for c, d, n in zip(cutoff, spacing, z.shape)]
    # u / cutoff along each axis, to keep the normal equations well scaled
    us = [(np.arange(k.size) - k.size // 2) * d / c for k, d, c in zip(base, spacing, cutoff)]
    if ndim == 1:
        terms = [(p,) for p in range(order + 1)]
    else:
        terms = [(a, b) for total in range(order + 1) for b in range(total + 1) for a in [total - b]]
    # terms are exponents per axis: (py,) or (py, px)

    def corr(a: np.ndarray, powers: tuple[int, ...]) -> np.ndarray:
        out = a
        for axis, p in enumerate(powers):
            out = _correlate(out, base[axis] * us[axis] ** p, axis)
        return out

    dz = np.where(delta > 0, np.nan_to_num(z) * delta, 0.0)
    keys = sorted({tuple(a + b for a, b in zip(ti, tj)) for ti in terms for tj in terms})
    moments = {key: corr(delta, key).ravel() for key in keys}
    rhs = np.stack([corr(dz, t).ravel() for t in terms], axis=-1)
    m0 = moments[(0,) * ndim]
    scale = float(np.max(m0)) if m0.size else 1.0
    ok = m0 > 1e-9 * max(scale, 1e-300)
    out = np.full(m0.shape, np.nan)
    if len(terms) == 1:
        out[ok] = rhs[ok, 0] / m0[ok]
        return out.reshape(z.shape)
    # Solve the small normal equations point by point, in chunks to bound memory. Where the local
    # system is not well determined (fewer valid samples in the window than coefficients) the
    # order-0 (normalised) value is used.
    index = [[tuple(a + b for a, b in zip(ti, tj)) for tj in terms] for ti in terms]
    chunk = 1 << 16
    for start in range(0, m0.size, chunk):
        sl = slice(start, min(start + chunk, m0.size))
        normal = np.stack([np.stack([moments[k][sl] for k in row], axis=-1) for row in index], axis=-2)
        b = rhs[sl]
        okc = ok[sl]
        with np.errstate(all="ignore"):
            det = np.linalg.det(normal)
            ref = np.prod(np.diagonal(normal, axis1=-2, axis2=-1), axis=-1)
            solvable = okc & (np.abs(det) > 1e-10 * np.abs(ref))
            res = np.full(b.shape[0], np.nan)
            if solvable.any():
                res[solvable] = np.linalg.solve(normal[solvable], b[solvable][..., None])[:, 0, 0]
            fallback = okc & ~solvable
            res[fallback] = b[fallback, 0] / m0[sl][fallback]
        out[sl] = res
    return out.reshape(z.shape)


def _tukey(residual: np.ndarray, c: float) -> np.ndarray:
    """Tukey biweight ``(1 - (r/c)^2)^2`` for ``|r| < c``, else 0 (ISO 16610-31, clause 5)."""
    w = np.zeros_like(residual)
    inside = np.abs(residual) < c
    w[inside] = (1.0 - (residual[inside] / c) ** 2) ** 2
    return w


def _robust(z: np.ndarray, spacing: tuple[float, ...], cutoff: tuple[float, ...], order: int, truncate: float,
            c_factor: float, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    valid = ~np.isnan(z)
    if valid.sum() <= order + 1:
        raise ParameterError(f"robust Gaussian filter: only {int(valid.sum())} valid points")
    delta = valid.astype(np.float64)
    mean = _regression(z, delta, spacing, cutoff, order, truncate)
    iterations = 0
    for iterations in range(1, max_iter + 1):
        residual = np.where(valid, z - mean, 0.0)
        c = c_factor * float(np.median(np.abs(residual[valid])))
        if c <= 0:
            break
        delta = np.where(valid, _tukey(residual, c), 0.0)
        new = _regression(z, delta, spacing, cutoff, order, truncate)
        change = np.nanmax(np.abs(new - mean)) if np.isfinite(new).any() else 0.0
        mean = new
        if change <= tol * c / c_factor:
            break
    return mean, iterations


def gaussian_regression_profile(profile: Profile, cutoff: float, *, order: int = 2, truncate: float = 1.0,
                                keep_invalid: bool = True) -> Profile:
    """Gaussian regression mean line (ISO 16610-28, annex / ISO 16610-31 without robustness).

    A weighted least-squares polynomial of degree ``order`` is fitted around each point with the
    Gaussian weights of the filter; the mean line is its value at that point. Near the ends the
    window is one-sided and the polynomial follows the form, which avoids the end distortion of
    the plain Gaussian filter on curved or tilted profiles. For ``order = 2`` the constant
    ``gamma = 0.7309`` replaces ``alpha`` so that transmission stays 50 % at the cut-off.
    """
    if not isinstance(profile, Profile):
        raise InputError(f"gaussian_regression_profile needs a Profile, got {type(profile).__name__}")
    _check_positive(float(cutoff), "gaussian_regression_profile: cutoff")
    delta = profile.valid.astype(np.float64)
    mean = _regression(profile.heights, delta, (profile.dx,), (float(cutoff),), order, truncate)
    if keep_invalid:
        mean[~profile.valid] = np.nan
    return profile.with_heights(mean, filter=f"Gaussian regression (order {order}), cutoff={cutoff:.6g} m")


def robust_gaussian_profile(profile: Profile, cutoff: float, *, order: int = 2, c_factor: float = 4.4478,
                            max_iter: int = 20, tol: float = 1e-4, truncate: float = 1.0,
                            keep_invalid: bool = True) -> Profile:
    """Robust Gaussian regression mean line, ISO 16610-31.

    Iteratively re-weighted local polynomial regression: after each pass the residuals ``r``
    from the current mean line give Tukey biweights ``(1 - (r/c)^2)^2`` (zero beyond ``c``),
    with ``c = c_factor * median(|r|)``. ``c_factor = 4.4478 = 3 / 0.6745`` puts the rejection
    at three robust standard deviations, as ISO 16610-31 prescribes. Deep valleys (plateau
    honed cylinder bores) and spikes then no longer pull the mean line down, unlike the linear
    Gaussian filter.

    Parameters
    ----------
    profile
        The profile; NaN points get zero weight.
    cutoff
        Cut-off wavelength in metres.
    order
        Polynomial order of the local regression: 2 (default, ISO 16610-31; the end regions
        follow curvature) or 0 / 1.
    c_factor, max_iter, tol
        Biweight constant; the iteration stops after ``max_iter`` passes or when the mean line
        moves less than ``tol`` times the robust standard deviation of the residuals.

    Returns
    -------
    Profile
        The robust mean line; metadata ``iterations`` says how many re-weighting passes ran.
    """
    if not isinstance(profile, Profile):
        raise InputError(f"robust_gaussian_profile needs a Profile, got {type(profile).__name__}")
    _check_positive(float(cutoff), "robust_gaussian_profile: cutoff")
    mean, iterations = _robust(profile.heights, (profile.dx,), (float(cutoff),), order, truncate,
                               c_factor, max_iter, tol)
    if keep_invalid:
        mean[~profile.valid] = np.nan
    return profile.with_heights(mean, filter=f"ISO 16610-31 robust Gaussian regression (order {order}), "
                                             f"cutoff={cutoff:.6g} m", iterations=iterations)


def robust_gaussian_filter(surface: Surface, cutoff: float | tuple[float, float], *, order: int = 2,
                           c_factor: float = 4.4478, max_iter: int = 20, tol: float = 1e-4,
                           truncate: float = 1.0, keep_invalid: bool = True) -> Surface:
    """Robust areal Gaussian regression mean surface (ISO 16610-71), Tukey biweight.

    The areal counterpart of :func:`robust_gaussian_profile`: a local polynomial in ``(x, y)`` of
    total degree ``order`` (6 coefficients for order 2) is fitted with separable Gaussian
    weights times the biweights. Each iteration costs ``(order+1)(order+2)/2`` right-hand sides
    plus the distinct moments (15 for order 2) separable correlations, so order 0 is about 10x
    cheaper on large surfaces. Returns the mean surface; subtract it for the roughness surface.
    """
    obj = require_grid(surface, "robust_gaussian_filter")
    if isinstance(obj, Profile):
        return robust_gaussian_profile(obj, float(cutoff), order=order, c_factor=c_factor,  # type: ignore[arg-type]
                                       max_iter=max_iter, tol=tol, truncate=truncate, keep_invalid=keep_invalid)
    cy, cx = _cutoffs(cutoff, "robust_gaussian_filter")
    mean, iterations = _robust(obj.heights, (obj.dy, obj.dx), (cy, cx), order, truncate, c_factor, max_iter, tol)
    if keep_invalid:
        mean[~obj.valid] = np.nan
    return obj.with_heights(mean, filter=f"ISO 16610-71 robust Gaussian regression (order {order}), "
                                         f"cutoff=({cy:.6g}, {cx:.6g}) m", iterations=iterations)
