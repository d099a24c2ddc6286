"""The result row of one inspected input: what ``results.jsonl`` holds, one JSON object a line.

A row is plain JSON (numbers in SI units, as the metrology registry reports them; ``null`` for a
value that does not exist). Its keys (:data:`ROW_KEYS`):

``file``
    The input as given (a path).
``sha256``
    SHA-256 of the file's bytes (``null`` when the file could not be read at all); ``--resume``
    skips inputs whose hash is already in the results.
``status``
    ``"ok"`` (inspected) or ``"error"`` (could not be inspected; see ``error``).
``verdict``
    ``"conform"``, ``"nonconform"`` or ``"indeterminate"`` (ISO 14253-1 decision, see
    :mod:`surfsight.spec`); ``null`` on error rows.
``reasons``
    One entry per decided limit: ``{"check", "status", "value", "U", "lower", "upper", "rule",
    "unit", "message"}`` (:meth:`surfsight.spec.Check.as_dict`).
``parameters``
    ``{name: {"measured", "u", "estimate", "estimate_u", "unit"}}``: ``measured`` is the ISO value
    computed on the prepared scan with the detected defects masked out (NaN); ``u`` its standard
    uncertainty (the one the decision uses); ``estimate`` / ``estimate_u`` the model's estimate of
    the true texture and its standard uncertainty (``null`` without a model).
``defects``
    Defect records: ``kind``, ``depth_m``, ``length_m``, ``width_m``, ``area_m2``,
    ``sqrt_area_m``, ``orientation_rad``, ``x_m``, ``y_m``, ``u_depth_m``, ``u_length_m``,
    ``u_width_m``, ``confidence``.
``failure``
    ``null`` when the specification asks for no fatigue check; else ``fatigue_limit_pa``,
    ``smooth_limit_pa``, ``safety_factor``, ``safety_factor_interval``, ``safety_factor_u``,
    ``min_safety_factor``, ``p_failure``, ``p_failure_upper_95``, ``kf``, ``governing``,
    ``life_cycles``, ``material``, ``stress_amplitude_pa``.
``error``
    The message on error rows (names the file and the problem), else ``null``.
``surface``, ``detector``, ``instrument``, ``notes``, ``spec``, ``seconds``
    Grid and spacing, which detector found the defects, the instrument class (from the file, or
    the model's guess), what preparation did or skipped, the specification's name, the time taken.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

from ..errors import InputError

__all__ = ["ROW_KEYS", "OK", "ERROR", "new_row", "error_row", "row_key", "to_json_line", "parse_line",
           "validate_row"]

OK = "ok"
ERROR = "error"

#: Keys every row carries, in this order.
ROW_KEYS = ("file", "sha256", "status", "verdict", "reasons", "parameters", "defects", "failure", "error",
            "surface", "detector", "instrument", "notes", "spec", "seconds")

PARAMETER_KEYS = ("measured", "u", "estimate", "estimate_u", "unit")


def new_row(file: str, sha256: str | None, **values: Any) -> dict[str, Any]:
    """A row with every key present (``None`` / empty where not given)."""
    row: dict[str, Any] = {key: None for key in ROW_KEYS}
    row.update(file=str(file), sha256=sha256, reasons=[], parameters={}, defects=[], notes=[])
    unknown = set(values) - set(ROW_KEYS)
    if unknown:
        raise InputError(f"result row: unknown key(s) {', '.join(sorted(unknown))}")
    row.update(values)
    return row


def error_row(file: str, sha256: str | None, message: str, spec: str | None = None,
              seconds: float | None = None) -> dict[str, Any]:
    """The row of an input that could not be inspected."""
    return new_row(file, sha256, status=ERROR, error=str(message), spec=spec, seconds=seconds)


def row_key(file: str, sha256: str | None) -> str:
    """What ``--resume`` recognises an input by: its content hash, or its path when unreadable."""
    return f"sha256:{sha256}" if sha256 else f"path:{file}"


def to_json_line(row: Mapping[str, Any]) -> str:
    """One line of ``results.jsonl`` (NaN and infinity written as null; ends with a newline)."""
    from ..cli.common import jsonable  # the one JSON converter of the project (NaN -> null, numpy -> plain)

    return json.dumps(jsonable(dict(row)), ensure_ascii=False, allow_nan=False) + "\n"


def parse_line(line: str) -> dict[str, Any] | None:
    """A row from one line, or ``None`` for a blank or damaged line (e.g. cut short by a crash)."""
    line = line.strip()
    if not line:
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) and "file" in row and "status" in row else None


def validate_row(row: Mapping[str, Any]) -> None:
    """Check a row against the schema; :class:`InputError` naming the first problem."""
    missing = [k for k in ROW_KEYS if k not in row]
    if missing:
        raise InputError(f"result row {row.get('file')!r}: missing {', '.join(missing)}")
    if row["status"] not in (OK, ERROR):
        raise InputError(f"result row {row['file']!r}: status must be 'ok' or 'error', got {row['status']!r}")
    if row["status"] == ERROR:
        if not row["error"]:
            raise InputError(f"result row {row['file']!r}: an error row needs an error message")
        return
    if row["verdict"] not in ("conform", "nonconform", "indeterminate"):
        raise InputError(f"result row {row['file']!r}: bad verdict {row['verdict']!r}")
    for name, entry in row["parameters"].items():
        if set(entry) != set(PARAMETER_KEYS):
            raise InputError(f"result row {row['file']!r}: parameter {name} has keys {sorted(entry)}, "
                             f"expected {list(PARAMETER_KEYS)}")
        for key in ("measured", "u", "estimate", "estimate_u"):
            value = entry[key]
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise InputError(f"result row {row['file']!r}: parameter {name}.{key} = {value!r}")
