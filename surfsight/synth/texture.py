"""Random surface textures with prescribed statistics.

Three families, all returning a :class:`~surfsight.surface.Surface` in metres:

* Gaussian random fields with a Gaussian or exponential autocorrelation function and an
  anisotropy (correlation lengths along and across a lay direction), made by filtering white
  noise in Fourier space with the square root of the target power spectral density
  (the spectral method; Hu & Tonder, Int. J. Mach. Tools Manuf. 32 (1992) 83;
  Persson et al., J. Phys.: Condens. Matter 17 (2005) R1).
* Self-affine (fractal) surfaces: PSD ``C(q) ∝ q^-2(1+H)`` above a roll-off wavenumber and
  flat below it (Jacobs, Junge & Pastewka, Surf. Topogr.: Metrol. Prop. 5 (2017) 013001).
* Non-Gaussian heights with a target skewness and kurtosis by a Johnson translation
  ``z = f(g)`` of a Gaussian field ``g`` (Johnson, Biometrika 36 (1949) 149; applied to
  surfaces by Manesh et al., Tribol. Int. 43 (2010) 1213 among others).

Targets are stated in ISO 25178-2 terms: ``Sq`` (rms height), ``Sal`` (fastest decay
autocorrelation length at threshold s = 0.2), ``Str`` (texture aspect ratio, 0..1), ``lay``
(direction of the lay, radians from the x axis, counter-clockwise when y points down the rows),
``Ssk`` and ``Sku``.
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


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _grid_shape(size: int | tuple[int, int]) -> tuple[int, int]:
    shape = (size, size) if np.ndim(size) == 0 else tuple(int(n) for n in size)  # type: ignore[arg-type]
    if len(shape) != 2 or min(shape) < 4:
        raise InputError(f"texture: size must be at least 4 points per side, got {size!r}")
    return shape  # type: ignore[return-value]


def _wavenumbers(shape: tuple[int, int], spacing: tuple[float, float], lay: float):
    """Spatial frequencies (cycles/m) along and across the lay for an FFT grid."""
    fy = np.fft.fftfreq(shape[0], d=spacing[0])[:, None]
    fx = np.fft.fftfreq(shape[1], d=spacing[1])[None, :]
    c, s = math.cos(lay), math.sin(lay)
    along = fx * c + fy * s
    across = -fx * s + fy * c
    return along, across


def correlation_lengths(Sal: float, Str: float, acf: str) -> tuple[float, float]:
    """Correlation lengths ``(tau_along, tau_across)`` of the model ACF that give ``Sal`` and ``Str``.

    For ``R(r) = exp(-(r/tau)^2)`` the ACF falls to s at ``r = tau sqrt(ln 1/s)``; for
    ``R(r) = exp(-r/tau)`` at ``r = tau ln 1/s``. ``Sal`` is the fastest-decay length (across the
    lay); ``Str = Sal / longest decay length``.
    """
    if not (0 < Str <= 1):
        raise InputError(f"texture: Str must be in (0, 1], got {Str}")
    if Sal <= 0:
        raise InputError(f"texture: Sal must be positive, got {Sal}")
    factor = math.sqrt(math.log(1 / ACF_THRESHOLD)) if acf == "gaussian" else math.log(1 / ACF_THRESHOLD)
    across = Sal / factor
    return across / Str, across


def gaussian_field(shape: tuple[int, int], spacing: tuple[float, float], rng: np.random.Generator, *,
                   acf: str = "gaussian", Sal: float, Str: float = 1.0, lay: float = 0.0) -> np.ndarray:
    """A zero-mean, unit-variance Gaussian random field with the given ACF model (periodic)."""
    tau_along, tau_across = correlation_lengths(Sal, Str, acf)
    along, across = _wavenumbers(shape, spacing, lay)
    if acf == "gaussian":
        # FT of exp(-(x/a)^2 - (y/b)^2) is pi a b exp(-pi^2 (a^2 kx^2 + b^2 ky^2))
        psd = np.exp(-(np.pi ** 2) * ((tau_along * along) ** 2 + (tau_across * across) ** 2))
    elif acf == "exponential":
        # FT of exp(-r) with anisotropic scaling: 2 pi / (1 + 4 pi^2 k^2)^(3/2)
        psd = (1 + 4 * np.pi ** 2 * ((tau_along * along) ** 2 + (tau_across * across) ** 2)) ** -1.5
    else:
        raise InputError(f"texture: acf must be 'gaussian' or 'exponential', got {acf!r}")
    return _filter_noise(psd, rng)


def fractal_field(shape: tuple[int, int], spacing: tuple[float, float], rng: np.random.Generator, *,
                  hurst: float, rolloff: float | None = None, short_cutoff: float | None = None,
                  Str: float = 1.0, lay: float = 0.0) -> np.ndarray:
    """A zero-mean, unit-variance self-affine field: ``C(q) ∝ q^(-2(1+H))`` for wavelengths
    between ``short_cutoff`` and ``rolloff`` (metres), flat below the roll-off wavenumber.

    ``Str < 1`` stretches the spectrum along the lay direction.
    """
    if not (0 < hurst < 1):
        raise InputError(f"texture: Hurst exponent must be in (0, 1), got {hurst}")
    along, across = _wavenumbers(shape, spacing, lay)
    q = np.hypot(along * Str, across)
    extent = min(shape[0] * spacing[0], shape[1] * spacing[1])
    q_r = 1.0 / (rolloff if rolloff else extent / 4)
    psd = np.where(q < q_r, q_r, q) ** (-2.0 * (1.0 + hurst))
    if short_cutoff:
        psd = np.where(q > 1.0 / short_cutoff, 0.0, psd)
    psd[0, 0] = 0.0
    return _filter_noise(psd, rng)


def _filter_noise(psd: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(psd.shape)
    field = np.fft.irfft2(np.fft.rfft2(noise) * np.sqrt(psd[:, : psd.shape[1] // 2 + 1]), s=psd.shape)
    field -= field.mean()
    std = field.std()
    if std == 0:
        raise InputError("texture: the spectrum leaves no variance on this grid; check Sal against size and spacing")
    return field / std


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


def _moments(family: str, gamma: float, delta: float) -> tuple[float, float, float, float]:
    """Mean, standard deviation, skewness and kurtosis of the raw translation, by Gauss-Hermite
    quadrature (NaN when the translation degenerates numerically)."""
    with np.errstate(all="ignore"):
        x = JohnsonTranslation(family, gamma, delta).raw(_NODES)
        mean = np.dot(_WEIGHTS, x)
        d = x - mean
        var = np.dot(_WEIGHTS, d ** 2)
        if not np.isfinite(var) or var < 1e-300:
            return float(mean), 0.0, float("nan"), float("nan")
        skew = np.dot(_WEIGHTS, d ** 3) / var ** 1.5
        kurt = np.dot(_WEIGHTS, d ** 4) / var ** 2
    return float(mean), float(np.sqrt(var)), float(skew), float(kurt)


def _moments_grid(family: str, gamma: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skewness and kurtosis of the raw translation for arrays of (gamma, delta) at once."""
    with np.errstate(all="ignore"):
        u = (_NODES[None, :] - gamma[:, None]) / delta[:, None]
        x = np.sinh(u) if family == "SU" else special.expit(u)
        d = x - (x @ _WEIGHTS)[:, None]
        var = (d ** 2) @ _WEIGHTS
        skew = ((d ** 3) @ _WEIGHTS) / var ** 1.5
        kurt = ((d ** 4) @ _WEIGHTS) / var ** 2
    return skew, kurt


@lru_cache(maxsize=4096)
def johnson_translation(Ssk: float, Sku: float) -> JohnsonTranslation:
    """Fit a Johnson SU or SB translation with the target skewness and (non-excess) kurtosis.

    The feasible region is ``Sku >= Ssk^2 + 1``; points near its border are met approximately.
    """
    if Sku < Ssk ** 2 + 1:
        raise InputError(f"texture: (Ssk={Ssk}, Sku={Sku}) is infeasible; every distribution has Sku >= Ssk^2 + 1")
    if abs(Ssk) < 1e-6 and abs(Sku - 3) < 1e-6:
        return JohnsonTranslation("N")
    best = None
    # The lognormal line separates SU (above) from SB (below): search both families on a coarse
    # grid of (gamma, log delta), then refine the best start by Levenberg-Marquardt.
    for family in ("SU", "SB"):
        def residual(p, family=family):
            _, _, s, k = _moments(family, p[0], math.exp(np.clip(p[1], -4.0, 4.0)))
            if not (math.isfinite(s) and math.isfinite(k)):
                return [1e3, 1e3]
            return [s - Ssk, (k - Sku) / 3]

        gammas, log_deltas = np.meshgrid(np.linspace(-6, 6, 25), np.linspace(-2.5, 2.5, 21))
        skews, kurts = _moments_grid(family, gammas.ravel(), np.exp(log_deltas.ravel()))
        misfit = np.hypot(skews - Ssk, (kurts - Sku) / 3)
        k = int(np.nanargmin(np.where(np.isfinite(misfit), misfit, np.inf)))
        start = (float(gammas.ravel()[k]), float(log_deltas.ravel()[k]))
        sol = optimize.least_squares(residual, start, method="lm", max_nfev=600)
        err = float(np.hypot(*sol.fun))
        if best is None or err < best[0]:
            best = (err, family, sol.x)
    assert best is not None
    _, family, (gamma, log_delta) = best
    log_delta = float(np.clip(log_delta, -4.0, 4.0))
    mean, std, _, _ = _moments(family, gamma, math.exp(log_delta))
    return JohnsonTranslation(family, float(gamma), float(math.exp(log_delta)), mean, std)


# --- public entry point -------------------------------------------------------------------------------------

def texture(size: int | tuple[int, int] = 256, spacing: float | tuple[float, float] = 1e-6,
            seed: int | np.random.Generator | None = 0, kind: str = "gaussian", *, Sq: float = 1e-6,
            Sal: float | None = None, Str: float = 1.0, Std: float | None = None, lay: float | None = None,
            Ssk: float = 0.0, Sku: float = 3.0, hurst: float = 0.8, rolloff: float | None = None,
            short_cutoff: float | None = None) -> Surface:
    """A random texture meeting ISO 25178-2 targets.

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
        Autocorrelation length, metres (default: 1/16 of the shorter side).
    Str
        Texture aspect ratio in (0, 1]; 1 = isotropic.
    lay, Std
        Direction of the lay (long correlation), radians from the x axis. ``Std`` is accepted as
        an alias in the sense of :func:`surfsight.metrology.Std` when given.
    Ssk, Sku
        Target skewness and kurtosis (3 = Gaussian); met by a Johnson translation.
    hurst, rolloff, short_cutoff
        Fractal parameters (``kind="fractal"`` only).
    """
    shape = _grid_shape(size)
    spacing2 = (float(spacing), float(spacing)) if np.ndim(spacing) == 0 else tuple(map(float, spacing))  # type: ignore[arg-type]
    if Sq <= 0:
        raise InputError(f"texture: Sq must be positive, got {Sq}")
    rng = _rng(seed)
    direction = lay if lay is not None else (Std if Std is not None else 0.0)
    if kind in ("gaussian", "exponential"):
        if Sal is None:
            Sal = min(shape[0] * spacing2[0], shape[1] * spacing2[1]) / 16
        g = gaussian_field(shape, spacing2, rng, acf=kind, Sal=Sal, Str=Str, lay=direction)  # type: ignore[arg-type]
    elif kind == "fractal":
        g = fractal_field(shape, spacing2, rng, hurst=hurst, rolloff=rolloff, short_cutoff=short_cutoff,
                          Str=Str, lay=direction)  # type: ignore[arg-type]
    else:
        raise InputError(f"texture: kind must be 'gaussian', 'exponential' or 'fractal', got {kind!r}")
    z = johnson_translation(Ssk, Sku)(g)
    z = (z - z.mean()) / z.std() * Sq
    meta = {"instrument": "surfsight.synth", "kind": kind, "seed": seed if isinstance(seed, int) else None,
            "targets": {"Sq": Sq, "Sal": Sal, "Str": Str, "lay": direction, "Ssk": Ssk, "Sku": Sku}}
    return Surface(z, spacing2, metadata=meta)
