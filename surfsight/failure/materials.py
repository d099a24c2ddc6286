"""The material library: hardness, strength, fatigue limit, Basquin constants, each with a source.

The shipped library is ``materials.yaml`` next to this module (package data); users add or
override entries with :func:`load_materials` on their own YAML file of the same layout::

    materials:
      my_steel:
        group: steel                 # FKM group: steel, stainless_steel, cast_steel,
                                     # wrought_aluminium, cast_aluminium, titanium, other
        hardness_HV: 300             # Vickers, kgf/mm2
        tensile_strength: 950        # MPa
        fatigue_limit: 430           # MPa, amplitude at R = -1, polished specimens
        fatigue_limit_test: axial    # axial | rotating_bending | unspecified
        fatigue_limit_cov: 0.08      # coefficient of variation (material scatter)
        basquin: {sigma_f: 1400, b: -0.09}
        source: "where these numbers come from"

Inside surfsight everything is SI: :class:`Material` holds pascals.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import InputError

__all__ = ["Material", "MATERIALS", "get_material", "load_materials", "parse_materials", "material_names"]

_GROUPS = ("steel", "stainless_steel", "cast_steel", "wrought_aluminium", "cast_aluminium", "titanium", "other")
_TESTS = ("axial", "rotating_bending", "unspecified")
_FIELDS = {"description", "group", "hardness_HV", "tensile_strength", "fatigue_limit", "fatigue_limit_test",
           "fatigue_limit_cov", "basquin", "source", "note"}


@dataclass(frozen=True)
class Material:
    """One material (SI units).

    Attributes
    ----------
    name, description, group
        Key in the library, plain description, FKM material group.
    hardness_HV
        Vickers hardness in kgf/mm2 (the HV number Murakami's equation takes).
    tensile_strength_Pa, fatigue_limit_Pa
        Rm and the fatigue limit of polished specimens (amplitude, R = -1).
    fatigue_limit_test
        ``axial``, ``rotating_bending`` or ``unspecified``.
    fatigue_limit_cov
        Coefficient of variation of the fatigue limit (material scatter).
    basquin_sigma_f_Pa, basquin_b
        sigma_a = sigma_f' (2N)^b.
    source, note
        Where the numbers come from; caveats.
    """

    name: str
    description: str
    group: str
    hardness_HV: float
    tensile_strength_Pa: float
    fatigue_limit_Pa: float
    fatigue_limit_test: str
    fatigue_limit_cov: float
    basquin_sigma_f_Pa: float
    basquin_b: float
    source: str
    note: str = ""


def _number(entry: Mapping, key: str, where: str, *, positive: bool = True) -> float:
    if key not in entry:
        raise InputError(f"{where}: missing {key!r}")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: {key} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise InputError(f"{where}: {key} must be a positive finite number, got {value!r}")
    return value


def _material(name: str, entry: Any, source: str) -> Material:
    where = f"{source}: material {name!r}"
    if not isinstance(entry, Mapping):
        raise InputError(f"{where}: expected a mapping of properties, got {type(entry).__name__}")
    unknown = set(entry) - _FIELDS
    if unknown:
        hints = []
        for key in sorted(unknown):
            close = difflib.get_close_matches(str(key), _FIELDS, n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise InputError(f"{where}: unknown field(s) {', '.join(hints)}; known: {', '.join(sorted(_FIELDS))}")
    group = str(entry.get("group", "other"))
    if group not in _GROUPS:
        raise InputError(f"{where}: group {group!r} is not one of {', '.join(_GROUPS)}")
    test = str(entry.get("fatigue_limit_test", "unspecified"))
    if test not in _TESTS:
        raise InputError(f"{where}: fatigue_limit_test {test!r} is not one of {', '.join(_TESTS)}")
    hv = _number(entry, "hardness_HV", where)
    rm = _number(entry, "tensile_strength", where)
    limit = _number(entry, "fatigue_limit", where)
    if limit >= rm:
        raise InputError(f"{where}: fatigue_limit {limit} MPa is not below tensile_strength {rm} MPa")
    cov = _number(entry, "fatigue_limit_cov", where) if "fatigue_limit_cov" in entry else 0.087
    if cov >= 1:
        raise InputError(f"{where}: fatigue_limit_cov {cov} is a fraction (e.g. 0.08), not a per cent")
    basquin = entry.get("basquin")
    if not isinstance(basquin, Mapping):
        raise InputError(f"{where}: basquin must be a mapping {{sigma_f: MPa, b: negative exponent}}")
    sigma_f = _number(basquin, "sigma_f", f"{where} basquin")
    b = _number(basquin, "b", f"{where} basquin", positive=False)
    if not -1 < b < 0:
        raise InputError(f"{where}: basquin b must lie between -1 and 0, got {b}")
    src = entry.get("source")
    if not isinstance(src, str) or not src.strip():
        raise InputError(f"{where}: every material needs a 'source' saying where its numbers come from")
    return Material(name=name, description=str(entry.get("description", name)), group=group, hardness_HV=hv,
                    tensile_strength_Pa=rm * 1e6, fatigue_limit_Pa=limit * 1e6, fatigue_limit_test=test,
                    fatigue_limit_cov=cov, basquin_sigma_f_Pa=sigma_f * 1e6, basquin_b=b, source=src.strip(),
                    note=str(entry.get("note", "")))


def parse_materials(data: Any, source: str = "materials") -> dict[str, Material]:
    """Validate a parsed YAML document ``{materials: {name: {...}}}`` into :class:`Material` objects."""
    if not isinstance(data, Mapping) or "materials" not in data:
        raise InputError(f"{source}: expected a top-level 'materials:' mapping")
    entries = data["materials"]
    if not isinstance(entries, Mapping) or not entries:
        raise InputError(f"{source}: 'materials' must be a non-empty mapping of name -> properties")
    return {str(name): _material(str(name), entry, source) for name, entry in entries.items()}


def _builtin() -> dict[str, Material]:
    text = resources.files(__package__).joinpath("materials.yaml").read_text(encoding="utf-8")
    return parse_materials(yaml.safe_load(text), "surfsight/failure/materials.yaml")


#: The shipped library (read-only by convention; extend with :func:`load_materials`).
MATERIALS: dict[str, Material] = _builtin()


def load_materials(path: str | Path, *, base: Mapping[str, Material] | None = None) -> dict[str, Material]:
    """Read an extra material file and return the library extended (or overridden) by it.

    ``base`` defaults to the shipped library; nothing global is modified.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the material file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({exc})") from None
    merged = dict(MATERIALS if base is None else base)
    merged.update(parse_materials(data, str(path)))
    return merged


def material_names(library: Mapping[str, Material] | None = None) -> list[str]:
    return sorted(MATERIALS if library is None else library)


def get_material(name: str | Material, library: Mapping[str, Material] | None = None) -> Material:
    """Look a material up by name; an unknown name gets the close matches in the error."""
    if isinstance(name, Material):
        return name
    lib = MATERIALS if library is None else library
    if name in lib:
        return lib[name]
    close = difflib.get_close_matches(str(name), list(lib), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise InputError(f"unknown material {name!r}{hint} Known: {', '.join(sorted(lib))}")
