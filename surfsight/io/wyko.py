"""Reader for Wyko / Veeco / Bruker Vision ``.opd`` files (white-light interferometers).

Layout (little-endian; Gwyddion ``opdfile.c``, SurfaceTopography ``IO/OPD.py``; see
``docs/formats/vendor-binary.md``)::

    0   int16      1
    2   directory entry: char[16] "Directory", int16 type 1, int32 size, uint16 0xFFFF
    26  size/24 - 1 further entries of 24 bytes: char[16] name, int16 type, int32 size,
        uint16 flags
    2 + size       the blocks' contents, one after another in directory order

Block types: 3 array (uint16 nx, ny, element size 1/2/4, then the elements column by
column: x outer, y inner from the top row down), 5 text, 6 int16, 7 float32, 8 float64,
12 int32, 15 serialised structures (opaque here, skipped by their size: the type that
surfalize 0.19 rejects). Heights: ``value * Wavelength [nm] / Mult``; float elements at or
above 1e38 (the file writes 2**127) and int16 elements at or above 32766 are not measured.
``Pixel_size`` is in mm; the y spacing is ``Pixel_size * Aspect``.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, UnsupportedFormatError
from ..surface import Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

MAGIC = b"\x01\x00Directory"
ENTRY_SIZE = 24
BAD_FLOAT = 1e38
BAD_INT16 = 32766
#: Array blocks that hold heights, and those that hold intensity-like images.
HEIGHT_BLOCKS = ("OPD", "SAMPLE_DATA", "RAW_DATA", "RAW DATA", "Raw")
IMAGE_BLOCKS = ("Image", "Intensity", "SecArr_0")
MAX_ENTRIES = 100000

TYPE_DIRECTORY, TYPE_ARRAY, TYPE_TEXT, TYPE_SHORT, TYPE_FLOAT, TYPE_DOUBLE, TYPE_LONG = 1, 3, 5, 6, 7, 8, 12
_FIXED = {TYPE_SHORT: ("<h", 2), TYPE_FLOAT: ("<f", 4), TYPE_DOUBLE: ("<d", 8), TYPE_LONG: ("<i", 4)}


def _sniff(head: bytes, path: Path | None) -> bool:
    return head[:11] == MAGIC


def _directory(data: bytes, source: Any) -> list[tuple[str, int, int, int]]:
    """``(name, type, offset, size)`` for every non-empty block."""
    cur = Cursor(data, source, "<")
    if data[:11] != MAGIC:
        raise FormatError(source, "not a Wyko .opd file (does not start with the 'Directory' block)")
    cur.skip(2)
    cur.take(16, "directory name")
    dtype, dsize, dflags = cur.unpack("<hiH", "directory entry")
    if dtype != TYPE_DIRECTORY or dsize < ENTRY_SIZE or dsize % ENTRY_SIZE:
        raise FormatError(source, f"directory entry has type {dtype} and size {dsize}: corrupt")
    n = dsize // ENTRY_SIZE
    if n > MAX_ENTRIES:
        raise FormatError(source, f"directory claims {n} entries: corrupt")
    if 2 + dsize > len(data):
        raise FormatError(source, f"truncated in the directory: it needs {2 + dsize} bytes, the file has {len(data)}")
    blocks = []
    offset = 2 + dsize
    for i in range(n - 1):
        raw_name = cur.take(16, f"directory entry {i + 2} name")
        btype, bsize, _flags = cur.unpack("<hiH", f"directory entry {i + 2}")
        name = raw_name.split(b"\0", 1)[0].decode("latin-1").strip()
        if bsize < 0:
            raise FormatError(source, f"block {name!r} has negative size {bsize}: corrupt")
        if bsize == 0:
            continue
        # Known quirks (Gwyddion opdfile.c): two blocks declared with the wrong type or size.
        if name.startswith("AdjustVSI_") and btype == TYPE_FLOAT and bsize == 2:
            btype = TYPE_SHORT
        if name == "ImageModificat~0" and btype == TYPE_FLOAT and bsize == 40:
            bsize = 4
        if btype == TYPE_DIRECTORY:
            raise FormatError(source, f"block {name!r} is a nested directory: corrupt")
        if offset + bsize > len(data):
            raise FormatError(source, f"truncated: block {name!r} needs bytes {offset}..{offset + bsize}, "
                                      f"the file has {len(data)}")
        blocks.append((name, btype, offset, bsize))
        offset += bsize
    return blocks


def _scalar(data: bytes, block: tuple[str, int, int, int], source: Any) -> float | int | str | None:
    name, btype, offset, size = block
    if btype in _FIXED:
        fmt, need = _FIXED[btype]
        if size < need:
            raise FormatError(source, f"block {name!r} holds {size} bytes, a value of its type needs {need}")
        return Cursor(data, source, "<", offset).one(fmt, name)
    if btype == TYPE_TEXT:
        return data[offset:offset + size].split(b"\0", 1)[0].decode("latin-1").strip()
    return None


def _array(data: bytes, block: tuple[str, int, int, int], source: Any) -> np.ndarray:
    """Elements of an array block as ``[row, col]`` (row 0 at the top), raw values."""
    name, btype, offset, size = block
    cur = Cursor(data, source, "<", offset)
    nx, ny, elsize = cur.unpack("<HHH", f"{name} array size")
    dtypes = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<f4")}
    if elsize not in dtypes:
        raise FormatError(source, f"array {name!r} has element size {elsize}; .opd arrays use 1, 2 or 4")
    check_grid(source, (nx, ny), elsize, size - 6, what=f"array {name!r}")
    columns = cur.array(dtypes[elsize], (nx, ny), what=f"array {name!r}")
    # stored column by column (x outer) with y running from the bottom row up
    return columns.T[::-1, :]


def read(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Wyko/Vision ``.opd`` file.

    Parameters
    ----------
    path
        The file.
    channel
        Name of a height array block (``"Raw"``, ``"OPD"``, ...); ``None`` reads the first.
    spacing
        Ignored: the file stores its pixel size.

    Returns
    -------
    Surface
        Heights in metres with NaN at invalid points; intensity arrays on the same grid
        (``Image``, ``Intensity``, ``SecArr_0``) become ``layers``.
    """
    path = Path(path)
    data = read_all(path)
    blocks = _directory(data, path)
    by_name = {b[0]: b for b in blocks}
    arrays = [b for b in blocks if b[1] == TYPE_ARRAY]
    height_arrays = [b for b in arrays if b[0] in HEIGHT_BLOCKS]
    names = [b[0] for b in height_arrays]
    if not height_arrays:
        raise UnsupportedFormatError(path, "holds no height array (no 'Raw', 'OPD' or 'RAW_DATA' block)")
    if channel is None:
        block = height_arrays[0]
    elif channel in names:
        block = height_arrays[names.index(channel)]
    else:
        raise FormatError(path, f"no height channel {channel!r}; the file holds {', '.join(names)}")

    def number(name: str, default: float | None) -> float:
        if name not in by_name:
            if default is None:
                raise FormatError(path, f"has no {name!r} block, needed to scale the data")
            return default
        value = _scalar(data, by_name[name], path)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
            raise FormatError(path, f"block {name!r} holds {value!r}: corrupt")
        return float(value)

    wavelength_nm = number("Wavelength", None)
    mult = number("Mult", 1.0)
    aspect = number("Aspect", 1.0)
    pixel_mm = number("Pixel_size", None)
    raw = _array(data, block, path)
    values = raw.astype(np.float64)
    if raw.dtype == np.float32:
        values[~(np.abs(values) < BAD_FLOAT)] = np.nan
    elif raw.dtype == np.int16:
        values[raw >= BAD_INT16] = np.nan
    scale_nm = wavelength_nm / mult
    heights = values * scale_nm * 1e-9
    dx = abs(pixel_mm) * 1e-3
    dy = dx * abs(aspect)
    layers: dict[str, np.ndarray] = {}
    for other in arrays:
        if other[0] in IMAGE_BLOCKS:
            image = _array(data, other, path)
            if image.shape == heights.shape:
                key = "intensity" if other[0] in ("Image", "Intensity") and "intensity" not in layers else other[0]
                layers[key] = image.astype(np.float32) if image.dtype != np.uint8 else image.copy()
    metadata: dict[str, Any] = {
        "vendor": "Wyko/Veeco/Bruker Vision",
        "original_units": {"x": "mm", "y": "mm", "z": f"wavelength/{mult:g} ({wavelength_nm:g} nm)"},
        "height_scale_factor_mm": scale_nm * 1e-6,
        "wavelength_m": wavelength_nm * 1e-9,
        "mult": mult,
        "aspect": aspect,
        "channel": block[0],
        "channels": names,
        "blocks": [b[0] for b in blocks],
    }
    for key in ("Date", "Time", "Title", "DataKind", "Measurement", "DataSetName"):
        if key in by_name and by_name[key][1] == TYPE_TEXT:
            metadata[key.lower()] = _scalar(data, by_name[key], path)
    if "Magnification" in by_name and by_name["Magnification"][1] == TYPE_FLOAT:
        metadata["magnification"] = float(_scalar(data, by_name["Magnification"], path))
    if metadata.get("date"):
        metadata["date"] = _iso_date(str(metadata["date"]), str(metadata.get("time", "")))
    return Surface(heights, (dy, dx), layers, metadata)


def _iso_date(date: str, time: str) -> str:
    """Vision writes ``M/D/YYYY`` and ``HH:MM:SS``; give ISO 8601 when it parses."""
    try:
        day = _dt.datetime.strptime(date.strip(), "%m/%d/%Y")
    except ValueError:
        return f"{date} {time}".strip()
    try:
        clock = _dt.datetime.strptime(time.strip(), "%H:%M:%S").time()
    except ValueError:
        return day.date().isoformat()
    return _dt.datetime.combine(day.date(), clock).isoformat()


def channels(path: Path) -> list[str]:
    path = Path(path)
    blocks = _directory(read_all(path), path)
    return [b[0] for b in blocks if b[1] == TYPE_ARRAY and b[0] in HEIGHT_BLOCKS]


FORMATS = [
    FileFormat(
        name="opd",
        description="Wyko/Veeco Vision interferometer (.opd)",
        suffixes=(".opd",),
        read=read,
        magic=(MAGIC,),
        sniff=_sniff,
        channels=channels,
    )
]
