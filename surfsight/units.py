"""Lengths and other quantities at the edges of surfsight: parsing flags such as ``80um``
or ``2.5mm`` into SI values, and choosing readable units for people.

Inside surfsight every length is in metres; only the command line, reports and file
readers convert.
"""

from __future__ import annotations

import math
import re

from .errors import InputError

#: Length units to metres. ``u`` and ``µ``/``μ`` both mean micro.
LENGTH_UNITS: dict[str, float] = {
    "m": 1.0,
    "dm": 1e-1,
    "cm": 1e-2,
    "mm": 1e-3,
    "um": 1e-6,
    "µm": 1e-6,
    "μm": 1e-6,
    "micron": 1e-6,
    "microns": 1e-6,
    "nm": 1e-9,
    "pm": 1e-12,
    "A": 1e-10,
    "Å": 1e-10,
    "km": 1e3,
    "in": 0.0254,
    "inch": 0.0254,
    "mil": 25.4e-6,
    "uin": 25.4e-9,
}

#: Pressure/stress units to pascals.
STRESS_UNITS: dict[str, float] = {"Pa": 1.0, "kPa": 1e3, "MPa": 1e6, "GPa": 1e9, "N/mm2": 1e6, "N/mm^2": 1e6}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")


def parse_quantity(text: str | float | int, units: dict[str, float], *, what: str = "value",
                   default_unit: str | None = None) -> float:
    """Parse ``"2.5mm"`` into SI using the given unit table.

    A bare number is taken in ``default_unit`` (SI when ``None``).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
        return value * (units[default_unit] if default_unit else 1.0)
    match = _QUANTITY.match(str(text))
    if not match:
        raise InputError(f"{what}: cannot read {text!r} as a number with a unit (e.g. '2.5um')")
    number, unit = float(match.group(1)), match.group(2)
    if unit is None:
        return number * (units[default_unit] if default_unit else 1.0)
    if unit not in units:
        known = ", ".join(sorted(units))
        raise InputError(f"{what}: unknown unit {unit!r} in {text!r}; known units: {known}")
    return number * units[unit]


def parse_length(text: str | float | int, *, what: str = "length", default_unit: str | None = None) -> float:
    """Parse a length such as ``"80um"``, ``"0.8 mm"`` or ``"2.5e-6"`` (metres) into metres."""
    return parse_quantity(text, LENGTH_UNITS, what=what, default_unit=default_unit)


def length_unit(value: float) -> tuple[str, float]:
    """Choose a readable unit for a length in metres: returns ``(symbol, metres per unit)``."""
    magnitude = abs(value)
    if not math.isfinite(magnitude) or magnitude == 0:
        return "µm", 1e-6
    for symbol, scale in (("m", 1.0), ("mm", 1e-3), ("µm", 1e-6), ("nm", 1e-9)):
        if magnitude >= scale:
            return symbol, scale
    return "pm", 1e-12


def format_length(value: float, digits: int = 4) -> str:
    """Format a length in metres with a readable unit, e.g. ``1.234 µm``."""
    symbol, scale = length_unit(value)
    return f"{value / scale:.{digits}g} {symbol}"
