"""Coordinate text files: ``x z`` profiles and ``x y z`` point lists (``.xyz``, ``.txt``,
``.asc``, ``.dat``).

What comes back
---------------
* **Three columns** ``x y z``: when the ``(x, y)`` positions sit on a regular lattice (uniform
  steps along x and along y, at most one point per node) a :class:`Surface` on that lattice,
  ``heights[iy, ix] = z``, nodes without a point are NaN (exports often leave invalid points
  out) and counted in ``metadata["missing_points"]``; otherwise a :class:`PointCloud`. A lattice
  with a single row or column is a :class:`Profile`.
* **Two columns** ``x z``: a :class:`Profile`. When x is uniform (every x within 1 % of a step
  of ``x0 + i*dx``) the heights are kept as they are with ``dx = (x[-1] - x[0]) / (n - 1)``.
  A non-uniform x is **resampled**: ISO 21920 / ISO 16610 profile processing needs a constant
  sampling interval, and a metrology user wants heights at the right positions (using the mean
  step instead would shift features by up to the local jitter and bias RSm, filters and
  slopes). The profile is linearly interpolated (the piecewise-linear profile of ISO 21920-2
  between measured points) onto ``dx`` = the smallest step of the file (no detail finer than
  the data is invented, none is lost), limited to 16 points per original point. This is said in
  ``metadata["resampled"]`` with the original point count and steps.
  x must increase (or decrease throughout, then the profile is reversed); a repeated or
  backward x is refused with its line number.

Units
-----
Plain coordinate files state no unit. A header comment may give it (``# unit: um``, ``# x-unit:
mm``, ``# z-unit: nm``, or column titles such as ``x [um], z [nm]``). Without one, numbers
are taken as metres when every coordinate lies within +-1 (they look like SI values, as in the
Bruker ASCII twin ``opdx-3.txt``), otherwise as micrometres, the usual unit of instrument text
exports; ``metadata["units_assumed"]`` records the guess and ``metadata["original_units"]`` is
``"unknown"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import PointCloud, Profile, Surface
from .safety import MAX_POINTS
from .text_matrix import MATRIX_KEYS, read_text_bytes
from .text_numbers import (UNITLESS_RULE, binary_at, head_lines, length_factor, numeric_line, parse_block,
                           split_header, unitless_factor)

#: Relative tolerance (of one step) for calling coordinates uniform / on a lattice.
UNIFORM_TOLERANCE = 0.01
#: A non-uniform profile is resampled onto at most this many points per original point.
MAX_UPSAMPLING = 16

_UNIT_FIELD = re.compile(r"^\s*#?\s*(x|y|z|lateral|height|length)?[-_ ]?units?\s*[:=]\s*(\S+)", re.IGNORECASE)
_COLUMN_UNIT = re.compile(r"\b([xyz])\s*[\[(]\s*([^\])]+?)\s*[\])]", re.IGNORECASE)


def header_units(lines: list[str]) -> dict[str, float]:
    """Units stated in header comments: ``{"x": m_per_unit, "y": ..., "z": ...}`` (missing
    axes absent). A bare ``unit:`` applies to every axis."""
    found: dict[str, float] = {}
    for line in lines:
        match = _UNIT_FIELD.match(line)
        if match:
            factor = length_factor(match.group(2))
            if factor is not None:
                axis = (match.group(1) or "").lower()
                axes = {"x": "x", "y": "y", "z": "z", "lateral": "xy", "height": "z"}.get(axis, "xyz")
                for a in axes:
                    found[a] = factor
        for axis, unit in _COLUMN_UNIT.findall(line):
            factor = length_factor(unit)
            if factor is not None:
                found.setdefault(axis.lower(), factor)
    if "x" in found and "y" not in found:
        found["y"] = found["x"]
    return found


def _scales(lines: list[str], columns: list[np.ndarray], meta: dict[str, Any]) -> list[float]:
    """Metres per file unit for each column (x[, y], z), recording the source in ``meta``."""
    axes = ["x", "y", "z"] if len(columns) == 3 else ["x", "z"]
    stated = header_units(lines)
    if all(a in stated for a in axes):
        meta["original_units"] = "header"
        return [stated[a] for a in axes]
    if stated:
        missing = [a for a in axes if a not in stated]
        known = next(iter(stated.values()))
        meta["original_units"] = f"header (unit of {', '.join(missing)} taken from the others)"
        return [stated.get(a, known) for a in axes]
    factor, unit = unitless_factor(*columns)
    meta["original_units"] = "unknown"
    meta["units_assumed"] = unit
    meta["units_note"] = UNITLESS_RULE
    return [factor] * len(axes)


def read_columns(path: Path, channel: str | None = None, spacing: Any = None) -> Surface | Profile | PointCloud:
    """Read a two-column profile or a three-column point list; see the module notes."""
    path = Path(path)
    data = read_text_bytes(path)
    if not data.strip():
        raise FormatError(path, "file is empty (no numbers)")
    header, block, first_line = split_header(path, data)
    values = parse_block(path, block, first_line, what="coordinate columns")
    ncols = values.shape[1]
    if ncols not in (2, 3):
        raise FormatError(path, f"line {first_line}: {ncols} values per line; a coordinate file has "
                                "2 (x z) or 3 (x y z) columns")
    if channel is not None and channel.lower() not in ("height", "z"):
        raise FormatError(path, f"has only channel 'height', not {channel!r}")
    meta: dict[str, Any] = {"channel": "height", "channels": ["height"]}
    scales = _scales(header, [values[:, k] for k in range(ncols)], meta)
    values = values * np.asarray(scales)
    if ncols == 2:
        return profile_from_xz(path, values[:, 0], values[:, 1], meta, first_line)
    return grid_from_xyz(path, values[:, 0], values[:, 1], values[:, 2], meta, first_line)


# --- profiles -----------------------------------------------------------------------------------

def profile_from_xz(source: Any, x: np.ndarray, z: np.ndarray, meta: dict[str, Any], first_line: int = 1,
                    *, tolerance: float = UNIFORM_TOLERANCE) -> Profile:
    """A :class:`Profile` from positions ``x`` and heights ``z`` (metres), resampled when x is
    not uniform (see the module notes). ``first_line`` is the file line of ``x[0]``."""
    n = x.size
    if n < 2:
        raise FormatError(source, f"a profile needs at least 2 points, the file has {n}")
    bad_x = np.flatnonzero(~np.isfinite(x))
    if bad_x.size:
        raise FormatError(source, f"line {first_line + int(bad_x[0])}: x position is not a number")
    if x[-1] < x[0]:
        x, z = x[::-1], z[::-1]
        meta["reversed"] = "x decreased through the file; the profile was reversed"
        line_at = lambda i: first_line + (n - 1 - i)  # noqa: E731
    else:
        line_at = lambda i: first_line + i  # noqa: E731
    steps = np.diff(x)
    backwards = np.flatnonzero(steps <= 0)
    if backwards.size:
        i = int(backwards[0]) + 1
        raise FormatError(source, f"line {line_at(i)}: x = {x[i]:.9g} m does not increase after {x[i - 1]:.9g} m "
                                  "(a profile needs x strictly increasing)")
    dx = (x[-1] - x[0]) / (n - 1)
    deviation = float(np.max(np.abs(x - (x[0] + np.arange(n) * dx))))
    if deviation <= tolerance * dx:
        meta["x_offset"] = float(x[0])
        return Profile(z.copy(), dx, metadata=meta)
    smallest = float(steps.min())
    new_dx = max(smallest, (x[-1] - x[0]) / (MAX_UPSAMPLING * n))
    m = int(np.floor((x[-1] - x[0]) / new_dx * (1 + 1e-12))) + 1
    if m > MAX_POINTS:
        raise FormatError(source, f"resampling the non-uniform profile would need {m} points")
    xi = x[0] + np.arange(m) * new_dx
    zi = np.interp(xi, x, z)  # NaN neighbours give NaN
    meta["x_offset"] = float(x[0])
    meta["resampled"] = {
        "why": "x positions in the file are not uniformly spaced",
        "method": "linear interpolation onto a uniform grid starting at the first x",
        "dx_rule": "smallest step in the file (at most 16 points per original point)",
        "original_points": int(n),
        "original_min_step_m": smallest,
        "original_mean_step_m": float(dx),
        "original_max_step_m": float(steps.max()),
        "original_span_m": float(x[-1] - x[0]),
    }
    return Profile(zi, new_dx, metadata=meta)


# --- x y z --------------------------------------------------------------------------------------

def _lattice(v: np.ndarray, tolerance: float) -> tuple[np.ndarray, float] | None:
    """Integer lattice index of every coordinate and the step, or ``None`` if not on a lattice."""
    low, high = float(v.min()), float(v.max())
    span = high - low
    if span == 0:
        return np.zeros(v.size, dtype=np.int64), 0.0
    unique = np.unique(v)
    gaps = np.diff(unique)
    step = float(gaps[gaps > span * 1e-9].min())
    # refine the step over the whole span (reduces the effect of printing precision)
    count = int(round(span / step))
    if count <= 0 or count > MAX_POINTS:
        return None
    step = span / count
    index = np.rint((v - low) / step)
    if np.max(np.abs(v - (low + index * step))) > tolerance * step:
        return None
    return index.astype(np.int64), step


def grid_from_xyz(source: Any, x: np.ndarray, y: np.ndarray, z: np.ndarray, meta: dict[str, Any],
                  first_line: int = 1, *, tolerance: float = UNIFORM_TOLERANCE) -> Surface | Profile | PointCloud:
    """A :class:`Surface` when ``(x, y)`` lie on a regular lattice, else a :class:`PointCloud`."""
    bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))
    if bad.size:
        raise FormatError(source, f"line {first_line + int(bad[0])}: x or y position is not a number")
    points = np.column_stack([x, y, z])
    ix_step = _lattice(x, tolerance)
    iy_step = _lattice(y, tolerance)
    if ix_step is None or iy_step is None:
        meta["grid"] = "x, y are not on a regular lattice: kept as a point cloud"
        return PointCloud(points, metadata=meta)
    (ix, dx), (iy, dy) = ix_step, iy_step
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    if nx * ny > min(MAX_POINTS, 4 * x.size):
        meta["grid"] = f"the lattice would have {nx} x {ny} nodes for {x.size} points: kept as a point cloud"
        return PointCloud(points, metadata=meta)
    flat = iy * nx + ix
    if np.unique(flat).size != flat.size:
        meta["grid"] = "several points share a lattice node: kept as a point cloud"
        return PointCloud(points, metadata=meta)
    heights = np.full(ny * nx, np.nan)
    heights[flat] = z
    heights = heights.reshape(ny, nx)
    meta["missing_points"] = int(ny * nx - x.size)
    meta["x_offset"], meta["y_offset"] = float(x.min()), float(y.min())
    if ny == 1 or nx == 1:
        step = dx if ny == 1 else dy
        if step <= 0:
            raise FormatError(source, "all points have the same x and y: no profile or surface")
        return Profile(heights.ravel(), step, metadata=meta)
    return Surface(heights, (dy, dx), metadata=meta)


# --- detection ----------------------------------------------------------------------------------

def sniff_columns(head: bytes, path: Path | None) -> bool:
    """Text whose first data lines hold two or three numbers each (after an optional header
    of comments or column titles) and no matrix header."""
    try:
        if not head or binary_at(head) is not None or MATRIX_KEYS.search(head):
            return False
        lines = head_lines(head)
        complete = lines[:-1] if len(head) >= 4096 else lines
        header_count = counts = 0
        widths = set()
        for line in complete[:400]:
            stripped = line.strip()
            if not stripped:
                continue
            tokens = numeric_line(stripped)
            if tokens is None:
                if counts:
                    return False  # text after data
                header_count += 1
                if header_count > 40 or b"=" in stripped and not stripped.startswith(b"#"):
                    return False
                continue
            widths.add(len(tokens))
            counts += 1
            if counts >= 20:
                break
        return counts >= 2 and len(widths) == 1 and widths <= {2, 3}
    except Exception:  # sniffers never raise
        return False
