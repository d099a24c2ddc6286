"""``surfsight params PATH``: ISO 25178-2 areal parameters of a surface file, or ISO 21920-2 profile
parameters of a profile file.

Surfaces: optional levelling (``--level none|plane|poly:N``), then the S-filter and L-filter
(``--s-filter 2.5um --l-filter 0.8mm``, ISO 16610-61 Gaussian), then the parameters
(``--names Sa,Sq,Sdr,Smr(1um)``; default: the whole areal set). Profiles: levelling, then the
profile parameters with ``--lambda-s`` / ``--lambda-c``.

Output: a table with readable units (µm, nm, %, degrees), or ``--json`` / ``--csv`` with SI values
(and the unit of each). A parameter that is undefined for this surface (e.g. Str with a strong lay)
is shown as ``n/a`` with its reason (``null`` in JSON). Errors (unreadable file, bad unit, unknown
parameter name) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import csv
import io
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ..errors import InputError
from .common import print_json, user_errors

#: Readable display units: SI unit -> (metres-based chooser or fixed (symbol, factor)).
_FIXED = {
    "%": ("%", 1.0),
    "1": ("", 1.0),
    "rad": ("°", math.pi / 180.0),
    "1/m2": ("1/mm²", 1e6),
    "1/m": ("1/µm", 1e6),
    "m2": ("µm²", 1e-12),
    "m3": ("µm³", 1e-18),
    "m3/m2": ("µm³/µm²", 1e-6),
}


def _level(obj: Any, level: str) -> Any:
    from ..metrology import prepare

    text = level.strip().lower()
    if text == "none":
        return obj
    if text == "plane":
        return prepare.level_plane(obj)
    if text.startswith("poly:"):
        try:
            degree = int(text[5:])
        except ValueError:
            degree = -1
        if degree < 0:
            raise InputError(f"--level {level!r}: the polynomial degree must be a whole number >= 0, e.g. poly:2")
        return prepare.level_polynomial(obj, degree)
    raise InputError(f"--level {level!r}: use none, plane or poly:N (e.g. poly:2)")


def _display(value: float, unit: str) -> tuple[str, str]:
    """Value and unit for people."""
    if value is None or not math.isfinite(value):
        return "n/a", ""
    if unit == "m":
        from ..units import length_unit

        symbol, scale = length_unit(value)
        return f"{value / scale:.4g}", symbol
    symbol, scale = _FIXED.get(unit, (unit, 1.0))
    return f"{value / scale:.4g}", symbol


def _areal(surface: Any, names: str | None, s_cut: float | None, l_cut: float | None):
    from ..metrology import PARAMETERS, filters, parameters
    from ..metrology.areal import ParameterWarning

    if s_cut is not None:
        surface = filters.s_filter(surface, s_cut)
    if l_cut is not None:
        surface = filters.l_filter(surface, l_cut)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ParameterWarning)
        values = parameters(surface, names, on_error="nan")
    reasons = {}
    for w in caught:
        if issubclass(w.category, ParameterWarning):
            key, _, reason = str(w.message).partition(": ")
            source = str(surface.metadata.get("source_file", ""))
            if source and reason.startswith(source + ": "):
                reason = reason[len(source) + 2:]
            reasons[key] = reason
    rows = []
    for key, value in values.items():
        info = PARAMETERS[key.split("(")[0]]
        rows.append((key, value, info.unit, info.description, reasons.get(key, "")))
    return rows


def _profile(profile: Any, names: str | None, lambda_s: float | None, lambda_c: float | None):
    from ..metrology import PROFILE_PARAMETERS, profile_parameters

    wanted = None if names is None else [n.strip() for n in names.split(",") if n.strip()]
    values = profile_parameters(profile, names=wanted, lambda_s=lambda_s, lambda_c=lambda_c)
    rows = []
    for key, value in values.items():
        info = PROFILE_PARAMETERS[key]
        rows.append((key, float(value), info.unit, f"{info.description} ({info.family})", ""))
    return rows


def params(
    path: Path = typer.Argument(..., help="Surface or profile file in any format surfsight reads."),
    channel: str = typer.Option(None, "--channel", "-c", help="Data channel to read (default: heights)."),
    level: str = typer.Option("none", "--level", help="Levelling first: none, plane or poly:N."),
    s_filter: str = typer.Option(None, "--s-filter", help="S-filter nesting index (surfaces), e.g. 2.5um."),
    l_filter: str = typer.Option(None, "--l-filter", help="L-filter nesting index (surfaces), e.g. 0.8mm."),
    lambda_s: str = typer.Option(None, "--lambda-s", help="Profile short-wave cut-off lambda_s, e.g. 2.5um."),
    lambda_c: str = typer.Option(None, "--lambda-c", help="Profile cut-off lambda_c, e.g. 0.8mm."),
    names: str = typer.Option(None, "--names", "-n",
                              help="Comma-separated ISO symbols, e.g. Sa,Sq,Sdr,Smr(1um),Vm(10)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, SI units."),
    as_csv: bool = typer.Option(False, "--csv", help="CSV (parameter,value,unit), SI units."),
) -> None:
    """Measure ISO 25178-2 areal parameters of a surface (or ISO 21920-2 profile parameters of a profile).

    Heights are taken from the mean plane of the valid points after the optional levelling and
    filters; invalid (non-measured) points are handled as each parameter's definition allows.
    """
    from ..io import read
    from ..units import parse_length

    with user_errors():
        if as_json and as_csv:
            raise InputError("choose one of --json and --csv")
        s_cut = None if s_filter is None else parse_length(s_filter, what="--s-filter")
        l_cut = None if l_filter is None else parse_length(l_filter, what="--l-filter")
        ls = None if lambda_s is None else parse_length(lambda_s, what="--lambda-s")
        lc = None if lambda_c is None else parse_length(lambda_c, what="--lambda-c")
        for flag, value in (("--s-filter", s_cut), ("--l-filter", l_cut), ("--lambda-s", ls), ("--lambda-c", lc)):
            if value is not None and not value > 0:
                raise InputError(f"{flag}: the nesting index must be a positive length, got {value!r} m")
        if names is not None:
            from ..metrology.registry import _split

            names = ",".join(part.strip() for part in _split(names) if part.strip()) or None
        obj = read(path, channel)
        kind = getattr(obj, "kind", "")
        if kind == "point cloud":
            raise InputError(f"{path}: holds an unordered point cloud; parameters need a gridded surface or profile")
        obj = _level(obj, level)
        if kind == "profile":
            if s_cut is not None or l_cut is not None:
                raise InputError(f"{path}: is a profile; use --lambda-s / --lambda-c instead of --s-filter / --l-filter")
            rows = _profile(obj, names, ls, lc)
        else:
            if ls is not None or lc is not None:
                raise InputError(f"{path}: is a surface; use --s-filter / --l-filter instead of --lambda-s / --lambda-c")
            rows = _areal(obj, names, s_cut, l_cut)

    if as_json:
        print_json({
            "file": str(path), "kind": kind, "level": level,
            "s_filter_m": s_cut, "l_filter_m": l_cut, "lambda_s_m": ls, "lambda_c_m": lc,
            "parameters": {key: value for key, value, *_ in rows},
            "units": {key: unit for key, _, unit, *_ in rows},
            "undefined": {key: reason for key, *_, reason in rows if reason},
        })
        return
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["parameter", "value", "unit"])
        for key, value, unit, *_ in rows:
            writer.writerow([key, "" if not math.isfinite(value) else repr(float(value)), unit])
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=f"{path}  ({kind}, level={level}"
                        + (f", S {s_filter}" if s_filter else "") + (f", L {l_filter}" if l_filter else "")
                        + (f", λs {lambda_s}" if lambda_s else "") + (f", λc {lambda_c}" if lambda_c else "") + ")")
    table.add_column("parameter", style="bold")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("meaning")
    for key, value, unit, description, reason in rows:
        text, symbol = _display(value, unit)
        table.add_row(key, text, symbol, reason if reason else description)
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("params")(params)
