"""Evaluate measurements against a specification: every limit decided, one verdict with reasons.

The measurements are plain data (what the pipeline produces; JSON-ready)::

    {
      "parameters": {                      # value and standard uncertainty u, in the registry unit
        "Sa": {"value": 1.21e-6, "u": 0.04e-6},
        "Sq": 1.5e-6,                      # a bare number means u = 0
      },
      "defects": [                         # defect records (lengths m, area m2), standard uncertainties
        {"kind": "scratch", "depth_m": 0.8e-6, "length_m": 1.5e-3, "width_m": 20e-6,
         "area_m2": 3e-8, "u_depth_m": 0.1e-6, "u_length_m": 20e-6},
      ],
      "failure": {                         # e.g. surfsight.failure.assess(...).as_measurement()
        "safety_factor": {"value": 1.4, "u": 0.1, "interval": [1.22, 1.6]},
        "failure_probability": {"value": 2e-4, "u": 1e-4, "upper_95": 3.6e-4},
      },
    }

An entry may also give the expanded uncertainty directly as ``"U"`` (then ``u`` is ignored).
Anything the specification limits but the measurements lack is ``indeterminate`` ("not
measured"), never silently accepted. The verdict is the worst of all checks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import InputError
from .decision import CONFORM, INDETERMINATE, NONCONFORM, Check, decide, worst  # noqa: F401
from .schema import Spec, load_spec

__all__ = ["Verdict", "evaluate"]


@dataclass(frozen=True)
class Verdict:
    """The decision for one part: ``status`` and one :class:`Check` per limit, in spec order."""

    status: str
    reasons: list[Check] = field(default_factory=list)
    spec: str = ""
    rule: str = "simple"

    @property
    def deciding(self) -> list[Check]:
        """The checks whose status equals the verdict (why it is what it is)."""
        return [c for c in self.reasons if c.status == self.status]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "spec": self.spec, "rule": self.rule,
                "reasons": [c.as_dict() for c in self.reasons]}

    def __str__(self) -> str:
        lines = [f"{self.spec}: {self.status.upper()} ({self.rule} rule)"]
        lines += [f"  [{c.status}] {c.message}" for c in self.reasons]
        return "\n".join(lines)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"measurements: {what} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value):
        raise InputError(f"measurements: {what} is NaN; leave it out if it was not measured")
    return value


def _value_U(entry: Any, k: float, what: str) -> tuple[float | None, float]:
    """(value, U) from ``{"value": v, "u": u}`` / ``{"value": v, "U": U}`` / a bare number."""
    if entry is None:
        return None, 0.0
    if isinstance(entry, Mapping):
        if entry.get("value") is None:
            return None, 0.0
        value = _number(entry["value"], f"{what}.value")
        if entry.get("U") is not None:
            big_u = _number(entry["U"], f"{what}.U")
        else:
            big_u = k * _number(entry.get("u", 0.0), f"{what}.u")
        if big_u < 0:
            raise InputError(f"measurements: {what} has a negative uncertainty")
        return value, big_u
    return _number(entry, what), 0.0


def _parameter_checks(spec: Spec, measured: Mapping, k: float) -> list[Check]:
    checks = []
    for name, limit in spec.parameters.items():
        value, big_u = _value_U(measured.get(name), k, f"parameters.{name}")
        checks.append(decide(name, value, big_u, lower=limit.min, upper=limit.max, rule=spec.decision_rule,
                             unit=limit.unit))
    return checks


_DIMENSIONS = (("max_depth", "depth_m", "depth", "m"), ("max_length", "length_m", "length", "m"),
               ("max_width", "width_m", "width", "m"), ("max_area", "area_m2", "area", "m2"))


def _get(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)


def _defect_checks(spec: Spec, defects: Any, k: float) -> list[Check]:
    if not spec.defects:
        return []
    if defects is None:
        return [Check(f"defects ({kind})", INDETERMINATE, None, 0.0, None, None, spec.decision_rule, "",
                      f"defects ({kind}): no defect inspection in the measurements") for kind in spec.defects]
    if isinstance(defects, (str, bytes)) or not hasattr(defects, "__iter__"):
        raise InputError("measurements: defects must be a list of defect records")
    records = list(defects)
    checks = []
    for kind, rule in spec.defects.items():
        chosen = [(i, d) for i, d in enumerate(records) if kind == "any" or str(_get(d, "kind")) == kind]
        if rule.max_count is not None:
            checks.append(decide(f"{kind} count", float(len(chosen)), 0.0, upper=float(rule.max_count),
                                 rule=spec.decision_rule))
        for limit_name, field_name, label, unit in _DIMENSIONS:
            limit = getattr(rule, limit_name)
            if limit is None:
                continue
            for i, record in chosen:
                raw = _get(record, field_name)
                value = None if raw is None else _number(raw, f"defects[{i}].{field_name}")
                u_raw = _get(record, f"u_{field_name}")
                u = 0.0 if u_raw is None else _number(u_raw, f"defects[{i}].u_{field_name}")
                checks.append(decide(f"defect {i} ({_get(record, 'kind')}) {label}", value, k * u, upper=limit,
                                     rule=spec.decision_rule, unit=unit))
    return checks


def _failure_checks(spec: Spec, failure: Any, k: float) -> list[Check]:
    rule = spec.failure
    if rule is None:
        return []
    if not isinstance(failure, Mapping):
        return [Check("safety factor", INDETERMINATE, None, 0.0, rule.min_safety_factor, None, spec.decision_rule,
                      "", "safety factor: no failure assessment in the measurements")]
    checks = []
    entry = failure.get("safety_factor")
    value, big_u = _value_U(entry, k, "failure.safety_factor")
    interval = entry.get("interval") if isinstance(entry, Mapping) else None
    if spec.decision_rule == "guarded" and interval is not None and value is not None:
        lo, hi = (_number(interval[0], "failure.safety_factor.interval[0]"),
                  _number(interval[1], "failure.safety_factor.interval[1]"))
        minimum = rule.min_safety_factor
        if lo >= minimum:
            status, why = CONFORM, "whole interval at or above the minimum"
        elif hi < minimum:
            status, why = NONCONFORM, "whole interval below the minimum"
        else:
            status, why = INDETERMINATE, "the interval straddles the minimum"
        checks.append(Check("safety factor", status, value, max(value - lo, hi - value), minimum, None, "guarded", "",
                            f"safety factor: {value:.3g}, 95 % interval [{lo:.3g}, {hi:.3g}] against minimum "
                            f"{minimum:.3g}: {why} [guarded]"))
    else:
        checks.append(decide("safety factor", value, big_u, lower=rule.min_safety_factor, rule=spec.decision_rule))
    if rule.max_failure_probability is not None:
        entry = failure.get("failure_probability")
        value, big_u = _value_U(entry, k, "failure.failure_probability")
        if isinstance(entry, Mapping) and entry.get("upper_95") is not None and value is not None:
            big_u = max(big_u, _number(entry["upper_95"], "failure.failure_probability.upper_95") - value)
        checks.append(decide("failure probability", value, big_u, upper=rule.max_failure_probability,
                             rule=spec.decision_rule))
    return checks


def evaluate(spec: Spec | str | Mapping, measurements: Mapping[str, Any]) -> Verdict:
    """Decide every limit of ``spec`` on ``measurements`` (see the module docstring for the layout).

    Returns
    -------
    Verdict
        ``status`` is ``"conform"``, ``"nonconform"`` or ``"indeterminate"`` (the worst check);
        ``reasons`` lists each check with the value, U, the limits and the rule that decided.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    if not isinstance(measurements, Mapping):
        raise InputError(f"measurements must be a mapping, got {type(measurements).__name__}")
    k = spec.coverage_factor
    parameters = measurements.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InputError("measurements: parameters must be a mapping of name -> {value, u}")
    checks = (_parameter_checks(spec, parameters, k) + _defect_checks(spec, measurements.get("defects"), k)
              + _failure_checks(spec, measurements.get("failure"), k))
    status = worst(c.status for c in checks)
    return Verdict(status, checks, spec.name, spec.decision_rule)

