"""Decision rules for conformance with a specification, after ISO 14253-1:2017.

ISO 14253-1:2017 (*Geometrical product specifications -- Inspection by measurement of workpieces
and measuring equipment -- Part 1: Decision rules for verifying conformity or nonconformity with
specifications*) separates the specification zone (between the limits) from the acceptance zone
used to decide, the two differing by a guard band w derived from the expanded uncertainty
U = k u (clause 3 definitions; k = 2 by default, ISO/IEC Guide 98-3):

* ``simple`` -- *simple acceptance* (shared risk, guard band w = 0): the measured value decides
  alone; inside the specification zone (limits included) -> ``conform``, outside -> ``nonconform``.
* ``guarded`` -- guard bands of width U on both sides (clause 5/6 default rules of the 1998 edition,
  *guarded acceptance* in the 2017 terms): conformance is proven when the value lies in the
  specification zone reduced by U, nonconformance when it lies outside the zone enlarged by U;
  in between the measurement cannot decide -> ``indeterminate``.

Consequences, checked by property tests: with U = 0 the two rules coincide; guarded never
accepts what simple rejects; moving the value farther inside a limit never worsens the outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import InputError

__all__ = ["Status", "CONFORM", "NONCONFORM", "INDETERMINATE", "Check", "decide", "worst", "RULES"]

Status = Literal["conform", "indeterminate", "nonconform"]
CONFORM: Status = "conform"
INDETERMINATE: Status = "indeterminate"
NONCONFORM: Status = "nonconform"
RULES = ("simple", "guarded")
_RANK = {CONFORM: 0, INDETERMINATE: 1, NONCONFORM: 2}


def worst(statuses) -> Status:
    """The least favourable status (nonconform > indeterminate > conform); conform when empty."""
    result: Status = CONFORM
    for status in statuses:
        if _RANK[status] > _RANK[result]:
            result = status
    return result


@dataclass(frozen=True)
class Check:
    """One decided limit: what was checked, against what, with which rule, and the outcome.

    ``value``, ``U``, ``lower`` and ``upper`` are in ``unit`` (SI or as the registry reports).
    """

    check: str
    status: Status
    value: float | None
    U: float
    lower: float | None
    upper: float | None
    rule: str
    unit: str = ""
    message: str = ""

    def as_dict(self) -> dict:
        return {"check": self.check, "status": self.status, "value": self.value, "U": self.U,
                "lower": self.lower, "upper": self.upper, "rule": self.rule, "unit": self.unit,
                "message": self.message}


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if unit == "m":
        from ..units import format_length

        return format_length(x)
    return f"{x:.6g}{(' ' + unit) if unit and unit != '1' else ''}"


def decide(check: str, value: float | None, U: float = 0.0, *, lower: float | None = None,
           upper: float | None = None, rule: str = "simple", unit: str = "") -> Check:
    """Decide one measured value against its limits.

    Parameters
    ----------
    check
        What is checked (``"Sa max"``, ``"scratch 2 depth"``), used in the message.
    value
        The measured value; ``None`` (not measured) gives ``indeterminate``.
    U
        Expanded uncertainty U = k u (same unit as the value), >= 0.
    lower, upper
        Specification limits (``None`` = no limit on that side); lower <= upper.
    rule
        ``"simple"`` or ``"guarded"`` (see the module docstring).
    """
    if rule not in RULES:
        raise InputError(f"decision rule {rule!r}: expected one of {', '.join(RULES)}")
    if U is None or not math.isfinite(U) or U < 0:
        raise InputError(f"{check}: expanded uncertainty U must be a finite number >= 0, got {U!r}")
    if lower is not None and upper is not None and lower > upper:
        raise InputError(f"{check}: lower limit {lower} is above upper limit {upper}")
    limits = f"[{_fmt(lower, unit)}, {_fmt(upper, unit)}]"
    if value is None or not math.isfinite(value):
        return Check(check, INDETERMINATE, value, U, lower, upper, rule, unit,
                     f"{check}: not measured, conformance cannot be decided")
    width = U if rule == "guarded" else 0.0
    inside = (lower is None or value >= lower + width) and (upper is None or value <= upper - width)
    outside = (lower is not None and value < lower - width) or (upper is not None and value > upper + width)
    described = f"{check}: {_fmt(value, unit)} (U = {_fmt(U, unit)}) against {limits}"
    if inside:
        status, why = CONFORM, ("inside the limits" if rule == "simple"
                                else "inside the limits by more than U (guarded acceptance)")
    elif outside:
        status, why = NONCONFORM, ("outside the limits" if rule == "simple"
                                   else "outside the limits by more than U (nonconformance proven)")
    else:
        status, why = INDETERMINATE, "within U of a limit: the measurement cannot decide (guarded rule)"
    return Check(check, status, float(value), float(U), lower, upper, rule, unit, f"{described}: {why} [{rule}]")
