"""ASCII height matrices: one text row per image row, optionally gzip-compressed.

Two header dialects are understood (both seen in real files):

* **Gwyddion "Export Text"** (``File > Export > ASCII data matrix`` with the informational
  header)::

      # Channel: ZSensor
      # Width: 10.00 µm
      # Height: 10.00 µm
      # Value units: m

  ``Width``/``Height`` are the physical sizes (number of columns / rows times the pixel size),
  ``Value units`` the unit of the numbers that follow.

* **"h= w=" interferometer exports** (as in SurfaceTopography's ``matrix-2.txt``)::

      h=650 w=650
      pixel size=3.69862e-007 m
      data unit=rad
      height conversion factor (-> m)=6.30079e-008

  ``h`` rows and ``w`` columns, square pixels, and raw values (here phase in radians) that
  become heights in the unit in parentheses when multiplied by the conversion factor.

Rows of the file are image rows: ``heights[row, col] = z(y=row*dy, x=col*dx)``, the first text
row being ``y = 0`` (Gwyddion's top row). Values may be separated by blanks, tabs, commas or
semicolons; ``NaN`` and the usual not-measured markers become NaN.

A matrix without lateral size in its header needs ``read(..., spacing=(dy, dx))``.

References: Gwyddion user guide, "Export to text" (ASCII data matrix) and the file module
``asciiexport``; the h/w dialect is documented only by the example file and SurfaceTopography's
``AscReader`` (ContactEngineering/SurfaceTopography, ``SurfaceTopography/IO/Text.py``).
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Profile, Surface
from .safety import MAX_DECOMPRESSED, MAX_RATIO, check_grid, gunzip, read_all
from .text_numbers import (UNITLESS_RULE, binary_at, head_lines, length_factor, numeric_line, parse_block,
                           split_header, unitless_factor)

GZIP_MAGIC = b"\x1f\x8b"

_KEY_EQUALS = re.compile(r"(?:^|(?<=\s))([A-Za-z][^=:]*?)\s*=\s*")
_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")


# --- gzip ---------------------------------------------------------------------------------------

def read_text_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (``.txt.gz``), with bomb and
    truncation checks.

    The gzip trailer (CRC-32 and length modulo 2**32) is checked before and after inflating: a
    bomb whose trailer states its real size is refused without inflating anything; one that lies
    is stopped by :func:`surfsight.io.safety.gunzip`'s size cap and then fails the trailer check;
    a truncated stream fails the trailer check too.
    """
    data = read_all(path)
    if not data.startswith(GZIP_MAGIC):
        return data
    if len(data) < 18:
        raise FormatError(path, f"gzip stream of {len(data)} bytes is truncated (a gzip file has at least 18)")
    crc, size = struct.unpack("<II", data[-8:])
    cap = min(MAX_DECOMPRESSED, max(len(data), 1) * MAX_RATIO)
    if size > cap:
        raise FormatError(path, f"gzip trailer says it inflates to {size} bytes from {len(data)} "
                                f"(over the {cap} byte cap): refused as a compression bomb or corrupt")
    out = gunzip(data, path)
    if len(out) % 2**32 != size or zlib.crc32(out) != crc:
        raise FormatError(path, f"gzip stream is truncated or corrupt (inflated {len(out)} bytes; "
                                f"the trailer says {size} bytes with another checksum)")
    return out


def peek_gzip(head: bytes) -> bytes:
    """The first decompressed bytes of a gzip head, ``b""`` when it does not inflate."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except (zlib.error, ValueError, OverflowError):
        return b""


# --- header -------------------------------------------------------------------------------------

def parse_header(lines: list[str]) -> dict[str, str]:
    """``key: value`` and ``key=value`` pairs (several per line allowed for ``=``), keys in lower
    case with single blanks; ``#`` comment marks are dropped."""
    fields: dict[str, str] = {}
    for raw in lines:
        line = raw.strip().lstrip("#").strip()
        if not line:
            continue
        keys = list(_KEY_EQUALS.finditer(line))
        if keys and keys[0].start() == 0:
            for k, match in enumerate(keys):
                end = keys[k + 1].start() if k + 1 < len(keys) else len(line)
                fields.setdefault(_norm_key(match.group(1)), line[match.end():end].strip())
        elif ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(_norm_key(key), value.strip())
    return fields


def _norm_key(key: str) -> str:
    return " ".join(key.strip().lower().split())


def _quantity(source: Any, fields: dict[str, str], key: str) -> tuple[float, str]:
    text = fields[key]
    match = _NUMBER_UNIT.match(text)
    if not match:
        raise FormatError(source, f"header field {key!r}: cannot read {text!r} as a number with a unit")
    return float(match.group(1)), match.group(2)


def _length(source: Any, fields: dict[str, str], key: str, default_unit: str | None) -> float:
    value, unit = _quantity(source, fields, key)
    unit = unit or default_unit
    factor = length_factor(unit) if unit else None
    if factor is None:
        raise FormatError(source, f"header field {key!r} = {fields[key]!r}: "
                                  f"{'no' if not unit else 'unknown'} length unit")
    result = value * factor
    if not np.isfinite(result) or result <= 0:
        raise FormatError(source, f"header field {key!r} = {fields[key]!r} is not a positive length")
    return result


def _count(source: Any, fields: dict[str, str], key: str) -> int | None:
    if key not in fields:
        return None
    text = fields[key].split()[0] if fields[key].split() else ""
    if not text.isdigit():
        raise FormatError(source, f"header field {key!r} = {fields[key]!r} is not a whole number")
    return int(text)


# --- reader -------------------------------------------------------------------------------------

def read_matrix(path: Path, channel: str | None = None, spacing: Any = None) -> Surface | Profile:
    """Read an ASCII height matrix (``.txt``, ``.asc``, ``.txt.gz``); see the module notes.

    Returns
    -------
    Surface
        Heights in metres; a single-row matrix gives a :class:`Profile`.
    """
    path = Path(path)
    data = read_text_bytes(path)
    if not data.strip():
        raise FormatError(path, "file is empty (no header, no numbers)")
    header_lines, block, first_line = split_header(path, data)
    fields = parse_header(header_lines)

    rows, cols = _count(path, fields, "h"), _count(path, fields, "w")
    if rows is not None and cols is not None:
        check_grid(path, (rows, cols), 1, None, what="height matrix")
    values = parse_block(path, block, first_line, what="height matrix", columns=cols)
    if rows is not None and values.shape[0] != rows:
        raise FormatError(path, f"header says h={rows} rows but {values.shape[0]} rows of numbers follow"
                                + (" (truncated file?)" if values.shape[0] < rows else ""))
    ny, nx = values.shape

    name = fields.get("channel") or fields.get("kanal") or "height"
    if channel is not None and channel.lower() != name.lower():
        raise FormatError(path, f"has only channel {name!r}, not {channel!r}")
    meta: dict[str, Any] = {"channel": name, "channels": [name], "header": dict(fields)}

    # heights
    if any(k.startswith("height conversion factor") for k in fields):
        key = next(k for k in fields if k.startswith("height conversion factor"))
        factor_value, _ = _quantity(path, fields, key)
        unit_match = re.search(r"\(\s*->\s*([^)]*)\)", key)
        target = length_factor(unit_match.group(1)) if unit_match else None
        if target is None:
            raise FormatError(path, f"header field {key!r}: unknown target unit")
        heights = values * (factor_value * target)
        meta["original_units"] = fields.get("data unit", "unknown")
        meta["height_conversion_factor"] = factor_value * target
    elif "value units" in fields or "z-unit" in fields:
        unit = fields.get("value units") or fields.get("z-unit") or ""
        factor = length_factor(unit)
        meta["original_units"] = unit
        if factor is None:
            heights = values
            meta["values_not_lengths"] = (f"values are in {unit!r}, not a length: kept as they are, "
                                          "NOT metres")
        else:
            heights = values * factor
    else:
        factor, unit = unitless_factor(values)
        heights = values * factor
        meta["original_units"] = "unknown"
        meta["units_assumed"] = unit
        meta["units_note"] = UNITLESS_RULE

    # lateral spacing
    if "pixel size" in fields:
        step = _length(path, fields, "pixel size", None)
        dy = dx = step
        meta["spacing_source"] = "header 'pixel size' (square pixels)"
    elif "width" in fields or "height" in fields:
        unit_default = fields.get("value units")
        width = _length(path, fields, "width", unit_default) if "width" in fields else None
        height = _length(path, fields, "height", unit_default) if "height" in fields else None
        dx = width / nx if width is not None else height / ny  # type: ignore[operator]
        dy = height / ny if height is not None else dx
        meta["spacing_source"] = "header 'Width'/'Height' (physical size = points x spacing)"
        for key, axis in (("x offset", "x_offset"), ("y offset", "y_offset")):
            if key in fields:
                try:
                    meta[axis] = _length(path, fields, key, unit_default)
                except FormatError:
                    pass
    elif spacing is not None:
        dy, dx = (spacing, spacing) if np.ndim(spacing) == 0 else spacing
        meta["spacing_source"] = "given by the caller"
    else:
        raise FormatError(path, f"matrix of {ny} x {nx} values has no lateral size in its header "
                                "(no 'Width'/'Height' or 'pixel size'): pass spacing=(dy, dx) in metres")

    if ny == 1:
        return Profile(heights[0], dx, metadata=meta)
    return Surface(heights, (dy, dx), metadata=meta)


# --- detection ----------------------------------------------------------------------------------

MATRIX_KEYS = re.compile(rb"^\s*#?\s*(channel|width|height|value units)\s*:|^\s*h\s*=\s*\d+\s+w\s*=\s*\d+|"
                          rb"height conversion factor", re.IGNORECASE | re.MULTILINE)


def sniff_matrix(head: bytes, path: Path | None) -> bool:
    """A text head with a matrix header, or whose first data row has four or more numbers.

    Two or three columns without a matrix header are left to the x/y/z reader.
    """
    try:
        if head.startswith(GZIP_MAGIC):
            head = peek_gzip(head)
        if not head or binary_at(head) is not None:
            return False
        if MATRIX_KEYS.search(head):
            return True
        for line in head_lines(head)[:200]:
            stripped = line.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            tokens = numeric_line(stripped)
            if tokens is None:
                return False  # a text header without matrix keys: not ours
            return len(tokens) >= 4
        return False
    except Exception:  # sniffers never raise
        return False
