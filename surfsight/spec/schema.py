"""Specifications: what a surface must satisfy, read from YAML and validated precisely.

A specification (see ``docs/spec.md`` and ``examples/specs/``)::

    name: ground shaft seat
    parameters:            # any parameter of the metrology registry; limits with units
      Sa: {max: 1.5um}
      Sq: {max: 2um}
      Sdr: {min: 1, max: 5}            # per cent, as the registry reports Sdr
    filters: {S: 2.5um, L: 0.8mm}      # optional: lambda_s / lambda_c (or S / L filter nesting indices)
    defects:                           # per kind, or `any` over all kinds
      scratch: {max_depth: 1um, max_length: 2mm}
      any: {max_count: 3}
    decision_rule: guarded             # simple | guarded (ISO 14253-1:2017)
    coverage_factor: 2                 # optional, k of U = k u (default 2)
    failure: {material: steel_42CrMo4_QT, stress_amplitude: 250MPa, min_safety_factor: 1.2}

Values are stored in SI (metres, m2, pascals, radians; per cent and dimensionless as the registry
gives them). Errors are :class:`surfsight.errors.InputError` naming the file and the exact field:
an unknown parameter lists the close matches, a limit in the wrong unit says which unit was
expected, ``min > max`` is refused.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..errors import InputError, ParameterError
from ..units import LENGTH_UNITS, STRESS_UNITS, parse_quantity

__all__ = ["ParameterLimit", "DefectRule", "FailureRule", "Filters", "Spec", "load_spec", "parse_spec",
           "known_parameters", "DEFECT_KINDS"]

#: Defect kinds a rule may name (those the detector and simulator produce), plus ``any``.
DEFECT_KINDS = ("scratch", "dent", "pit", "crack", "inclusion")

_AREA_UNITS = {k + "2": v * v for k, v in LENGTH_UNITS.items() if k in ("m", "mm", "um", "µm", "μm", "nm", "cm")}
_ANGLE_UNITS = {"rad": 1.0, "deg": math.pi / 180, "°": math.pi / 180, "mrad": 1e-3}
_UNIT_TABLES: dict[str, tuple[str, dict[str, float]]] = {
    "m": ("a length", LENGTH_UNITS),
    "m2": ("an area", _AREA_UNITS),
    "Pa": ("a stress", STRESS_UNITS),
    "rad": ("an angle", _ANGLE_UNITS),
    "%": ("a percentage", {"%": 1.0}),
    "1": ("a plain number", {}),
    "m3/m2": ("a volume per area", {"m3/m2": 1.0, "mm3/mm2": 1e-3, "um3/um2": 1e-6, "µm3/µm2": 1e-6,
                                     "ml/m2": 1e-6}),
    "1/m2": ("a density per area", {"1/m2": 1.0, "1/mm2": 1e6, "1/um2": 1e12, "1/µm2": 1e12}),
    "1/m": ("a curvature", {"1/m": 1.0, "1/mm": 1e3, "1/um": 1e6, "1/µm": 1e6}),
}


def known_parameters() -> dict[str, str]:
    """Parameter names a specification may use, with their units: the areal registry
    (``metrology.PARAMETERS``) and the profile registry (``metrology.PROFILE_PARAMETERS``)."""
    from .. import metrology

    names = {name: info.unit for name, info in metrology.PARAMETERS.items()}
    names.update({name: info.unit for name, info in metrology.PROFILE_PARAMETERS.items()})
    return names


def _parameter_unit(name: str) -> str:
    """Unit of a parameter name (``"Sa"``, ``"Smr(1um)"``); ValueError with close matches if unknown."""
    known = known_parameters()
    from .. import metrology

    symbol = name.split("(", 1)[0].strip()
    if symbol in metrology.PARAMETERS:
        try:  # the registry checks arguments: "Smr" alone, "Sa(3)" and bad arguments are refused
            return metrology.resolve([name])[0].info.unit
        except ParameterError as exc:
            raise ValueError(str(exc)) from None
    if name in known:
        return known[name]
    close = [k for k in known if k.lower() == name.lower()]
    close += [k for k in difflib.get_close_matches(name, list(known), n=4, cutoff=0.5) if k not in close]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else "; see `surfsight params --list`"
    raise ValueError(f"unknown parameter {name!r}{hint}")


def _quantity(text: Any, unit: str, what: str, *, require_unit: bool = True) -> float:
    """Parse ``text`` as a quantity of the SI ``unit``; precise errors on a unit of another kind."""
    kind, table = _UNIT_TABLES.get(unit, ("a number", {}))
    if isinstance(text, bool) or text is None:
        raise ValueError(f"{what}: expected {kind}, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
        if require_unit and unit in ("m", "m2", "Pa", "m3/m2", "1/m2", "1/m") and value != 0:
            example = {"m": "1.5um", "m2": "100um2", "Pa": "250MPa"}.get(unit, f"1 {next(iter(table))}")
            raise ValueError(f"{what}: {text!r} has no unit; {kind} needs one, e.g. {example!r}")
        if not math.isfinite(value):
            raise ValueError(f"{what}: {text!r} is not a finite number")
        return value
    raw = str(text).strip()
    if unit in ("1", "%") and raw.endswith("%"):
        if unit == "1":
            raise ValueError(f"{what}: {raw!r} is a percentage but the parameter is dimensionless")
        raw = raw[:-1]
    try:
        value = parse_quantity(raw, table, what=what)
    except InputError:
        for other_unit, (other_kind, other_table) in _UNIT_TABLES.items():
            if other_unit != unit and other_table:
                try:
                    parse_quantity(raw, other_table, what=what)
                except InputError:
                    continue
                raise ValueError(f"{what}: {text!r} is {other_kind} but {kind} ({unit}) is expected") from None
        known = ", ".join(table) if table else "none (give a plain number)"
        raise ValueError(f"{what}: cannot read {text!r} as {kind}; units: {known}") from None
    if not math.isfinite(value):
        raise ValueError(f"{what}: {text!r} is not finite")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterLimit(_Model):
    """Limits on one parameter, SI (or per cent / dimensionless as the registry reports it)."""

    name: str
    unit: str
    min: float | None = None
    max: float | None = None


class Filters(_Model):
    """Filter settings: ``S`` (lambda_s, short-wave) and ``L`` (lambda_c / L-filter), metres."""

    S: float | None = None
    L: float | None = None

    @field_validator("S", "L", mode="before")
    @classmethod
    def _length(cls, value, info):
        return None if value is None else _quantity(value, "m", f"filters.{info.field_name}")

    @model_validator(mode="after")
    def _order(self):
        for name in ("S", "L"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"filters.{name} must be a positive length")
        if self.S is not None and self.L is not None and self.S >= self.L:
            raise ValueError(f"filters: S ({self.S:g} m) must be shorter than L ({self.L:g} m)")
        return self


class DefectRule(_Model):
    """Acceptance limits for one defect kind (or ``any``): lengths in m, area in m2."""

    kind: str
    max_depth: float | None = None
    max_length: float | None = None
    max_width: float | None = None
    max_area: float | None = None
    max_count: int | None = None

    @field_validator("max_depth", "max_length", "max_width", mode="before")
    @classmethod
    def _length(cls, value, info):
        return None if value is None else _quantity(value, "m", info.field_name)

    @field_validator("max_area", mode="before")
    @classmethod
    def _area(cls, value):
        return None if value is None else _quantity(value, "m2", "max_area")

    @field_validator("max_count", mode="before")
    @classmethod
    def _count(cls, value):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"max_count must be a whole number >= 0, got {value!r}")
        return value

    @model_validator(mode="after")
    def _positive(self):
        for name in ("max_depth", "max_length", "max_width", "max_area"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        return self


class FailureRule(_Model):
    """Fatigue requirement: the part's safety factor against the material's (reduced) fatigue limit."""

    material: str
    stress_amplitude: float
    min_safety_factor: float = 1.0
    max_failure_probability: float | None = None
    stress_ratio: float = -1.0
    load_direction: float = 0.0
    location: Literal["surface", "near_surface", "internal"] = "surface"
    material_file: str | None = None

    @field_validator("stress_amplitude", mode="before")
    @classmethod
    def _stress(cls, value):
        return _quantity(value, "Pa", "failure.stress_amplitude")

    @field_validator("load_direction", mode="before")
    @classmethod
    def _angle(cls, value):
        return _quantity(value, "rad", "failure.load_direction", require_unit=False)

    @model_validator(mode="after")
    def _ranges(self):
        if self.stress_amplitude <= 0:
            raise ValueError("stress_amplitude must be positive")
        if self.min_safety_factor <= 0:
            raise ValueError(f"min_safety_factor must be positive, got {self.min_safety_factor}")
        if self.stress_ratio >= 1:
            raise ValueError(f"stress_ratio must be below 1, got {self.stress_ratio}")
        p = self.max_failure_probability
        if p is not None and not 0 <= p <= 1:
            raise ValueError(f"max_failure_probability must lie in [0, 1], got {p}")
        return self


class Spec(_Model):
    """A validated specification (SI inside)."""

    name: str
    parameters: dict[str, ParameterLimit] = {}
    filters: Filters | None = None
    defects: dict[str, DefectRule] = {}
    decision_rule: Literal["simple", "guarded"] = "simple"
    coverage_factor: float = 2.0
    failure: FailureRule | None = None
    description: str = ""
    source: str = ""

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("parameters must be a mapping of name -> {min:, max:}")
        out = {}
        for name, limits in value.items():
            name = str(name)
            unit = _parameter_unit(name)
            if not isinstance(limits, Mapping) or not limits:
                raise ValueError(f"parameters.{name}: expected {{min: ..., max: ...}}, got {limits!r}")
            extra = set(limits) - {"min", "max"}
            if extra:
                raise ValueError(f"parameters.{name}: unknown key(s) {', '.join(map(str, extra))}; use min and max")
            lo = None if limits.get("min") is None else _quantity(limits["min"], unit, f"parameters.{name}.min")
            hi = None if limits.get("max") is None else _quantity(limits["max"], unit, f"parameters.{name}.max")
            if lo is None and hi is None:
                raise ValueError(f"parameters.{name}: give min, max or both")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"parameters.{name}: min ({limits['min']}) is greater than max ({limits['max']})")
            out[name] = ParameterLimit(name=name, unit=unit, min=lo, max=hi)
        return out

    @field_validator("defects", mode="before")
    @classmethod
    def _defects(cls, value):
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("defects must be a mapping of kind -> limits")
        out = {}
        for kind, limits in value.items():
            kind = str(kind)
            if kind not in (*DEFECT_KINDS, "any"):
                close = difflib.get_close_matches(kind, [*DEFECT_KINDS, "any"], n=2)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                raise ValueError(f"defects.{kind}: unknown defect kind{hint} Known: {', '.join(DEFECT_KINDS)}, any")
            if not isinstance(limits, Mapping) or not limits:
                raise ValueError(f"defects.{kind}: expected limits such as {{max_depth: 1um, max_count: 0}}")
            try:
                out[kind] = DefectRule(kind=kind, **limits)
            except ValidationError as exc:
                raise ValueError(f"defects.{kind}: {_messages(exc)}") from None
        return out

    @field_validator("coverage_factor")
    @classmethod
    def _k(cls, value):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"coverage_factor must be positive, got {value}")
        return value

    @field_validator("failure", mode="before")
    @classmethod
    def _failure(cls, value):
        if isinstance(value, Mapping):
            from ..failure import get_material, load_materials

            library = None
            if value.get("material_file"):
                library = load_materials(value["material_file"])
            if "material" not in value:
                raise ValueError("failure: needs a material (a name from the material library)")
            try:
                get_material(str(value["material"]), library)
            except InputError as exc:
                raise ValueError(f"failure.material: {exc}") from None
        return value


def _messages(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
            field = str(err["loc"][-1]) if err.get("loc") else ""
            close = difflib.get_close_matches(field, _FIELD_NAMES, n=1)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        # our own messages already name the field; prefix the location only when they do not
        heads = (loc, loc.split(".")[0], loc.split(".")[-1]) if loc else ()
        parts.append(msg if not loc or msg.startswith(heads) else f"{loc}: {msg}")
    return "; ".join(parts)


_FIELD_NAMES = sorted({*Spec.model_fields, *FailureRule.model_fields, *DefectRule.model_fields, "min", "max"})


def parse_spec(data: Any, source: str = "spec") -> Spec:
    """Validate a parsed YAML mapping into a :class:`Spec`; ``InputError`` naming ``source`` otherwise."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source}: a specification must be a YAML mapping, got {type(data).__name__}")
    data = dict(data)
    data.setdefault("source", source)
    if "name" not in data:
        raise InputError(f"{source}: the specification needs a name")
    failure = data.get("failure")
    if isinstance(failure, Mapping) and failure.get("material_file") and source not in ("spec", ""):
        path = Path(str(failure["material_file"]))
        if not path.is_absolute():
            failure = dict(failure, material_file=str(Path(source).parent / path))
            data["failure"] = failure
    try:
        return Spec(**data)
    except ValidationError as exc:
        raise InputError(f"{source}: {_messages(exc)}") from None
    except TypeError as exc:
        raise InputError(f"{source}: {exc}") from None


def load_spec(spec: str | Path | Mapping) -> Spec:
    """Read a specification from a YAML file, a YAML string or an already parsed mapping."""
    if isinstance(spec, Mapping):
        return parse_spec(spec)
    text, source = None, "spec"
    if isinstance(spec, Path) or (isinstance(spec, str) and "\n" not in spec and spec.endswith((".yaml", ".yml"))):
        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read the specification ({exc.strerror or exc})") from None
        source = str(path)
    else:
        text = str(spec)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML ({exc})") from None
    return parse_spec(data, source)
