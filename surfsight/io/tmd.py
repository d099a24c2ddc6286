"""TrueMap / GelSight ``.tmd`` files ("Binary TrueMap Data File v2.0"), also read by MountainsMap.

Layout (little-endian; as written by TrueMap v6 and GelSight's ``writetmd``, and read by
SurfaceTopography's ``TMD.py`` and Gwyddion):

* 32 bytes: ``"Binary TrueMap Data File v2.0\\r\\n\\0"``;
* a NUL-terminated comment of variable length (``"Created by TrueMap v6\\r\\n\\0"``, or just
  ``"\\0"``);
* ``uint32 cols, uint32 rows``;
* ``float32 length_x, length_y`` (millimetres) and ``float32 offset_x, offset_y`` (millimetres);
* ``rows x cols`` float32 heights, row by row, in millimetres.

All lengths are millimetres (GelSight's writer takes "mm per pixel"); surfsight returns metres.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

MAGIC = b"Binary TrueMap Data File v"
VERSION = b"2.0"
HEADER_SIZE = 32
#: Longest comment accepted before the header is taken as corrupt.
MAX_COMMENT = 4096
#: File unit (millimetres) to metres.
MM = 1e-3


def read_tmd(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a TrueMap ``.tmd`` file; heights and spacing in metres (the file stores mm)."""
    path = Path(path)
    data = read_all(path)
    if data[:len(MAGIC)] != MAGIC:
        raise FormatError(path, "not a TrueMap TMD file (magic 'Binary TrueMap Data File v' missing)")
    if len(data) < HEADER_SIZE:
        raise FormatError(path, f"truncated: the {HEADER_SIZE}-byte identification line is cut at byte {len(data)}")
    ident = data[:HEADER_SIZE]
    version = ident[len(MAGIC):len(MAGIC) + len(VERSION)]
    if version != VERSION:
        raise FormatError(path, f"TrueMap data file version {version!r} is not supported (only v2.0)")
    if ident[len(MAGIC) + len(VERSION):].strip(b"\r\n\0"):
        raise FormatError(path, "identification line has unexpected bytes after 'v2.0': corrupt")
    if channel not in (None, "height"):
        raise FormatError(path, f"no channel {channel!r}; TMD files have one height channel ('height')")
    end = data.find(b"\0", HEADER_SIZE, HEADER_SIZE + MAX_COMMENT + 1)
    if end < 0:
        if len(data) <= HEADER_SIZE + MAX_COMMENT:
            raise FormatError(path, "truncated in the comment (no terminating NUL byte)")
        raise FormatError(path, f"comment is longer than {MAX_COMMENT} bytes (no terminating NUL): corrupt")
    comment = data[HEADER_SIZE:end].decode("latin-1", "replace").strip()
    c = Cursor(data, path, "<", end + 1)
    cols, rows = c.unpack("II", "grid size")
    length_x, length_y, offset_x, offset_y = c.unpack("4f", "lengths and offsets")
    for name, value in (("x length", length_x), ("y length", length_y)):
        if not (math.isfinite(value) and value > 0):
            raise FormatError(path, f"{name} {value!r} mm is not a positive length")
    check_grid(path, (rows, cols), 4, c.remaining, what="heights")
    values = c.array("<f4", (rows, cols), "heights").astype(np.float64)
    trailing = c.remaining
    heights = values * MM
    heights[~np.isfinite(heights)] = np.nan
    meta: dict[str, Any] = {
        "software": comment,
        "original_units": "mm",
        "channel": "height",
        "channels": ["height"],
        "offset_m": (float(offset_y) * MM, float(offset_x) * MM),
    }
    if trailing:
        meta["trailing_bytes"] = trailing
    return Surface(heights, (length_y * MM / rows, length_x * MM / cols), {}, meta)


FORMATS = [
    FileFormat(
        name="tmd",
        description="TrueMap / GelSight binary data (.tmd)",
        suffixes=(".tmd",),
        read=read_tmd,
        magic=(MAGIC,),
    ),
]
