"""Random surface textures with prescribed statistics.

Three families, all returning a :class:`~surfsight.surface.Surface` in metres:

* Random fields with a Gaussian or exponential autocorrelation function (ACF) and an anisotropy
  (correlation lengths along and across a lay direction), made by the spectral method: the
  target ACF is sampled on the periodic lag grid, its discrete Fourier transform gives the power
  spectrum, and the field is the inverse transform of ``sqrt(PSD)`` with random phases
  (Hu & Tonder, Int. J. Mach. Tools Manuf. 32 (1992) 83; Persson et al., J. Phys.: Condens.
  Matter 17 (2005) R1). With ``amplitudes="fixed"`` (default) every Fourier amplitude is exactly
  ``sqrt(PSD)`` and only the phases are random, so the periodic ACF of every realisation *is*
  the target and Sal/Str scatter little between seeds; ``amplitudes="random"`` also draws the
  amplitudes (Rayleigh), a stationary Gaussian random field in the strict sense.
* Self-affine (fractal) surfaces: PSD ``C(q) ∝ q^-2(1+H)`` above a roll-off wavenumber and
  flat below it (Jacobs, Junge & Pastewka, Surf. Topogr.: Metrol. Prop. 5 (2017) 013001).
* Non-Gaussian heights with a target skewness and kurtosis by a Johnson translation
  ``z = f(g)`` of the Gaussian field ``g`` (Johnson, Biometrika 36 (1949) 149; applied to
  surfaces by Manesh et al., Tribol. Int. 43 (2010) 1213). ``texture()`` applies it to the
  *ranks* of ``g`` (``z_i = f(Φ⁻¹((r_i + ½)/N))``) with ``f`` fitted to the moments of exactly
  those N quantiles, so Ssk and Sku of every realisation equal the targets. The translation
  lowers correlations: with ``f = Σ c_k He_k / sqrt(k!)`` (Hermite expansion),
  ``corr(f(g1), f(g2)) = Σ c_k² ρ^k / Σ c_k²`` for ``corr(g1, g2) = ρ``; the Gaussian field is
  therefore built to reach the threshold ``ρ*`` that maps to 0.2, so Sal and Str still land on
  target.

Targets are stated in ISO 25178-2 terms and mean what :mod:`surfsight.metrology` measures:
``Sq`` (rms height), ``Sal`` (fastest decay autocorrelation length at threshold s = 0.2),
``Str`` (texture aspect ratio, 0..1), ``Std`` (texture direction: the angle of the dominant
wave vector, **perpendicular to the lay**, radians counter-clockwise from +x with +y along
increasing row index), ``Ssk`` and ``Sku``. ``lay`` gives the lay direction itself
(``lay = Std + π/2``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from ..errors import InputError
from ..surface import Surface

#: ISO 25178-2 default threshold for Sal and Str.
ACF_THRESHOLD = 0.2


def grid_coordinates(shape: tuple[int, int], spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """``(y, x)`` in metres as broadcastable column and row vectors for a ``(rows, cols)`` grid."""
    return np.arange(shape[0])[:, None] * spacing[0], np.arange(shape[1])[None, :] * spacing[1]


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _grid_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    shape = (size, size) if np.ndim(size) == 0 else tuple(int(n) for n in size)  # type: ignore[arg-type]
    if len(shape) != 2 or min(shape) < 4:
        raise InputError(f"texture: size must be at least 4 points per side, got {size!r}")
    return shape  # type: ignore[return-value]


def _spacing2(spacing: float | tuple[float, float]) -> tuple[float, float]:
    out = (float(spacing), float(spacing)) if np.ndim(spacing) == 0 else tuple(map(float, spacing))  # type: ignore[arg-type]
    if len(out) != 2 or not all(math.isfinite(s) and s > 0 for s in out):
        raise InputError(f"texture: spacing must be positive metres, got {spacing!r}")
    return out  # type: ignore[return-value]


def _rotated(u: np.ndarray, v: np.ndarray, lay: float) -> tuple[np.ndarray, np.ndarray]:
    """Components of vectors ``(x=u, y=v)`` along and across the lay direction."""
    c, s = math.cos(lay), math.sin(lay)
    return u * c + v * s, -u * s + v * c


def _lags(shape: tuple[int, int], spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-image lags (metres) of the periodic grid, ``(ty[:, None], tx[None, :])``."""
    ny, nx = shape
    ty = (np.fft.fftfreq(ny) * ny)[:, None] * spacing[0]
    tx = (np.fft.fftfreq(nx) * nx)[None, :] * spacing[1]
    return ty, tx


def correlation_lengths(Sal: float, Str: float, acf: str, threshold: float = ACF_THRESHOLD) -> tuple[float, float]:
    """Correlation lengths ``(tau_along, tau_across)`` of the model ACF that fall to ``threshold``
    at ``Sal / Str`` along the lay and at ``Sal`` across it.

    For ``R(r) = exp(-(r/tau)^2)`` the ACF falls to s at ``r = tau sqrt(ln 1/s)``; for
    ``R(r) = exp(-r/tau)`` at ``r = tau ln 1/s``.
    """
    if not (0 < Str <= 1):
        raise InputError(f"texture: Str must be in (0, 1], got {Str}")
    if not (Sal > 0 and math.isfinite(Sal)):
        raise InputError(f"texture: Sal must be positive, got {Sal}")
    if acf == "gaussian":
        factor = math.sqrt(math.log(1 / threshold))
    elif acf == "exponential":
        factor = math.log(1 / threshold)
    else:
        raise InputError(f"texture: acf must be 'gaussian' or 'exponential', got {acf!r}")
    across = Sal / factor
    return across / Str, across


def model_acf(shape: tuple[int, int], spacing: tuple[float, float], *, acf: str = "gaussian", Sal: float,
              Str: float = 1.0, lay: float = 0.0, threshold: float = ACF_THRESHOLD) -> np.ndarray:
    """The model ACF on the periodic lag grid (zero lag at ``[0, 0]``)."""
    tau_along, tau_across = correlation_lengths(Sal, Str, acf, threshold)
    ty, tx = _lags(shape, spacing)
    along, across = _rotated(tx, ty, lay)
    r2 = (along / tau_along) ** 2 + (across / tau_across) ** 2
    return np.exp(-r2) if acf == "gaussian" else np.exp(-np.sqrt(r2))


def _phases(shape: tuple[int, int], rng: np.random.Generator, amplitudes: str) -> np.ndarray:
    """Half-plane Fourier coefficients of white noise: unit modulus (random phase only, with the
    Hermitian symmetry of a real field) or as drawn (Rayleigh amplitudes)."""
    noise = np.fft.rfft2(rng.standard_normal(shape))
    if amplitudes == "fixed":
        modulus = np.abs(noise)
        noise /= np.where(modulus > 0, modulus, 1.0)
    elif amplitudes != "random":
        raise InputError(f"texture: amplitudes must be 'fixed' or 'random', got {amplitudes!r}")
    return noise


def _standardised(field: np.ndarray, what: str) -> np.ndarray:
    field -= field.mean()
    std = field.std()
    if not std > 0:
        raise InputError(f"texture: {what} leaves no variance on this grid; check the lengths against size and spacing")
    field /= std
    return field


def field_from_acf(acf_values: np.ndarray, rng: np.random.Generator, amplitudes: str = "fixed") -> np.ndarray:
    """Zero-mean, unit-variance periodic field whose circular ACF is ``acf_values`` (where the
    DFT of ``acf_values`` is non-negative; negative lobes are clipped)."""
    psd = np.clip(np.fft.rfft2(acf_values).real, 0.0, None)
    psd[0, 0] = 0.0
    field = np.fft.irfft2(_phases(acf_values.shape, rng, amplitudes) * np.sqrt(psd), s=acf_values.shape)
    return _standardised(field, "the autocorrelation")


def gaussian_field(shape: tuple[int, int], spacing: tuple[float, float], rng: np.random.Generator, *,
                   acf: str = "gaussian", Sal: float, Str: float = 1.0, lay: float = 0.0,
                   threshold: float = ACF_THRESHOLD, amplitudes: str = "fixed") -> np.ndarray:
    """A zero-mean, unit-variance random field with the model ACF (periodic).

    ``lay`` is the direction of the long correlation (radians from +x, +y along rows);
    the ACF falls to ``threshold`` at ``Sal`` across the lay and at ``Sal / Str`` along it.
    """
    values = model_acf(shape, spacing, acf=acf, Sal=Sal, Str=Str, lay=lay, threshold=threshold)
    return field_from_acf(values, rng, amplitudes)


def fractal_psd(shape: tuple[int, int], spacing: tuple[float, float], *, hurst: float, rolloff: float | None = None,
                short_cutoff: float | None = None, Str: float = 1.0, lay: float = 0.0) -> np.ndarray:
    """Half-plane (rfft layout) self-affine PSD: ``q^-2(1+H)`` between the wavelengths
    ``short_cutoff`` and ``rolloff`` (metres), flat below the roll-off wavenumber."""
    if not (0 < hurst < 1):
        raise InputError(f"texture: Hurst exponent must be in (0, 1), got {hurst}")
    if not (0 < Str <= 1):
        raise InputError(f"texture: Str must be in (0, 1], got {Str}")
    fy = np.fft.fftfreq(shape[0], d=spacing[0])[:, None]
    fx = np.fft.rfftfreq(shape[1], d=spacing[1])[None, :]
    along, across = _rotated(fx, fy, lay)
    q = np.hypot(along / Str, across)
    extent = min(shape[0] * spacing[0], shape[1] * spacing[1])
    q_r = 1.0 / (rolloff if rolloff else extent / 4)
    with np.errstate(divide="ignore"):
        psd = np.maximum(q, q_r) ** (-2.0 * (1.0 + hurst))
    if short_cutoff:
        psd = np.where(q > 1.0 / short_cutoff, 0.0, psd)
    psd[0, 0] = 0.0
    return psd


def fractal_field(shape: tuple[int, int], spacing: tuple[float, float], rng: np.random.Generator, *,
                  hurst: float, rolloff: float | None = None, short_cutoff: float | None = None,
                  Str: float = 1.0, lay: float = 0.0, amplitudes: str = "fixed") -> np.ndarray:
    """A zero-mean, unit-variance self-affine field (see :func:`fractal_psd`); ``Str < 1``
    stretches the correlation along the lay direction ``lay``."""
    psd = fractal_psd(shape, spacing, hurst=hurst, rolloff=rolloff, short_cutoff=short_cutoff, Str=Str, lay=lay)
    field = np.fft.irfft2(_phases(shape, rng, amplitudes) * np.sqrt(psd), s=shape)
    return _standardised(field, "the fractal spectrum")


# --- Johnson translation ---------------------------------------------------------------------------------

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(120)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class JohnsonTranslation:
    """``z = f(g)`` mapping a standard normal ``g`` to a variable with chosen skewness and kurtosis.

    ``family`` is ``"SU"`` (unbounded: ``sinh((g - gamma)/delta)``), ``"SB"`` (bounded:
    logistic of ``(g - gamma)/delta``) or ``"N"`` (identity). The output is standardised to zero
    mean and unit variance.
    """

    family: str
    gamma: float = 0.0
    delta: float = 1.0
    mean: float = 0.0
    std: float = 1.0

    def raw(self, g: np.ndarray) -> np.ndarray:
        u = (g - self.gamma) / self.delta
        if self.family == "SU":
            return np.sinh(u)
        if self.family == "SB":
            return special.expit(u)
        return g

    def __call__(self, g: np.ndarray) -> np.ndarray:
        return (self.raw(g) - self.mean) / self.std

    def correlation(self, rho: np.ndarray | float, terms: int = 40) -> np.ndarray:
        """Correlation of ``f(g1), f(g2)`` for standard normal ``g1, g2`` of correlation ``rho``:
        ``Σ c_k² ρ^k / Σ c_k²`` with the Hermite coefficients ``c_k`` of ``f``."""
        coef = hermite_coefficients(self, terms)[1:]
        power = coef ** 2
        rho = np.asarray(rho, dtype=float)
        k = np.arange(1, terms + 1)
        return (power * np.sign(rho)[..., None] ** k * np.abs(rho)[..., None] ** k).sum(-1) / power.sum()

    def gaussian_threshold(self, s: float = ACF_THRESHOLD) -> float:
        """The correlation ``ρ*`` of the Gaussian field that the translation maps to ``s``."""
        if self.family == "N":
            return s
        return float(optimize.brentq(lambda r: float(self.correlation(r)) - s, 1e-9, 1 - 1e-12, xtol=1e-10))


def hermite_coefficients(f: JohnsonTranslation, terms: int = 40) -> np.ndarray:
    """``c_k = E[f(g) He_k(g)] / sqrt(k!)``, k = 0..terms (probabilists' Hermite polynomials)."""
    with np.errstate(all="ignore"):
        values = f(_NODES)
    he_prev, he = np.ones_like(_NODES), _NODES.copy()
    out = [float(np.dot(_WEIGHTS, values))]
    log_fact = 0.0
    for k in range(1, terms + 1):
        log_fact += math.log(k)
        out.append(float(np.dot(_WEIGHTS, values * he)) / math.exp(0.5 * log_fact))
        he_prev, he = he, _NODES * he - k * he_prev
    return np.nan_to_num(np.array(out))


def _raw_moments(family: str, gamma: np.ndarray, delta: np.ndarray, nodes: np.ndarray,
                 weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std, skewness and kurtosis of ``raw(nodes)`` for arrays of (gamma, delta); weighted
    (quadrature) or plain means (``weights=None``: a sample of quantiles)."""
    with np.errstate(all="ignore"):
        u = (nodes[None, :] - gamma[:, None]) / delta[:, None]
        x = np.sinh(u) if family == "SU" else special.expit(u)
        avg = (lambda a: a @ weights) if weights is not None else (lambda a: a.mean(axis=1))
        mean = avg(x)
        d = x - mean[:, None]
        d2 = d * d
        var = avg(d2)
        skew = avg(d2 * d) / var ** 1.5
        kurt = avg(d2 * d2) / var ** 2
    return mean, np.sqrt(var), skew, kurt


def _solve(family: str, Ssk: float, Sku: float, nodes: np.ndarray, weights: np.ndarray | None,
           start: tuple[float, float] | None = None, candidates: int = 12) -> tuple[float, float, float]:
    """Damped Gauss-Newton on (gamma, log delta): returns (misfit, gamma, log_delta).

    Without ``start``, the refinement starts from the best point of a coarse grid; when it does
    not converge (misfit above 1e-6), the next best grid points are tried, up to ``candidates``,
    and the best result is kept: at large ``|gamma|`` the misfit surface is nearly flat and the
    best grid points can be dead ends far from the solution (for Ssk 2.19, Sku 12.29 the first
    five are; the sixth converges), so up to 12 are tried. ``log delta`` is kept within
    [-8, 5]: near the feasible border SB needs delta below exp(-5)."""
    def misfit_of(g, ld):
        _, _, s, k = _raw_moments(family, g, np.exp(ld), nodes, weights)
        m = np.hypot(s - Ssk, (k - Sku) / 3)
        return np.where(np.isfinite(m), m, np.inf), s, k

    def refine(g: float, ld: float) -> tuple[float, float, float]:
        h = 1e-5
        m0, s0, k0 = (v[0] for v in misfit_of(np.array([g]), np.array([ld])))
        for _ in range(40):
            if m0 < 1e-9:
                break
            _, s, k = misfit_of(np.array([g + h, g]), np.array([ld, ld + h]))
            jac = np.array([[(s[0] - s0) / h, (s[1] - s0) / h], [(k[0] - k0) / (3 * h), (k[1] - k0) / (3 * h)]])
            res = np.array([s0 - Ssk, (k0 - Sku) / 3])
            try:
                step = np.linalg.lstsq(jac, -res, rcond=None)[0]
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            improved = False
            for damp in (1.0, 0.5, 0.25, 0.1, 0.03):
                gn, ln = g + damp * step[0], float(np.clip(ld + damp * step[1], -8.0, 5.0))
                mn, sn, kn = (v[0] for v in misfit_of(np.array([gn]), np.array([ln])))
                if mn < m0:
                    g, ld, m0, s0, k0 = gn, ln, mn, sn, kn
                    improved = True
                    break
            if not improved:
                break
        return float(m0), g, ld

    if start is not None:
        return refine(*start)
    gg, ll = np.meshgrid(np.linspace(-6, 6, 33), np.linspace(-2.5, 2.5, 26))
    m, _, _ = misfit_of(gg.ravel(), ll.ravel())
    best = None
    for i in np.argsort(m, kind="stable")[:candidates]:
        sol = refine(float(gg.ravel()[i]), float(ll.ravel()[i]))
        if best is None or sol[0] < best[0]:
            best = sol
        if best[0] < 1e-6:  # converged: further candidates only for a dead end
            break
    assert best is not None
    return best


def _build(family: str, gamma: float, log_delta: float, nodes: np.ndarray, weights: np.ndarray | None) -> JohnsonTranslation:
    mean, std, _, _ = _raw_moments(family, np.array([gamma]), np.array([math.exp(log_delta)]), nodes, weights)
    return JohnsonTranslation(family, float(gamma), float(math.exp(log_delta)), float(mean[0]), float(std[0]))


def _check_feasible(Ssk: float, Sku: float) -> None:
    if not (math.isfinite(Ssk) and math.isfinite(Sku)) or Sku < Ssk ** 2 + 1:
        raise InputError(f"texture: (Ssk={Ssk}, Sku={Sku}) is infeasible; every distribution has Sku >= Ssk^2 + 1")


@lru_cache(maxsize=4096)
def johnson_translation(Ssk: float, Sku: float) -> JohnsonTranslation:
    """Fit a Johnson SU or SB translation with the target skewness and (non-excess) kurtosis of
    the population (Gauss-Hermite quadrature of the moments).

    The feasible region is ``Sku >= Ssk^2 + 1``; points very near its border are met
    approximately. SU lies above the lognormal line, SB below it; both are tried.
    """
    _check_feasible(Ssk, Sku)
    if abs(Ssk) < 1e-9 and abs(Sku - 3) < 1e-9:
        return JohnsonTranslation("N")
    best = min((_solve(fam, Ssk, Sku, _NODES, _WEIGHTS) + (fam,) for fam in ("SU", "SB")), key=lambda t: t[0])
    return _build(best[3], best[1], best[2], _NODES, _WEIGHTS)


@lru_cache(maxsize=256)
def quantiles(n: int) -> np.ndarray:
    """Standard normal quantiles at ``(i + 1/2) / n``, i = 0..n-1."""
    return special.ndtri((np.arange(n) + 0.5) / n)


@lru_cache(maxsize=512)
def sample_translation(Ssk: float, Sku: float, n: int) -> tuple[JohnsonTranslation, np.ndarray]:
    """A Johnson translation whose values at the ``n`` normal quantiles have exactly (as far as
    the family allows) skewness ``Ssk`` and kurtosis ``Sku``; returns it and those values
    (standardised, ascending)."""
    _check_feasible(Ssk, Sku)
    q = quantiles(n)
    pop = johnson_translation(Ssk, Sku)
    fams = [pop.family, "SB" if pop.family == "SU" else "SU"] if pop.family != "N" else ["SU", "SB"]
    best = None
    # The population fit is the natural start for the sample fit of its family. Near the normal
    # point it can be a dead end (Ssk 0.005, Sku 3: the population SU sits at the delta bound, the
    # quantile sample, whose kurtosis is below 3, needs a moderate delta) and the other family may
    # not reach the target either; the grid search of the first family then comes last, so every
    # fit that converged before stays bit-identical.
    tries = [(fam, (pop.gamma, math.log(pop.delta)) if fam == pop.family else None) for fam in fams]
    if pop.family != "N":
        tries.append((pop.family, None))
    for fam, start in tries:
        sol = _solve(fam, Ssk, Sku, q, None, start)
        if best is None or sol[0] < best[0]:
            best = sol + (fam,)
        if best[0] < 1e-6:
            break
    assert best is not None
    f = _build(best[3], best[1], best[2], q, None)
    values = f(q)
    return f, values - values.mean()


# --- public entry point -------------------------------------------------------------------------------------

def iaaft(z: np.ndarray, amplitude: np.ndarray, values: np.ndarray, iterations: int) -> np.ndarray:
    """Iterative amplitude-adjusted Fourier transform (Schreiber & Schmitz, Phys. Rev. Lett. 77
    (1996) 635): alternately impose the Fourier amplitudes ``amplitude`` (rfft layout, phases
    kept) and the height distribution ``values`` (by rank), ending on the distribution."""
    shape = z.shape
    for _ in range(iterations):
        spectrum = np.fft.rfft2(z)
        modulus = np.abs(spectrum)
        spectrum *= amplitude / np.where(modulus > 0, modulus, 1.0)
        z = _by_rank(np.fft.irfft2(spectrum, s=shape), values)
    return z


def _by_rank(g: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Replace each value of ``g`` by the entry of the ascending ``values`` of the same rank."""
    out = np.empty(g.size)
    out[np.argsort(g, axis=None, kind="stable")] = values
    return out.reshape(g.shape)


def texture(size: int | tuple[int, int] = 256, spacing: float | tuple[float, float] = 1e-6,
            seed: int | np.random.Generator | None = 0, kind: str = "gaussian", *, Sq: float = 1e-6,
            Sal: float | None = None, Str: float = 1.0, Std: float | None = None, lay: float | None = None,
            Ssk: float = 0.0, Sku: float = 3.0, hurst: float = 0.8, rolloff: float | None = None,
            short_cutoff: float | None = None, amplitudes: str = "fixed", exact_moments: bool = True,
            iterations: int = 6) -> Surface:
    """A random texture meeting ISO 25178-2 targets as measured by :mod:`surfsight.metrology`.

    Parameters
    ----------
    size
        Points per side, or ``(rows, cols)``.
    spacing
        Sampling distance in metres (``dy = dx``), or ``(dy, dx)``.
    seed
        Integer seed or ``numpy.random.Generator``; same seed, same bytes.
    kind
        ``"gaussian"`` (Gaussian ACF), ``"exponential"`` (exponential ACF) or ``"fractal"``.
    Sq
        Root mean square height, metres (met exactly).
    Sal
        Autocorrelation length, metres (default: 1/16 of the shorter side). Not used by
        ``"fractal"``, whose correlation is set by ``rolloff``.
    Str
        Texture aspect ratio in (0, 1]; 1 = isotropic. Measurable only if the ACF decays along
        the lay within half the field: keep ``Sal / Str`` below about 0.4 of the side.
    Std
        Texture direction in the sense of :func:`surfsight.metrology.Std`: the angle of the
        dominant wave vector, perpendicular to the lay (radians from +x, +y along rows).
    lay
        Alternatively the lay direction itself (``lay = Std + pi/2``); default 0 (lay along x).
    Ssk, Sku
        Skewness and kurtosis (3 = Gaussian), anywhere with ``Sku >= Ssk^2 + 1``.
    hurst, rolloff, short_cutoff
        Fractal parameters (``kind="fractal"`` only): Hurst exponent in (0, 1), roll-off and
        short cut-off wavelengths in metres (default roll-off: a quarter of the shorter side).
    amplitudes
        ``"fixed"`` (random phases, exact periodic ACF) or ``"random"`` (Rayleigh amplitudes).
    exact_moments
        Map the ranks of the Gaussian field onto the quantiles of the translation (Ssk, Sku met
        exactly); ``False`` applies the population translation pointwise (faster, Ssk/Sku met in
        expectation).
    iterations
        With ``exact_moments`` and non-Gaussian targets: IAAFT refinements (:func:`iaaft`) that
        restore the target spectrum after the rank mapping (0: the Hermite correction only).
    """
    shape = _grid_shape(size)
    spacing2 = _spacing2(spacing)
    if not (Sq > 0 and math.isfinite(Sq)):
        raise InputError(f"texture: Sq must be positive, got {Sq}")
    if Std is not None and lay is not None:
        raise InputError("texture: give either Std (dominant wave direction) or lay (lay direction), not both")
    _check_feasible(Ssk, Sku)
    rng = _rng(seed)
    direction = float(lay) if lay is not None else (float(Std) + math.pi / 2 if Std is not None else 0.0)
    gaussian = abs(Ssk) < 1e-9 and abs(Sku - 3) < 1e-9
    n = shape[0] * shape[1]
    if exact_moments:
        f, values = sample_translation(float(Ssk), float(Sku), n)
    elif gaussian:
        f = JohnsonTranslation("N")
    else:
        f = johnson_translation(float(Ssk), float(Sku))
    if kind in ("gaussian", "exponential"):
        if Sal is None:
            Sal = min(shape[0] * spacing2[0], shape[1] * spacing2[1]) / 16
        threshold = f.gaussian_threshold(ACF_THRESHOLD)
        g = gaussian_field(shape, spacing2, rng, acf=kind, Sal=float(Sal), Str=Str, lay=direction,
                           threshold=threshold, amplitudes=amplitudes)
        target_psd = lambda: np.clip(np.fft.rfft2(model_acf(shape, spacing2, acf=kind, Sal=float(Sal), Str=Str,  # noqa: E731
                                                            lay=direction)).real, 0.0, None)
    elif kind == "fractal":
        g = fractal_field(shape, spacing2, rng, hurst=hurst, rolloff=rolloff, short_cutoff=short_cutoff,
                          Str=Str, lay=direction, amplitudes=amplitudes)
        target_psd = lambda: fractal_psd(shape, spacing2, hurst=hurst, rolloff=rolloff,  # noqa: E731
                                         short_cutoff=short_cutoff, Str=Str, lay=direction)
    else:
        raise InputError(f"texture: kind must be 'gaussian', 'exponential' or 'fractal', got {kind!r}")
    if exact_moments:
        z = _by_rank(g, values)
        if not gaussian and iterations > 0 and amplitudes == "fixed":
            psd = target_psd()
            psd[0, 0] = 0.0
            amplitude = np.sqrt(psd) * (np.abs(np.fft.rfft2(z)).sum() / max(np.sqrt(psd).sum(), 1e-300))
            z = iaaft(z, amplitude, values, iterations)
    elif gaussian:
        z = g
    else:
        z = f(g)
    z = z - z.mean()
    z *= Sq / z.std()
    meta = {"instrument": "surfsight.synth", "kind": kind, "seed": seed if isinstance(seed, int) else None,
            "targets": {"Sq": Sq, "Sal": Sal, "Str": Str, "Std": (direction - math.pi / 2) % math.pi,
                        "lay": direction, "Ssk": Ssk, "Sku": Sku,
                        **({"hurst": hurst, "rolloff": rolloff} if kind == "fractal" else {})}}
    return Surface(z, spacing2, metadata=meta)
