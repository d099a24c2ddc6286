"""``summary.csv``: one row per inspected input, for a spreadsheet or a quality database.

Columns: ``file``, ``status``, ``verdict``, ``deciding`` (the checks that decided the verdict,
``; ``-separated), ``defects`` (count), ``deepest_defect_um``, ``safety_factor``, ``p_failure``,
then for every parameter found in any row ``<name>`` (measured, in the unit given by
``<name>_unit``) and ``<name>_u`` (standard uncertainty), and last ``error``. Lengths stay in the
registry's SI units except the deepest defect (µm, named so), so that values can be compared with
the JSON results without conversion.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

__all__ = ["summary_csv", "deciding_checks"]


def deciding_checks(row: dict[str, Any]) -> list[str]:
    """Names of the checks whose status is the verdict (why the part is what it is)."""
    return [c.get("check", "") for c in row.get("reasons") or [] if c.get("status") == row.get("verdict")
            and row.get("verdict") != "conform"]


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def summary_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The CSV text (header + one line per row)."""
    rows = list(rows)
    names: list[str] = []
    for row in rows:
        for name in row.get("parameters") or {}:
            if name not in names:
                names.append(name)
    header = ["file", "status", "verdict", "deciding", "defects", "deepest_defect_um", "safety_factor", "p_failure"]
    for name in names:
        header += [name, f"{name}_u", f"{name}_unit"]
    header.append("error")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        defects = row.get("defects") or []
        depths = [d.get("depth_m") for d in defects if d.get("depth_m") is not None]
        failure = row.get("failure") or {}
        line = [row.get("file", ""), row.get("status", ""), row.get("verdict") or "",
                "; ".join(deciding_checks(row)), len(defects) if row.get("status") == "ok" else "",
                _num(max(depths) * 1e6) if depths else "", _num(failure.get("safety_factor")),
                _num(failure.get("p_failure"))]
        parameters = row.get("parameters") or {}
        for name in names:
            entry = parameters.get(name) or {}
            line += [_num(entry.get("measured")), _num(entry.get("u")), entry.get("unit", "")]
        line.append(row.get("error") or "")
        writer.writerow(line)
    return buffer.getvalue()
