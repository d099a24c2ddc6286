"""The notch effect of surface roughness: profile valley radii, the Arola-Ramulu effective stress
concentration, notch sensitivity (Peterson, Neuber) and the FKM roughness factor.

Sources
-------
[AR99]  D. Arola, M. Ramulu, "An examination of the effects from surface texture on the strength
        of fiber-reinforced plastics", J. Compos. Mater. 33 (1999) 102-123 (origin of the model).
[AW02]  D. Arola, C.L. Williams, "Estimating the fatigue stress concentration factor of machined
        surfaces", Int. J. Fatigue 24 (2002) 923-930: the model as used for metals,
        Kt = 1 + n (Ra / rho) (Ry / Rz), rho the mean radius of the dominant profile valleys,
        n = 1 for shear and n = 2 for uniaxial (tension) loading, as in Neuber's rule for
        roughness Kt = 1 + n sqrt(lambda Rz / rho) on which it builds; Kf from Peterson's q.
        (Their measured Kf for abrasive-waterjet cut AISI 4130 were 1.01-1.08 and the model was
        within 2 % of them, per the abstract; the per-specimen Ra/Ry/Rz/rho were not available
        to us, so the tests check the formula by hand calculation.)
[P74]   R.E. Peterson, *Stress Concentration Factors*, Wiley, 1974: q = 1 / (1 + a / rho),
        a = 0.0254 mm (2070 MPa / Su)^1.8 for steels (Su >= 550 MPa), as quoted in Shigley's
        *Mechanical Engineering Design* (eq. 6-34 and its Peterson fit).
[N58]   H. Neuber, *Kerbspannungslehre*, 2nd ed., 1958: q = 1 / (1 + sqrt(a_N / rho)); for steels
        Kuhn & Hardrath's fit sqrt(a_N) [sqrt(in)] = 0.246 - 3.08e-3 Su + 1.51e-5 Su^2 - 2.67e-8 Su^3
        (Su in kpsi) (Shigley eq. 6-35a).
[FKM]   FKM guideline *Analytical strength assessment of components*, 6th ed., 2012, sec. 4.3.1.3:
        K_R,sigma = 1 - a_R,sigma log10(Rz / 1 um) log10(2 Rm / Rm,N,min); constants a_R,sigma and
        Rm,N,min per material group (steel 0.22 / 400 MPa, cast steel 0.20 / 400 MPa, wrought
        aluminium 0.22 / 133 MPa, cast aluminium 0.20 / 133 MPa). FKM gives no constants for
        titanium alloys; the function refuses that group rather than guess.

Valley radius (the rho of [AW02]): on the roughness profile, each profile element's valley
(lowest point between two crossings of the mean line, ISO 4287 / ISO 21920-2 profile element with
the default height discrimination of 10 % of Rz) is fitted with a parabola z = z0 + c (x - x0)^2
over the points of the valley lying within 10 % of the valley depth from its bottom (at least
the bottom and its two neighbours); the radius of curvature at the bottom is 1 / (2 c). The mean of
these radii is rho. The radius cannot be resolved below about the sampling interval, nor below the
stylus tip radius of the instrument that measured the profile: document both with the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ParameterError
from ..surface import Profile

__all__ = [
    "ValleyRadii",
    "valley_radii",
    "arola_ramulu_kt",
    "load_factor",
    "peterson_constant",
    "peterson_q",
    "neuber_q",
    "fatigue_notch_factor",
    "FKM_ROUGHNESS",
    "fkm_roughness_factor",
]


@dataclass(frozen=True)
class ValleyRadii:
    """Radii of curvature at the profile's valley bottoms.

    Attributes
    ----------
    radii_m
        One radius per valley (metres), in profile order.
    positions_m
        x of each valley bottom (metres).
    depths_m
        Depth of each valley below the mean line (metres).
    mean_m
        Mean radius rho (metres).
    resolution_m
        Sampling interval: radii near or below it are not resolved by the data.
    """

    radii_m: np.ndarray
    positions_m: np.ndarray
    depths_m: np.ndarray
    mean_m: float
    resolution_m: float


def _valley_fit(x: np.ndarray, z: np.ndarray, k: int, fraction: float) -> float | None:
    """Parabola fit at the bottom index k; returns the radius or None when not convex."""
    bottom = z[k]
    left = right = k
    depth_ref = abs(bottom) * fraction
    while left - 1 >= 0 and np.isfinite(z[left - 1]) and z[left - 1] - bottom <= depth_ref:
        left -= 1
    while right + 1 < len(z) and np.isfinite(z[right + 1]) and z[right + 1] - bottom <= depth_ref:
        right += 1
    left, right = min(left, k - 1), max(right, k + 1)
    if left < 0 or right >= len(z):
        return None
    xs, zs = x[left:right + 1] - x[k], z[left:right + 1]
    if not np.all(np.isfinite(zs)):
        return None
    c = np.polyfit(xs, zs, 2)[0]
    if not (c > 0):
        return None
    return 1.0 / (2.0 * c)


def valley_radii(profile: Profile, *, discrimination: float = 0.10, fraction: float = 0.10) -> ValleyRadii:
    """Measure the radius at each significant valley of a roughness profile.

    Parameters
    ----------
    profile
        A roughness profile (form and waviness already removed; heights in metres about a mean line).
        NaN points split the profile; valleys touching a NaN are skipped.
    discrimination
        Height discrimination for profile elements, as a fraction of Rz (ISO 4287 default 10 %).
    fraction
        Part of each valley's depth (from its bottom) used for the parabola fit. Smaller is less
        biased on smooth valleys (a sine: +1.4 % at 0.10, +3.9 % at 0.25) but uses fewer points.

    Returns
    -------
    ValleyRadii

    Examples
    --------
    A sine of amplitude A and wavelength L has the valley radius L^2 / (4 pi^2 A):

    >>> x = np.arange(4000) * 0.25e-6
    >>> r = valley_radii(Profile(1e-6 * np.cos(2 * np.pi * x / 100e-6), 0.25e-6))
    >>> round(r.mean_m / (100e-6 ** 2 / (4 * np.pi ** 2 * 1e-6)), 2)   # parabola over 10 % of the depth: +1.4 %
    1.01
    """
    if not isinstance(profile, Profile):
        raise InputError(f"valley_radii: expected a Profile, got {type(profile).__name__}")
    z = np.asarray(profile.heights, dtype=float)
    finite = np.isfinite(z)
    if finite.sum() < 5:
        raise ParameterError("valley_radii: fewer than 5 valid points on the profile")
    z = z - np.nanmean(z)
    x = np.arange(z.size) * profile.dx
    rz = float(np.nanmax(z) - np.nanmin(z))
    if rz <= 0:
        raise ParameterError("valley_radii: the profile is flat; it has no valleys")
    threshold = discrimination * rz
    below = np.where(finite, z < 0, False)
    radii, positions, depths = [], [], []
    start = None
    for i in range(z.size + 1):
        inside = i < z.size and below[i]
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            end = i  # valley segment [start, end)
            touches_gap = (start > 0 and not finite[start - 1]) or (end < z.size and not finite[end])
            at_edge = start == 0 or end == z.size
            if not touches_gap and not at_edge:
                k = start + int(np.argmin(z[start:end]))
                if -z[k] >= threshold:
                    r = _valley_fit(x, z, k, fraction)
                    if r is not None:
                        radii.append(r)
                        positions.append(x[k])
                        depths.append(-z[k])
            start = None
    if not radii:
        raise ParameterError("valley_radii: no valley deeper than the height discrimination "
                             f"({discrimination:.0%} of Rz) could be fitted")
    radii_a = np.asarray(radii)
    return ValleyRadii(radii_a, np.asarray(positions), np.asarray(depths), float(radii_a.mean()), profile.dx)


_LOAD = {"tension": 2.0, "axial": 2.0, "bending": 2.0, "uniaxial": 2.0, "shear": 1.0, "torsion": 1.0}


def load_factor(load: str) -> float:
    """n of [AW02]: 2 for uniaxial (tension, bending), 1 for shear (torsion)."""
    try:
        return _LOAD[str(load).strip().lower()]
    except KeyError:
        raise InputError(f"load type {load!r}: expected one of {', '.join(_LOAD)}") from None


def arola_ramulu_kt(Ra: float, Ry: float, Rz: float, rho: float, load: str = "tension") -> float:
    """Effective stress concentration of a rough surface, Kt = 1 + n (Ra / rho) (Ry / Rz) [AW02].

    Parameters
    ----------
    Ra, Ry, Rz
        Arithmetic mean roughness, maximum peak-to-valley height (Ry = Rt of the evaluation length
        in [AW02]'s ANSI notation; Rz of ISO 4287 over one sampling length in ISO 21920 terms) and
        ten-point/mean maximum height, all in the same length unit.
    rho
        Mean valley radius (same unit), see :func:`valley_radii`.
    load
        ``"tension"``/``"bending"`` (n = 2) or ``"shear"``/``"torsion"`` (n = 1).

    Examples
    --------
    >>> arola_ramulu_kt(1.0, 8.0, 6.0, 40.0)   # 1 + 2 * (1/40) * (8/6)
    1.0666666666666667
    """
    for name, value in (("Ra", Ra), ("Ry", Ry), ("Rz", Rz), ("rho", rho)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"Arola-Ramulu Kt: {name} must be a positive finite length, got {value!r}")
    return 1.0 + load_factor(load) * (Ra / rho) * (Ry / Rz)


def peterson_constant(tensile_strength_Pa: float) -> float:
    """Peterson's characteristic length a (m) for steels: 0.0254 mm (2070 MPa / Su)^1.8 [P74].

    The fit is stated for Su >= 550 MPa; below it the value is extrapolated (a grows).
    """
    su = tensile_strength_Pa / 1e6
    if not (math.isfinite(su) and su > 0):
        raise InputError(f"tensile strength {tensile_strength_Pa!r} Pa: must be positive")
    return 0.0254e-3 * (2070.0 / su) ** 1.8


def peterson_q(rho_m: float, a_m: float) -> float:
    """Notch sensitivity q = 1 / (1 + a / rho) [P74]."""
    if not (rho_m > 0 and a_m > 0):
        raise InputError(f"Peterson q: rho ({rho_m!r} m) and a ({a_m!r} m) must be positive")
    return 1.0 / (1.0 + a_m / rho_m)


def neuber_q(rho_m: float, tensile_strength_Pa: float) -> float:
    """Notch sensitivity q = 1 / (1 + sqrt(a_N / rho)) with Kuhn-Hardrath's sqrt(a_N) for steels [N58]."""
    su = tensile_strength_Pa / 6.894757e6  # kpsi
    sqrt_a_in = 0.246 - 3.08e-3 * su + 1.51e-5 * su ** 2 - 2.67e-8 * su ** 3
    if sqrt_a_in <= 0 or su > 250:
        raise InputError(f"Neuber q: Kuhn-Hardrath's fit covers steels up to 250 kpsi, got {su:.0f} kpsi")
    sqrt_a_m = sqrt_a_in * math.sqrt(0.0254)
    if not rho_m > 0:
        raise InputError(f"Neuber q: rho must be positive, got {rho_m!r} m")
    return 1.0 / (1.0 + sqrt_a_m / math.sqrt(rho_m))


def fatigue_notch_factor(kt: float, q: float) -> float:
    """Kf = 1 + q (Kt - 1) (Peterson's definition of notch sensitivity)."""
    if kt < 1 or not 0 <= q <= 1:
        raise InputError(f"Kf: need Kt >= 1 and 0 <= q <= 1, got Kt={kt!r}, q={q!r}")
    return 1.0 + q * (kt - 1.0)


#: FKM guideline (6th ed.) table for K_R,sigma: material group -> (a_R,sigma, Rm,N,min in Pa).
FKM_ROUGHNESS: dict[str, tuple[float, float]] = {
    "steel": (0.22, 400e6),
    "stainless_steel": (0.22, 400e6),
    "cast_steel": (0.20, 400e6),
    "nodular_cast_iron": (0.16, 400e6),
    "malleable_cast_iron": (0.12, 350e6),
    "grey_cast_iron": (0.06, 100e6),
    "wrought_aluminium": (0.22, 133e6),
    "cast_aluminium": (0.20, 133e6),
}


def fkm_roughness_factor(Rz_m: float, tensile_strength_Pa: float, group: str) -> float:
    """FKM roughness factor K_R,sigma = 1 - a_R log10(Rz/um) log10(2 Rm / Rm,N,min) [FKM].

    Returns 1 for Rz <= 1 um (polished; FKM's formula is for Rz >= 1 um).

    Examples
    --------
    >>> round(fkm_roughness_factor(100e-6, 600e6, "steel"), 2)   # FKM worked example: 0.79
    0.79
    """
    key = str(group).strip().lower()
    if key not in FKM_ROUGHNESS:
        raise InputError(f"FKM roughness factor: no constants for material group {group!r}; FKM gives "
                         f"them for {', '.join(FKM_ROUGHNESS)} (not for titanium alloys)")
    if not (math.isfinite(Rz_m) and Rz_m >= 0):
        raise InputError(f"FKM roughness factor: Rz must be a non-negative length, got {Rz_m!r}")
    a_r, rm_min = FKM_ROUGHNESS[key]
    rz_um = Rz_m * 1e6
    if rz_um <= 1.0:
        return 1.0
    return 1.0 - a_r * math.log10(rz_um) * math.log10(2.0 * tensile_strength_Pa / rm_min)
