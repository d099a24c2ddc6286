"""The areal material ratio (Abbott-Firestone) curve and the functional parameters derived from it,
ISO 25178-2:2021 clause 4.5 and ISO 13565-2:1996 (core roughness Sk family).

The curve
---------
The valid heights, centred on their mean, are sorted once in descending order
``h[0] >= h[1] >= ... >= h[n-1]``. The material ratio curve ``h(mr)`` is the piecewise-linear
curve through the points ``(k / (n-1), h[k])``: the height at which the material ratio is
``mr`` (``h(0)`` = highest point, ``h(1)`` = deepest). This is the linear-interpolated
empirical quantile ``h(mr) = quantile(z, 1 - mr)``. ``Smr(c)`` is its inverse, so
``Smr(Smc(mr)) = mr``. Integrals of the curve are exact for that piecewise-linear curve
(a cumulative trapezoid sum computed once), so the volume and Sk parameters carry no
binning error.

Everything is built once by :func:`material_ratio_curve` and passed explicitly (``curve=``)
to every parameter function; the Sk family shares a second intermediate, :class:`CoreLine`
(``core=``). Nothing is cached behind the caller's back.

Reference height
----------------
Heights ``c`` (the argument of ``Smr(c)`` and the result of ``Smc(mr)``) are measured from the
mean plane of the valid heights, i.e. from the reference surface of the scale-limited surface
(ISO 25178-2:2021 3.1.8); ``reference="top"`` measures ``c`` downwards from the highest point
instead, as some instrument software does for ``Smr(c)``.

Units
-----
Material ratios (``Smr(c)``, ``Smr1``, ``Smr2`` and the arguments ``mr``, ``p``, ``q``) are in per
cent as the standard writes them; heights in metres; volumes in m^3/m^2 (= m; multiply by
1e6 for the ml/m^2 of the standard's tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..surface import Surface
from .height import _source, centred_heights

__all__ = [
    "MaterialRatioCurve", "CoreLine", "material_ratio_curve", "core_line",
    "Smr", "Smc", "Sxp", "Sk", "Spk", "Svk", "Smr1", "Smr2", "Spkx", "Svkx",
    "Vm", "Vv", "Vmp", "Vmc", "Vvc", "Vvv", "functional_parameters",
]

#: Width of the equivalent-line window, ISO 13565-2:1996 4.1 (fraction of the material ratio).
CORE_WINDOW = 0.40


@dataclass(frozen=True)
class MaterialRatioCurve:
    """The material ratio curve of a surface (see the module notes).

    Attributes
    ----------
    heights
        Valid heights minus their mean, sorted in descending order (metres).
    cumulative
        ``cumulative[k]`` = integral of ``h(mr)`` from ``mr = 0`` to ``k / (n-1)`` (metres).
    source
        Name of the surface, for messages.
    """

    heights: np.ndarray
    cumulative: np.ndarray
    source: str = "surface"

    @property
    def n(self) -> int:
        return int(self.heights.size)

    def _position(self, mr: float) -> float:
        if not 0.0 <= mr <= 1.0 or math.isnan(mr):
            raise ParameterError(f"{self.source}: material ratio must lie in 0..100 %, got {mr * 100:g} %")
        return mr * (self.n - 1)

    def height_at(self, mr: float) -> float:
        """``h(mr)``: the height (m, from the mean plane) where the material ratio is ``mr`` (fraction)."""
        p = self._position(mr)
        k = min(int(p), self.n - 2)
        t = p - k
        return float(self.heights[k] + t * (self.heights[k + 1] - self.heights[k]))

    def ratio_at(self, c: float) -> float:
        """Material ratio (fraction 0..1) at height ``c`` (m, from the mean plane)."""
        h = self.heights
        if c >= h[0]:
            return 0.0
        if c <= h[-1]:
            return 1.0
        ascending = h[::-1]
        i = int(np.searchsorted(ascending, c, side="left"))  # ascending[i-1] < c <= ascending[i]
        lo, hi = ascending[i - 1], ascending[i]
        pos_asc = (i - 1) + (c - lo) / (hi - lo)
        return float(((self.n - 1) - pos_asc) / (self.n - 1))

    def integral(self, mr: float) -> float:
        """``integral_0^mr h(q) dq`` (m), exact for the piecewise-linear curve."""
        p = self._position(mr)
        k = min(int(p), self.n - 2)
        t = p - k
        h0, h1 = self.heights[k], self.heights[k + 1]
        partial = t / (self.n - 1) * (h0 + 0.5 * t * (h1 - h0))
        return float(self.cumulative[k] + partial)

    def material_volume(self, mr: float) -> float:
        """``Vm`` at material ratio ``mr`` (fraction): material above ``h(mr)`` per unit area (m)."""
        return self.integral(mr) - mr * self.height_at(mr)

    def void_volume(self, mr: float) -> float:
        """``Vv`` at material ratio ``mr`` (fraction): void below ``h(mr)`` per unit area (m)."""
        return (1.0 - mr) * self.height_at(mr) - (float(self.cumulative[-1]) - self.integral(mr))


def _curve_from_values(values: np.ndarray, source: str) -> MaterialRatioCurve:
    if values.size < 2:
        raise ParameterError(f"{source}: the material ratio curve needs at least 2 valid points, got {values.size}")
    h = np.sort(values)[::-1]
    step = 1.0 / (h.size - 1)
    cumulative = np.empty_like(h)
    cumulative[0] = 0.0
    np.cumsum((h[:-1] + h[1:]) * (0.5 * step), out=cumulative[1:])
    return MaterialRatioCurve(h, cumulative, source)


def material_ratio_curve(surface: Surface, *, values: np.ndarray | None = None) -> MaterialRatioCurve:
    """Build the material ratio curve once (one sort of the valid heights).

    ``values`` are the centred valid heights if already at hand (see
    :func:`surfsight.metrology.height.centred_heights`).
    """
    v = centred_heights(surface) if values is None else values
    return _curve_from_values(v, _source(surface))


@dataclass(frozen=True)
class CoreLine:
    """The ISO 13565-2 equivalent straight line and the Sk family derived from it.

    Attributes (heights in metres from the mean plane; ratios as fractions 0..1)
    ----------
    start
        Material ratio where the 40 % window of least secant gradient starts.
    slope, intercept
        Least-squares line ``h = intercept + slope * mr`` through the curve points in that window.
    upper, lower
        The line at ``mr = 0`` and ``mr = 1``: the limits of the core.
    mr1, mr2
        Material ratios where the curve crosses ``upper`` and ``lower``.
    peak_area, valley_area
        ``A1`` = integral of ``h - upper`` over ``0..mr1``; ``A2`` = integral of ``lower - h`` over
        ``mr2..1`` (m, per unit material ratio).
    """

    start: float
    slope: float
    intercept: float
    upper: float
    lower: float
    mr1: float
    mr2: float
    peak_area: float
    valley_area: float

    @property
    def Sk(self) -> float:
        return self.upper - self.lower

    @property
    def Spk(self) -> float:
        return 2.0 * self.peak_area / self.mr1 if self.mr1 > 0 and self.peak_area > 0 else 0.0

    @property
    def Svk(self) -> float:
        return 2.0 * self.valley_area / (1.0 - self.mr2) if self.mr2 < 1 and self.valley_area > 0 else 0.0


def core_line(curve: MaterialRatioCurve) -> CoreLine:
    """Find the equivalent straight line of ISO 13565-2:1996, 4.1 (applied areally by ISO 25178-2 4.5.4).

    1. Slide a secant of 40 % material-ratio width along the curve; the central region is the
       window whose secant has the least gradient (the first such window if several tie).
       Window starts are the curve's own points ``k / (n-1)``.
    2. The equivalent line is the least-squares line (height on material ratio) through the
       curve points inside that window.
    """
    h = curve.heights
    n = h.size
    if n < 3:
        raise ParameterError(f"{curve.source}: the Sk family needs at least 3 valid points, got {n}")
    offset = CORE_WINDOW * (n - 1)
    f = int(offset)
    frac = offset - f
    starts = n - f - 1 if frac > 0 else n - f  # windows whose end stays inside the curve
    end = h[f:f + starts] + frac * (h[f + 1:f + 1 + starts] - h[f:f + starts]) if frac > 0 else h[f:f + starts]
    secant = end - h[:starts]               # <= 0; least gradient = largest value
    k0 = int(np.argmax(secant))
    seg = h[k0:k0 + f + 1]                  # curve points with mr in [start, start + 40 %]
    m = seg.size
    if m < 2:
        raise ParameterError(f"{curve.source}: too few points for the equivalent straight line")
    i = np.arange(m, dtype=np.float64)
    i -= (m - 1) / 2.0
    denom = m * (m * m - 1) / 12.0
    slope_per_point = float(np.einsum('i,i->', i, seg)) / denom
    slope = slope_per_point * (n - 1)
    mean_h = float(seg.mean())
    mean_mr = (k0 + (m - 1) / 2.0) / (n - 1)
    intercept = mean_h - slope * mean_mr
    upper, lower = intercept, intercept + slope
    mr1 = curve.ratio_at(upper)
    mr2 = curve.ratio_at(lower)
    peak_area = max(curve.integral(mr1) - mr1 * upper, 0.0)
    valley_area = max((1.0 - mr2) * lower - (float(curve.cumulative[-1]) - curve.integral(mr2)), 0.0)
    return CoreLine(k0 / (n - 1), slope, intercept, upper, lower, mr1, mr2, peak_area, valley_area)


# --- parameter functions ---------------------------------------------------------------------

def _curve(surface: Surface, curve: MaterialRatioCurve | None) -> MaterialRatioCurve:
    return material_ratio_curve(surface) if curve is None else curve


def _core(surface: Surface, curve: MaterialRatioCurve | None, core: CoreLine | None) -> CoreLine:
    return core_line(_curve(surface, curve)) if core is None else core


def _fraction(percent: float, name: str, source: str) -> float:
    value = float(percent)
    if not 0.0 <= value <= 100.0:
        raise ParameterError(f"{source}: {name} must be a material ratio in 0..100 %, got {percent!r}")
    return value / 100.0


def Smr(surface: Surface, c: float, *, curve: MaterialRatioCurve | None = None, reference: str = "mean") -> float:
    """Areal material ratio at height ``c``, ISO 25178-2:2021 4.5.1, in per cent.

    ``c`` is in metres from the mean plane (``reference="mean"``) or downwards from the highest
    point (``reference="top"``).
    """
    cv = _curve(surface, curve)
    if reference == "top":
        c = float(cv.heights[0]) - float(c)
    elif reference != "mean":
        raise ParameterError(f"Smr: reference must be 'mean' or 'top', got {reference!r}")
    return 100.0 * cv.ratio_at(float(c))


def Smc(surface: Surface, mr: float, *, curve: MaterialRatioCurve | None = None) -> float:
    """Inverse areal material ratio, ISO 25178-2:2021 4.5.2: the height (m, from the mean plane)
    at which the material ratio is ``mr`` per cent."""
    cv = _curve(surface, curve)
    return cv.height_at(_fraction(mr, "mr", cv.source))


def Sxp(surface: Surface, p: float = 2.5, q: float = 50.0, *, curve: MaterialRatioCurve | None = None) -> float:
    """Peak extreme height, ISO 25178-2:2021 4.5.3: ``Smc(p) - Smc(q)`` with p = 2.5 %, q = 50 % (m)."""
    cv = _curve(surface, curve)
    return cv.height_at(_fraction(p, "p", cv.source)) - cv.height_at(_fraction(q, "q", cv.source))


def Sk(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Core height, ISO 25178-2:2021 4.5.4 / ISO 13565-2: height span of the equivalent line over 0..100 % (m)."""
    return _core(surface, curve, core).Sk


def Spk(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Reduced peak height: height of the triangle of base Smr1 with the area A1 of the peaks (m).

    0 when no material lies above the core (Smr1 = 0)."""
    return _core(surface, curve, core).Spk


def Svk(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Reduced dale height: height of the triangle of base 100 % - Smr2 with the area A2 of the dales (m)."""
    return _core(surface, curve, core).Svk


def Smr1(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Material ratio separating the peaks from the core, in per cent."""
    return 100.0 * _core(surface, curve, core).mr1


def Smr2(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Material ratio separating the dales from the core, in per cent."""
    return 100.0 * _core(surface, curve, core).mr2


def Spkx(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Peak height above the core: highest point minus the upper core limit (m)."""
    cv = _curve(surface, curve)
    return float(cv.heights[0]) - _core(surface, cv, core).upper


def Svkx(surface: Surface, *, curve: MaterialRatioCurve | None = None, core: CoreLine | None = None) -> float:
    """Dale depth below the core: lower core limit minus the deepest point (m)."""
    cv = _curve(surface, curve)
    return _core(surface, cv, core).lower - float(cv.heights[-1])


def Vm(surface: Surface, p: float, *, curve: MaterialRatioCurve | None = None) -> float:
    """Material volume at material ratio ``p`` per cent, ISO 25178-2:2021 4.5.6 (m^3/m^2)."""
    cv = _curve(surface, curve)
    return cv.material_volume(_fraction(p, "p", cv.source))


def Vv(surface: Surface, p: float, *, curve: MaterialRatioCurve | None = None) -> float:
    """Void volume at material ratio ``p`` per cent, ISO 25178-2:2021 4.5.7 (m^3/m^2)."""
    cv = _curve(surface, curve)
    return cv.void_volume(_fraction(p, "p", cv.source))


def Vmp(surface: Surface, p: float = 10.0, *, curve: MaterialRatioCurve | None = None) -> float:
    """Peak material volume ``Vm(p)``, p = 10 % (m^3/m^2)."""
    return Vm(surface, p, curve=curve)


def Vmc(surface: Surface, p: float = 10.0, q: float = 80.0, *, curve: MaterialRatioCurve | None = None) -> float:
    """Core material volume ``Vm(q) - Vm(p)``, p = 10 %, q = 80 % (m^3/m^2)."""
    cv = _curve(surface, curve)
    return Vm(surface, q, curve=cv) - Vm(surface, p, curve=cv)


def Vvc(surface: Surface, p: float = 10.0, q: float = 80.0, *, curve: MaterialRatioCurve | None = None) -> float:
    """Core void volume ``Vv(p) - Vv(q)``, p = 10 %, q = 80 % (m^3/m^2)."""
    cv = _curve(surface, curve)
    return Vv(surface, p, curve=cv) - Vv(surface, q, curve=cv)


def Vvv(surface: Surface, q: float = 80.0, *, curve: MaterialRatioCurve | None = None) -> float:
    """Dale void volume ``Vv(q)``, q = 80 % (m^3/m^2)."""
    return Vv(surface, q, curve=curve)


def functional_parameters(surface: Surface, *, curve: MaterialRatioCurve | None = None) -> dict[str, float]:
    """Sxp, the Sk family and the four volume parameters from one curve and one core line."""
    cv = _curve(surface, curve)
    core = core_line(cv)
    return {
        "Sxp": Sxp(surface, curve=cv),
        "Sk": core.Sk, "Spk": core.Spk, "Svk": core.Svk,
        "Smr1": 100.0 * core.mr1, "Smr2": 100.0 * core.mr2,
        "Spkx": float(cv.heights[0]) - core.upper, "Svkx": core.lower - float(cv.heights[-1]),
        "Vmp": Vmp(surface, curve=cv), "Vmc": Vmc(surface, curve=cv),
        "Vvc": Vvc(surface, curve=cv), "Vvv": Vvv(surface, curve=cv),
    }
