"""Murakami's sqrt(area) model: the fatigue limit of a metal containing a small defect.

Sources
-------
[M2002] Y. Murakami, *Metal Fatigue: Effects of Small Defects and Nonmetallic Inclusions*,
        Elsevier, 2002 (2nd ed. 2019), ch. 2 (the sqrt(area) parameter), ch. 6 (prediction
        equations, effective area of irregular and interacting defects).
[ME94]  Y. Murakami, M. Endo, "Effects of defects, inclusions and inhomogeneities on fatigue
        strength", Int. J. Fatigue 16 (1994) 163-182.
[M89]   Y. Murakami, "Effects of small defects and nonmetallic inclusions on the fatigue strength
        of metals", JSME Int. J. Ser. I 32 (1989) 167-180.

The prediction equation ([M2002] eq. 6.5/6.6, [ME94] eqs. 5-6) is

    sigma_w = C (HV + 120) / sqrt(area)^(1/6) * ((1 - R) / 2)^alpha,     alpha = 0.226 + HV 1e-4

with sigma_w in MPa (stress amplitude), HV the Vickers hardness in kgf/mm2, sqrt(area) in um and
C = 1.43 for a surface defect, 1.41 for a defect in contact with the surface (touching it from
inside; sqrt(area) is then the *virtual* area including the ligament to the surface, [M89]
pp. 173-174) and 1.56 for an internal defect. R is the stress ratio (R = -1: fully reversed,
factor 1). The equation is stated for HV roughly 70-720 and defects below about 1000 um; the
prediction error quoted by the authors is within about 10 %.

``area`` is the area of the defect projected on the plane perpendicular to the maximum principal
stress ([M2002] ch. 2). Here the load acts in the plane of the surface along ``load_direction_rad``
(angle from the x axis), so the plane normal to the load contains the surface normal and the
in-plane direction ``load_direction_rad + pi/2``.

Effective area rules ([M2002] ch. 6, [ME94] section "effective area"):

* a long shallow surface crack or scratch (extent normal to the load / depth >= 10): the stress
  intensity no longer grows with length, and sqrt(area_eff) = sqrt(10) * depth;
* two defects closer to each other than the size of the smaller one interact: they count as
  one defect whose area is the envelope of both (here: both areas plus the gap between them
  bridged at the shallower mean depth).

All functions in this module work in SI (metres, pascals) and convert to the model's units
(um, MPa) internally.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import InputError

__all__ = [
    "LOCATION_CONSTANTS",
    "murakami_limit",
    "stress_ratio_factor",
    "projected_extent",
    "projected_area",
    "effective_sqrt_area",
    "merge_interacting",
    "DefectGeometry",
    "as_geometry",
]

#: Murakami's constant C by defect location ([M2002] eqs. 6.5, 6.6; [ME94] eqs. 5, 6; [M89]).
LOCATION_CONSTANTS: dict[str, float] = {"surface": 1.43, "near_surface": 1.41, "internal": 1.56}

_LOCATION_ALIASES = {"surface": "surface", "near_surface": "near_surface", "near-surface": "near_surface",
                     "subsurface": "near_surface", "sub-surface": "near_surface", "internal": "internal",
                     "interior": "internal"}

#: Extent/depth ratio from which a surface defect counts as long and shallow ([M2002] ch. 6).
LONG_SHALLOW_RATIO = 10.0

#: Mean depth of a semi-elliptical section relative to its maximum depth (area = pi/4 * extent * depth).
SEMI_ELLIPSE = math.pi / 4.0


def _location(location: str) -> str:
    key = _LOCATION_ALIASES.get(str(location).strip().lower())
    if key is None:
        raise InputError(f"defect location {location!r}: expected one of surface, near_surface, internal")
    return key


def stress_ratio_factor(hardness_HV: float, stress_ratio: float = -1.0) -> float:
    """Murakami's stress-ratio correction ((1 - R) / 2)^alpha, alpha = 0.226 + HV 1e-4 ([M2002] eq. 6.7).

    Valid for R <= 0 and moderately positive R; R >= 1 (no alternating stress) is refused.
    """
    if not math.isfinite(stress_ratio) or stress_ratio >= 1.0:
        raise InputError(f"stress ratio R = {stress_ratio!r}: must be finite and below 1")
    alpha = 0.226 + hardness_HV * 1e-4
    return ((1.0 - stress_ratio) / 2.0) ** alpha


def murakami_limit(hardness_HV: float, sqrt_area_m: float, location: str = "surface",
                   stress_ratio: float = -1.0) -> float:
    """Fatigue limit (stress amplitude, Pa) of a material with a defect of size sqrt(area).

    Parameters
    ----------
    hardness_HV
        Vickers hardness, kgf/mm2 (the usual HV number).
    sqrt_area_m
        Square root of the defect area projected normal to the load, metres.
    location
        ``"surface"`` (C = 1.43), ``"near_surface"`` (touching the surface from inside, C = 1.41,
        sqrt_area_m the virtual area including the ligament) or ``"internal"`` (C = 1.56).
    stress_ratio
        R = sigma_min / sigma_max; -1 is fully reversed.

    Returns
    -------
    float
        sigma_w in Pa: C (HV + 120) / sqrt(area/um2)^(1/6) ((1 - R)/2)^alpha MPa ([M2002] eqs. 6.5-6.7).

    Examples
    --------
    >>> round(murakami_limit(380, 50e-6) / 1e6, 1)   # 1.43 * 500 / 50**(1/6)
    372.5
    """
    hv = float(hardness_HV)
    size = float(sqrt_area_m)
    if not (math.isfinite(hv) and hv > 0):
        raise InputError(f"hardness HV = {hardness_HV!r}: must be a positive number (kgf/mm2)")
    if not (math.isfinite(size) and size > 0):
        raise InputError(f"sqrt(area) = {sqrt_area_m!r} m: must be a positive length")
    c = LOCATION_CONSTANTS[_location(location)]
    sigma_mpa = c * (hv + 120.0) / (size * 1e6) ** (1.0 / 6.0)
    return sigma_mpa * stress_ratio_factor(hv, stress_ratio) * 1e6


# --------------------------------------------------------------------------------------------
# Defect geometry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DefectGeometry:
    """The geometry the model needs, read from a defect record (metres, radians).

    ``sqrt_area_m``, if given, is the sqrt of the area projected normal to a load acting *across*
    the long axis (the convention of :mod:`surfsight.synth.defects`); ``x_m``, ``y_m`` are the
    centroid (needed only for the interaction rule).
    """

    kind: str
    depth_m: float
    length_m: float
    width_m: float
    area_m2: float = 0.0
    sqrt_area_m: float = 0.0
    orientation_rad: float = 0.0
    x_m: float | None = None
    y_m: float | None = None


def _get(record: Any, name: str, default: Any = None) -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def as_geometry(record: Any, what: str = "defect") -> DefectGeometry:
    """Read a defect record (dict or object with ``depth_m``, ``length_m``, ``width_m``,
    ``area_m2``, ``sqrt_area_m``, ``orientation_rad``, optional ``x_m``/``y_m``)."""
    if isinstance(record, DefectGeometry):
        return record
    values = {}
    for name in ("depth_m", "length_m", "width_m", "area_m2", "sqrt_area_m", "orientation_rad"):
        raw = _get(record, name, 0.0)
        try:
            value = float(raw if raw is not None else 0.0)
        except (TypeError, ValueError):
            raise InputError(f"{what}: {name} must be a number, got {raw!r}") from None
        if not math.isfinite(value) or (name != "orientation_rad" and value < 0):
            raise InputError(f"{what}: {name} must be finite and not negative, got {raw!r}")
        values[name] = value
    if values["depth_m"] <= 0:
        raise InputError(f"{what}: depth_m must be positive for a fatigue assessment, got {values['depth_m']!r}")
    if values["length_m"] <= 0 and values["width_m"] <= 0 and values["sqrt_area_m"] <= 0:
        raise InputError(f"{what}: needs length_m/width_m or sqrt_area_m to size the defect")
    if values["length_m"] < values["width_m"]:  # keep length the long axis
        values["length_m"], values["width_m"] = values["width_m"], values["length_m"]
    x, y = _get(record, "x_m"), _get(record, "y_m")
    return DefectGeometry(kind=str(_get(record, "kind", "defect")), x_m=None if x is None else float(x),
                          y_m=None if y is None else float(y), **values)


def projected_extent(defect: Any, load_direction_rad: float) -> float:
    """Extent (m) of the defect's footprint normal to the load, in the surface plane.

    For a long axis at ``orientation_rad`` (phi) and a load at ``load_direction_rad`` (psi):
    ``length |sin(phi - psi)| + width |cos(phi - psi)|``; a load across the long axis sees the full
    length, a load along it only the width.
    """
    g = as_geometry(defect)
    angle = g.orientation_rad - float(load_direction_rad)
    return g.length_m * abs(math.sin(angle)) + g.width_m * abs(math.cos(angle))


def _mean_depth(g: DefectGeometry) -> float:
    """Mean depth of the section: from the record's sqrt_area (load across the long axis) when it
    has one, else a semi-elliptical section (pi/4 of the maximum depth)."""
    if g.sqrt_area_m > 0 and g.length_m > 0:
        return min(g.depth_m, g.sqrt_area_m ** 2 / g.length_m)
    return SEMI_ELLIPSE * g.depth_m


def projected_area(defect: Any, load_direction_rad: float) -> float:
    """Area (m2) of the defect projected on the plane normal to the load ([M2002] ch. 2):
    mean section depth times the extent normal to the load."""
    g = as_geometry(defect)
    return _mean_depth(g) * projected_extent(g, load_direction_rad)


def effective_sqrt_area(defect: Any, load_direction_rad: float, location: str = "surface") -> float:
    """sqrt(area_eff) in metres, with Murakami's long-shallow-crack rule for surface defects:
    when extent / depth >= 10, sqrt(area_eff) = sqrt(10) * depth ([M2002] ch. 6; [ME94]).

    Note the rule is a cap on how much a shallow defect's length counts; for a semi-elliptical
    section the plain projected area at extent = 10 depth is 7.85 depth^2, so sqrt(area) jumps by
    13 % at the threshold (sigma_w by 2 %, as it goes with the 1/6 power).
    """
    g = as_geometry(defect)
    extent = projected_extent(g, load_direction_rad)
    if _location(location) == "surface" and extent >= LONG_SHALLOW_RATIO * g.depth_m:
        return math.sqrt(LONG_SHALLOW_RATIO) * g.depth_m
    return math.sqrt(max(projected_area(g, load_direction_rad), 0.0))


def _interval(g: DefectGeometry, direction: float, extent: float) -> tuple[float, float]:
    centre = g.x_m * math.cos(direction) + g.y_m * math.sin(direction)
    return centre - extent / 2, centre + extent / 2


def merge_interacting(defects: Iterable[Any], load_direction_rad: float) -> list[DefectGeometry]:
    """Apply Murakami's interaction rule ([M2002] ch. 6; [ME94]): two defects whose distance is
    smaller than the size of the smaller one are replaced by one defect enveloping both.

    The distance is measured between footprints (gap normal to the load combined with the gap
    along the load); "size" is the smaller defect's extent normal to the load. The merged defect
    spans both footprints normal to the load, has the larger maximum depth, and its projected
    area is the sum of both areas plus the gap bridged at the shallower mean depth. Defects
    without a position (``x_m``/``y_m``) are kept as they are. Merging repeats until no pair
    interacts.
    """
    psi = float(load_direction_rad)
    normal = psi + math.pi / 2
    items = [as_geometry(d, f"defect {i}") for i, d in enumerate(defects)]
    placed = [g for g in items if g.x_m is not None and g.y_m is not None]
    loose = [g for g in items if g.x_m is None or g.y_m is None]
    changed = True
    while changed and len(placed) > 1:
        changed = False
        for i in range(len(placed)):
            for j in range(i + 1, len(placed)):
                a, b = placed[i], placed[j]
                ea, eb = projected_extent(a, psi), projected_extent(b, psi)
                la, lb = (a.length_m * abs(math.cos(a.orientation_rad - psi)) + a.width_m * abs(math.sin(a.orientation_rad - psi)),
                          b.length_m * abs(math.cos(b.orientation_rad - psi)) + b.width_m * abs(math.sin(b.orientation_rad - psi)))
                (a0, a1), (b0, b1) = _interval(a, normal, ea), _interval(b, normal, eb)
                (p0, p1), (q0, q1) = _interval(a, psi, la), _interval(b, psi, lb)
                gap_n = max(0.0, max(a0, b0) - min(a1, b1))
                gap_l = max(0.0, max(p0, q0) - min(p1, q1))
                if math.hypot(gap_n, gap_l) >= min(ea, eb):
                    continue
                lo, hi = min(a0, b0), max(a1, b1)
                extent = hi - lo
                area = (projected_area(a, psi) + projected_area(b, psi)
                        + gap_n * min(_mean_depth(a), _mean_depth(b)))
                depth = max(a.depth_m, b.depth_m)
                centre = (lo + hi) / 2
                along = ((a.x_m + b.x_m) / 2) * math.cos(psi) + ((a.y_m + b.y_m) / 2) * math.sin(psi)
                x = centre * math.cos(normal) + along * math.cos(psi)
                y = centre * math.sin(normal) + along * math.sin(psi)
                # store as a defect lying normal to the load, whose sqrt_area gives that area
                merged = DefectGeometry(kind=f"{a.kind}+{b.kind}", depth_m=depth, length_m=extent,
                                        width_m=max(la, lb, 0.0), area_m2=a.area_m2 + b.area_m2,
                                        sqrt_area_m=math.sqrt(min(area, depth * extent)),
                                        orientation_rad=normal, x_m=x, y_m=y)
                placed = [g for k, g in enumerate(placed) if k not in (i, j)] + [merged]
                changed = True
                break
            if changed:
                break
    return placed + loose
