"""surfsight's own CSV layout for surfaces and profiles (writer, and reader of its output).

Surface: ``#`` comment lines, then the height matrix, one CSV row per image row (``y``), one
column per ``x``, heights in metres::

    # surfsight csv 1
    # kind: surface
    # Channel: height
    # Width: 0.0001 m
    # Height: 5e-05 m
    # Value units: m
    # dx: 1e-06 m
    # dy: 1e-06 m
    # rows: 50
    # columns: 100
    # metadata: {"instrument": "..."}
    1.2e-07,1.3e-07,...
    ...

``Width``/``Height``/``Value units`` follow Gwyddion's text-matrix header, so tools that read
that header understand the sizes; ``dx``/``dy`` carry the exact spacing. A spreadsheet opens
the file with one comment line per row at the top and the matrix below.

Profile: comment lines, a title row, then two columns ``x (m), z (m)`` with ``x = i * dx``::

    # surfsight csv 1
    # kind: profile
    # dx: 1e-06 m
    # points: 1000
    # Value units: m
    x (m),z (m)
    0.0,1.2e-07
    ...

Numbers are written with Python's ``repr`` (the shortest text that reads back to the same
float64), so reading the file gives back exactly the same heights and spacing. Non-measured
points are ``NaN``. Layers are not written; metadata is written as one JSON line holding only
its text, number and boolean entries. Point clouds are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import PointCloud, Profile, Surface
from .safety import read_all
from .text_numbers import parse_block, split_header

MAGIC = b"# surfsight csv"


def _number(value: float) -> str:
    return "NaN" if value != value else repr(float(value))


def _metadata_line(metadata: dict[str, Any]) -> str | None:
    kept = {str(k): v for k, v in metadata.items()
            if isinstance(v, (str, bool, int, float)) and not (isinstance(v, float) and not np.isfinite(v))
            and k not in ("source_file",)}
    return json.dumps(kept, ensure_ascii=False) if kept else None


def write_csv(obj: Surface | Profile, path: Path) -> None:
    """Write a surface or profile in surfsight's CSV layout (see the module notes)."""
    path = Path(path)
    if isinstance(obj, PointCloud) or not isinstance(obj, (Surface, Profile)):
        raise FormatError(path, f"CSV export writes surfaces and profiles, not {type(obj).__name__}")
    lines = ["# surfsight csv 1"]
    meta_line = _metadata_line(obj.metadata)
    if isinstance(obj, Surface):
        ny, nx = obj.shape
        lines += ["# kind: surface", f"# Channel: {obj.metadata.get('channel', 'height')}",
                  f"# Width: {_number(nx * obj.dx)} m", f"# Height: {_number(ny * obj.dy)} m",
                  "# Value units: m", f"# dx: {_number(obj.dx)} m", f"# dy: {_number(obj.dy)} m",
                  f"# rows: {ny}", f"# columns: {nx}"]
        if meta_line:
            lines.append(f"# metadata: {meta_line}")
        body = "\n".join(",".join(map(_number, row)) for row in obj.heights.tolist())
    else:
        n = obj.heights.size
        lines += ["# kind: profile", f"# dx: {_number(obj.dx)} m", f"# points: {n}", "# Value units: m"]
        if meta_line:
            lines.append(f"# metadata: {meta_line}")
        lines.append("x (m),z (m)")
        x = (np.arange(n) * obj.dx).tolist()
        body = "\n".join(f"{_number(a)},{_number(b)}" for a, b in zip(x, obj.heights.tolist()))
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(lines) + "\n" + body + "\n")


def read_csv(path: Path, channel: str | None = None, spacing: Any = None) -> Surface | Profile:
    """Read a file written by :func:`write_csv`."""
    path = Path(path)
    data = read_all(path)
    if not data.startswith(MAGIC):
        raise FormatError(path, "not a surfsight CSV file (first line is not '# surfsight csv 1')")
    header, block, first_line = split_header(path, data)
    fields: dict[str, str] = {}
    for line in header:
        text = line.lstrip("#").strip()
        if ":" in text:
            key, value = text.split(":", 1)
            fields.setdefault(key.strip().lower(), value.strip())
    kind = fields.get("kind", "")
    meta: dict[str, Any] = {}
    if "metadata" in fields:
        try:
            loaded = json.loads(fields["metadata"])
            if isinstance(loaded, dict):
                meta.update(loaded)
        except ValueError:
            raise FormatError(path, "the '# metadata:' line is not valid JSON") from None
    meta.setdefault("original_units", "m")
    name = meta.get("channel") or fields.get("channel") or "height"
    meta["channel"], meta["channels"] = name, [name]
    if channel is not None and channel.lower() != str(name).lower():
        raise FormatError(path, f"has only channel {name!r}, not {channel!r}")
    if kind == "surface":
        dx, dy = _metres(path, fields, "dx"), _metres(path, fields, "dy")
        rows, cols = _whole(path, fields, "rows"), _whole(path, fields, "columns")
        values = parse_block(path, block, first_line, what="height matrix", columns=cols)
        if values.shape[0] != rows:
            raise FormatError(path, f"header says {rows} rows but {values.shape[0]} follow (truncated file?)")
        return Surface(values, (dy, dx), metadata=meta)
    if kind == "profile":
        dx = _metres(path, fields, "dx")
        points = _whole(path, fields, "points")
        values = parse_block(path, block, first_line, what="x, z columns", columns=2)
        if values.shape[0] != points:
            raise FormatError(path, f"header says {points} points but {values.shape[0]} follow (truncated file?)")
        return Profile(values[:, 1].copy(), dx, metadata=meta)
    raise FormatError(path, f"header 'kind' is {kind!r}; expected 'surface' or 'profile'")


def _metres(path: Path, fields: dict[str, str], key: str) -> float:
    text = fields.get(key, "")
    number = text[:-1].strip() if text.endswith(" m") or text.endswith("m") else text
    try:
        value = float(number)
    except ValueError:
        raise FormatError(path, f"header '{key}' = {text!r} is not a length in metres") from None
    if not np.isfinite(value) or value <= 0:
        raise FormatError(path, f"header '{key}' = {text!r} is not a positive length")
    return value


def _whole(path: Path, fields: dict[str, str], key: str) -> int:
    text = fields.get(key, "")
    if not text.isdigit():
        raise FormatError(path, f"header '{key}' = {text!r} is not a whole number")
    return int(text)


def sniff_csv(head: bytes, path: Path | None) -> bool:
    """Our own files start with ``# surfsight csv``."""
    try:
        return head.startswith(MAGIC)
    except Exception:  # sniffers never raise
        return False
