"""Fatigue limit of the part as inspected, safety factor and Basquin life.

How the pieces combine (documented choice, see ``docs/failure.md``):

1. Smooth limit: the material's polished-specimen fatigue limit sigma_w0 (R = -1), reduced by the
   roughness notch factor, sigma_w0 / Kf, and corrected to the stress ratio with Murakami's
   ((1 - R)/2)^alpha ([M2002] eq. 6.7; for the smooth limit this is an approximation in the spirit
   of the model, not a separate mean-stress law).
2. Each defect (after Murakami's interaction rule) has its own limit from the sqrt(area) model
   (:func:`surfsight.failure.murakami.murakami_limit`).
3. The part's fatigue limit is the smallest of these (weakest link: the most harmful defect or
   the roughness governs); a defect too small to lower the smooth limit does not matter
   (Murakami's "non-damaging defect").
4. Safety factor S = sigma_w / sigma_a.
5. Life: sigma_a <= sigma_w -> no failure (infinite life; a crack from the defect does not
   propagate). Above it, Basquin's law sigma = sigma_f' (2N)^b (Basquin 1910; Dowling,
   *Mechanical Behavior of Materials*, eq. 9.7) is evaluated at the *effective* stress
   sigma_a * sigma_w0 / sigma_w, i.e. the defect/roughness reduction is applied to the whole
   S-N curve as a stress multiplier (the local-stress view of Kf), giving
   N = 0.5 (sigma_eff / sigma_f')^(1/b).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..errors import InputError
from .materials import Material, get_material
from .murakami import as_geometry, effective_sqrt_area, merge_interacting, murakami_limit, stress_ratio_factor

__all__ = ["DefectLimit", "FatigueLimit", "fatigue_limit", "safety_factor", "basquin_life"]


@dataclass(frozen=True)
class DefectLimit:
    """One (possibly merged) defect's Murakami limit."""

    kind: str
    sqrt_area_m: float
    limit_Pa: float


@dataclass(frozen=True)
class FatigueLimit:
    """The part's fatigue limit and where it comes from (all stresses amplitudes in Pa)."""

    value_Pa: float
    smooth_Pa: float
    kf: float
    defects: list[DefectLimit] = field(default_factory=list)
    governing: str = "material"
    material: str = ""
    stress_ratio: float = -1.0


def fatigue_limit(material: str | Material, defects: Iterable[Any] = (), *, kf: float = 1.0,
                  load_direction_rad: float = 0.0, location: str = "surface", stress_ratio: float = -1.0,
                  interaction: bool = True) -> FatigueLimit:
    """The fatigue limit of the part as inspected (see the module docstring for the rules).

    Parameters
    ----------
    material
        Name in the library or a :class:`Material`.
    defects
        Defect records (dicts or objects with ``depth_m``, ``length_m``, ``width_m``,
        ``sqrt_area_m``, ``orientation_rad``, optional ``x_m``/``y_m``, ``kind``).
    kf
        Fatigue notch factor of the roughness (1 for polished).
    load_direction_rad
        Direction of the principal stress in the surface plane, from the x axis.
    location
        Defect location for Murakami's constant (``surface``, ``near_surface``, ``internal``).
    stress_ratio
        R = sigma_min / sigma_max.
    interaction
        Apply Murakami's interaction rule to neighbouring defects first.
    """
    mat = get_material(material)
    if not (math.isfinite(kf) and kf >= 1.0):
        raise InputError(f"fatigue notch factor Kf = {kf!r}: must be >= 1")
    ratio = stress_ratio_factor(mat.hardness_HV, stress_ratio)
    smooth = mat.fatigue_limit_Pa / kf * ratio
    records = [as_geometry(d, f"defect {i}") for i, d in enumerate(defects)]
    if interaction:
        records = merge_interacting(records, load_direction_rad)
    limits = []
    for g in records:
        size = effective_sqrt_area(g, load_direction_rad, location)
        limits.append(DefectLimit(g.kind, size, murakami_limit(mat.hardness_HV, size, location, stress_ratio)))
    value, governing = smooth, ("surface roughness" if kf > 1.0 else "material")
    for i, d in enumerate(limits):
        if d.limit_Pa < value:
            value, governing = d.limit_Pa, f"defect {i} ({d.kind}, sqrt(area) {d.sqrt_area_m * 1e6:.3g} um)"
    return FatigueLimit(value, smooth, kf, limits, governing, mat.name, stress_ratio)


def safety_factor(limit: FatigueLimit | float, stress_amplitude_Pa: float) -> float:
    """S = sigma_w / sigma_a (both amplitudes)."""
    value = limit.value_Pa if isinstance(limit, FatigueLimit) else float(limit)
    if not (math.isfinite(stress_amplitude_Pa) and stress_amplitude_Pa > 0):
        raise InputError(f"stress amplitude {stress_amplitude_Pa!r} Pa: must be positive")
    return value / stress_amplitude_Pa


def basquin_life(material: str | Material, stress_amplitude_Pa: float, limit: FatigueLimit | None = None) -> float:
    """Cycles to failure N = 0.5 (sigma_eff / sigma_f')^(1/b); ``inf`` at or below the fatigue limit.

    ``sigma_eff = sigma_a * sigma_w0 / sigma_w`` scales the stress by the reduction the defects and
    roughness cause (``limit``; without it the material's own limit is used). Lives below half a
    cycle (sigma_eff >= sigma_f') are returned as 0.5.

    Examples
    --------
    >>> m = get_material("steel_42CrMo4_QT")
    >>> round(basquin_life(m, 600e6))   # 0.5 * (600 / 1650) ** (1 / -0.087)
    56075
    """
    mat = get_material(material)
    if not (math.isfinite(stress_amplitude_Pa) and stress_amplitude_Pa > 0):
        raise InputError(f"stress amplitude {stress_amplitude_Pa!r} Pa: must be positive")
    endurance = limit.value_Pa if limit is not None else mat.fatigue_limit_Pa
    if stress_amplitude_Pa <= endurance:
        return math.inf
    effective = stress_amplitude_Pa * mat.fatigue_limit_Pa / endurance
    if effective >= mat.basquin_sigma_f_Pa:
        return 0.5
    return 0.5 * (effective / mat.basquin_sigma_f_Pa) ** (1.0 / mat.basquin_b)
