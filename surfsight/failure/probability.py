"""Probability of failure by Monte Carlo, propagating the uncertainty of every input.

Model (one sample of the Monte Carlo):

* material fatigue limit sigma_w0: log-normal with median = the library value and
  log standard deviation sqrt(ln(1 + CoV^2)) (CoV from the library, 8.7 % after Haibach's scatter
  band 1:1.25), or normal with standard deviation CoV * value (``material_distribution``);
* hardness HV: normal with the given standard uncertainty (default 0);
* Murakami's model error: a log-normal factor with median 1 and CoV ``model_cov`` (default 5 %:
  the authors quote predictions within about 10 %, read here as two standard deviations);
* each defect's depth, length and width: normal with their standard uncertainties (``u_depth_m``,
  ``u_length_m``, ``u_width_m`` in the record), kept positive; the effective sqrt(area) is
  recomputed from the sampled geometry with Murakami's rules;
* the roughness notch factor Kf: normal with its standard uncertainty, at least 1;
* the stress amplitude: normal with its standard uncertainty, kept positive.

Failure means sigma_a > sigma_w for the sample, with sigma_w the part's limit (smallest of the
smooth limit and the defects' limits, as in :mod:`surfsight.failure.life`). The estimate
P = k / n carries the Monte Carlo standard error sqrt(P (1 - P) / n); when no sample fails, the
95 % upper bound 3 / n ("rule of three") is reported as well.

Same seed, same result. Interaction (merging) of defects is decided once on the nominal geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..errors import InputError
from .life import FatigueLimit, basquin_life, fatigue_limit
from .materials import Material, get_material
from .murakami import (LOCATION_CONSTANTS, LONG_SHALLOW_RATIO, SEMI_ELLIPSE, _get, _location, as_geometry,
                       merge_interacting)

__all__ = ["FailureProbability", "failure_probability", "Assessment", "assess"]


@dataclass(frozen=True)
class FailureProbability:
    """Result of :func:`failure_probability`.

    Attributes
    ----------
    probability
        Estimated P(sigma_a > sigma_w).
    standard_error
        Monte Carlo standard error of ``probability``.
    upper_95
        One-sided 95 % upper bound (``3/n`` when no sample failed, else P + 1.645 SE).
    samples
        Number of Monte Carlo samples.
    safety_factor_median, safety_factor_interval
        Median and central 95 % interval of sigma_w / sigma_a over the samples.
    safety_factor_u
        Standard deviation of the sampled safety factor.
    seed
        The seed used (``None`` if a Generator was passed).
    """

    probability: float
    standard_error: float
    upper_95: float
    samples: int
    safety_factor_median: float
    safety_factor_interval: tuple[float, float]
    safety_factor_u: float
    seed: int | None = None


def _positive_normal(rng: np.random.Generator, mean: float, u: float, n: int) -> np.ndarray:
    if u <= 0:
        return np.full(n, float(mean))
    draws = rng.normal(mean, u, n)
    return np.maximum(draws, mean * 1e-3)  # physical sizes and stresses stay positive


def _lognormal(rng: np.random.Generator, median: float, cov: float, n: int) -> np.ndarray:
    if cov <= 0:
        return np.full(n, float(median))
    return median * np.exp(rng.normal(0.0, math.sqrt(math.log1p(cov * cov)), n))


def _u(record: Any, name: str) -> float:
    value = _get(record, f"u_{name}")
    if value is None:
        unc = _get(record, "u")
        if isinstance(unc, dict):
            value = unc.get(name)
    value = 0.0 if value is None else float(value)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"defect uncertainty u_{name} must be a non-negative number, got {value!r}")
    return value


def failure_probability(material: str | Material, stress_amplitude_Pa: float, *, u_stress_Pa: float = 0.0,
                        defects: Iterable[Any] = (), kf: float = 1.0, u_kf: float = 0.0,
                        load_direction_rad: float = 0.0, location: str = "surface", stress_ratio: float = -1.0,
                        u_hardness_HV: float = 0.0, material_cov: float | None = None,
                        material_distribution: str = "lognormal", model_cov: float = 0.05,
                        samples: int = 20000, seed: int | np.random.Generator | None = 0,
                        interaction: bool = True) -> FailureProbability:
    """Monte Carlo estimate of P(sigma_a > sigma_w) (see the module docstring for the model).

    Parameters
    ----------
    material
        Library name or :class:`Material`.
    stress_amplitude_Pa, u_stress_Pa
        Applied stress amplitude and its standard uncertainty.
    defects
        Defect records; standard uncertainties as ``u_depth_m``, ``u_length_m``, ``u_width_m``
        (or a ``u`` mapping with those names without the prefix).
    kf, u_kf
        Roughness notch factor and its standard uncertainty.
    material_cov
        CoV of the fatigue limit; default: the library's value.
    material_distribution
        ``"lognormal"`` (default) or ``"normal"``.
    model_cov
        CoV of Murakami's prediction error (only used when there are defects).
    samples, seed
        Number of samples and the seed (or a Generator).
    """
    mat = get_material(material)
    if samples < 100:
        raise InputError(f"failure probability: at least 100 Monte Carlo samples needed, got {samples}")
    if not (stress_amplitude_Pa > 0 and u_stress_Pa >= 0 and kf >= 1 and u_kf >= 0 and u_hardness_HV >= 0):
        raise InputError("failure probability: need stress amplitude > 0, Kf >= 1 and non-negative uncertainties")
    if material_distribution not in ("lognormal", "normal"):
        raise InputError(f"material_distribution {material_distribution!r}: use 'lognormal' or 'normal'")
    if stress_ratio >= 1:
        raise InputError(f"stress ratio R = {stress_ratio}: must be below 1")
    cov = mat.fatigue_limit_cov if material_cov is None else float(material_cov)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(samples)

    if material_distribution == "lognormal":
        sigma_w0 = _lognormal(rng, mat.fatigue_limit_Pa, cov, n)
    else:
        sigma_w0 = _positive_normal(rng, mat.fatigue_limit_Pa, cov * mat.fatigue_limit_Pa, n)
    hv = _positive_normal(rng, mat.hardness_HV, u_hardness_HV, n)
    kf_s = np.maximum(_positive_normal(rng, kf, u_kf, n), 1.0)
    stress = _positive_normal(rng, stress_amplitude_Pa, u_stress_Pa, n)
    alpha = 0.226 + hv * 1e-4
    ratio = ((1.0 - stress_ratio) / 2.0) ** alpha
    limit = sigma_w0 / kf_s * ratio

    records = list(defects)
    if records:
        geometries = [as_geometry(d, f"defect {i}") for i, d in enumerate(records)]
        uncert = {id(g): (_u(r, "depth_m"), _u(r, "length_m"), _u(r, "width_m")) for g, r in zip(geometries, records)}
        merged = merge_interacting(geometries, load_direction_rad) if interaction else geometries
        loc = _location(location)
        c = LOCATION_CONSTANTS[loc]
        model = _lognormal(rng, 1.0, model_cov, n)
        for g in merged:
            ud, ul, uw = uncert.get(id(g), None) or _merged_u(g, geometries, uncert)
            depth = _positive_normal(rng, g.depth_m, ud, n)
            length = _positive_normal(rng, g.length_m, ul, n) if g.length_m > 0 else np.zeros(n)
            width = _positive_normal(rng, g.width_m, uw, n) if g.width_m > 0 else np.zeros(n)
            angle = g.orientation_rad - load_direction_rad
            extent = length * abs(math.sin(angle)) + width * abs(math.cos(angle))
            if g.sqrt_area_m > 0 and g.length_m > 0:
                shape = min(1.0, g.sqrt_area_m ** 2 / (g.length_m * g.depth_m))  # mean/max depth
            else:
                shape = SEMI_ELLIPSE
            area = shape * depth * extent
            if loc == "surface":
                area = np.where(extent >= LONG_SHALLOW_RATIO * depth, LONG_SHALLOW_RATIO * depth ** 2, area)
            sqrt_area_um = np.sqrt(np.maximum(area, 1e-30)) * 1e6
            defect_limit = c * (hv + 120.0) / sqrt_area_um ** (1.0 / 6.0) * ratio * 1e6 * model
            limit = np.minimum(limit, defect_limit)

    fails = stress > limit
    p = float(fails.mean())
    se = math.sqrt(p * (1.0 - p) / n)
    upper = 3.0 / n if p == 0 else min(1.0, p + 1.645 * se)
    s = limit / stress
    lo, med, hi = np.quantile(s, [0.025, 0.5, 0.975])
    return FailureProbability(p, se, upper, n, float(med), (float(lo), float(hi)), float(s.std(ddof=1)),
                              None if isinstance(seed, np.random.Generator) else seed)


def _merged_u(g, geometries, uncert) -> tuple[float, float, float]:
    """Uncertainty of a merged defect: the largest depth u, root-sum-square of the length/width u."""
    parts = [uncert[id(x)] for x in geometries if x.kind in g.kind.split("+")] or [(0.0, 0.0, 0.0)]
    return (max(p[0] for p in parts), math.sqrt(sum(p[1] ** 2 for p in parts)),
            math.sqrt(sum(p[2] ** 2 for p in parts)))


@dataclass(frozen=True)
class Assessment:
    """Everything the failure module says about one inspected part."""

    material: str
    stress_amplitude_Pa: float
    limit: FatigueLimit
    safety_factor: float
    life_cycles: float
    probability: FailureProbability
    notes: list[str] = field(default_factory=list)

    def as_measurement(self) -> dict[str, Any]:
        """The ``failure`` entry of the measurements dict taken by :func:`surfsight.spec.evaluate`."""
        return {
            "safety_factor": {"value": self.safety_factor, "u": self.probability.safety_factor_u,
                              "interval": list(self.probability.safety_factor_interval)},
            "failure_probability": {"value": self.probability.probability, "u": self.probability.standard_error,
                                    "upper_95": self.probability.upper_95},
            "fatigue_limit_Pa": self.limit.value_Pa,
            "life_cycles": self.life_cycles,
            "governing": self.limit.governing,
            "material": self.material,
        }


def assess(material: str | Material, stress_amplitude_Pa: float, *, defects: Iterable[Any] = (),
           kf: float = 1.0, u_kf: float = 0.0, u_stress_Pa: float = 0.0, load_direction_rad: float = 0.0,
           location: str = "surface", stress_ratio: float = -1.0, samples: int = 20000,
           seed: int | np.random.Generator | None = 0, **mc: Any) -> Assessment:
    """Fatigue limit, safety factor, Basquin life and Monte Carlo probability of failure in one call."""
    mat = get_material(material)
    defects = list(defects)
    lim = fatigue_limit(mat, defects, kf=kf, load_direction_rad=load_direction_rad, location=location,
                        stress_ratio=stress_ratio)
    prob = failure_probability(mat, stress_amplitude_Pa, u_stress_Pa=u_stress_Pa, defects=defects, kf=kf, u_kf=u_kf,
                               load_direction_rad=load_direction_rad, location=location, stress_ratio=stress_ratio,
                               samples=samples, seed=seed, **mc)
    notes = [f"material data: {mat.source}"] + ([mat.note] if mat.note else [])
    return Assessment(mat.name, stress_amplitude_Pa, lim, lim.value_Pa / stress_amplitude_Pa,
                      basquin_life(mat, stress_amplitude_Pa, lim), prob, notes)
