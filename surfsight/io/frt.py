"""FRT MicroProf ``.frt`` files (FRT GmbH / FormFactor optical profilometers).

Layout (little-endian; as read by Gwyddion's ``microprof.c`` and SurfaceTopography's
``FRT.py``, which follow FRT's block specification):

* 16 bytes ``"FRTM_GLIDERV1.00"`` (or ``V1.01``), then ``uint16`` the number of blocks;
* blocks of ``uint16 type``, a size (``uint32`` in version 1.00, ``uint64`` in 1.01) and the
  payload. Those surfsight uses:

  ========  ==================================================================================
  0x0066    image size: ``uint32 xres, yres, bits per point`` (16 = unsigned, 32 = signed)
  0x0067    scan size: ``float64 xrange, yrange, xoffset, yoffset`` (metres), y/x ratio,
            ``uint32`` scan direction
  0x006c    sensor: ``uint32`` measuring range code, ``float64 zscale`` (metres per count) --
            the only height scale; heights are ``counts * zscale``
  0x0070    valid values: ``uint32 first_valid, last_valid`` (raw counts)
  0x0072    time: ``uint32`` start, end (Unix seconds), duration
  0x000b    single-image part: ``xres * yres`` raw counts of the topography
  0x007d    multi-image part: ``4 x uint16`` buffer ids, then for each image ``uint32`` data
            type, ``xres, yres, bits`` and the counts. Type bits: 0x2 intensity, 0x4 topography,
            0x80 thickness, 0x800 sample thickness, 0x1000 AFM, 0x2000 quality; 0x10000000
            bottom sensor; ``(type >> 24) & 0xf`` buffer counter
  ========  ==================================================================================

Invalid points: the raw count 1 marks a point without a valid measurement (Gwyddion and
SurfaceTopography agree on this); for 16-bit data counts outside ``first_valid..last_valid``
(block 0x0070) are invalid as well. Block 0x009a also carries a "scale", but it is zero unless
the instrument ran in TTV (thickness) mode; it is not the height scale.

Rows are kept in file order (row 0 is the first scanned line, ``y = 0``); Gwyddion flips them
for display.
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

MAGIC = b"FRTM_GLIDERV"
VERSIONS = {b"1.00": "I", b"1.01": "Q"}
INVALID_COUNT = 1

_TYPE_NAMES = (
    (0x0001, "piezo"), (0x0002, "intensity"), (0x0004, "topography"), (0x0008, "real part"),
    (0x0010, "imaginary part"), (0x0040, "camera"), (0x0080, "thickness"), (0x0100, "DIB from file"),
    (0x0200, "absolute value"), (0x0400, "phase"), (0x0800, "sample thickness"), (0x1000, "AFM"),
    (0x2000, "quality"),
)
_TYPE_MASK = 0x0000FFDF
#: Data types that are heights (scaled by zscale).
_HEIGHT_TYPES = 0x0004 | 0x0080 | 0x0800 | 0x1000


def read_blocks(data: bytes, path: Path) -> tuple[str, dict[int, tuple[int, int]]]:
    """Version and ``{block type: (payload offset, payload size)}``; every size is checked."""
    if data[:len(MAGIC)] != MAGIC:
        raise FormatError(path, "not an FRT MicroProf file (magic 'FRTM_GLIDERV' missing)")
    version = data[len(MAGIC):len(MAGIC) + 4]
    if version not in VERSIONS:
        raise FormatError(path, f"FRT version {version!r} is not supported (1.00 and 1.01 are)")
    c = Cursor(data, path, "<", len(MAGIC) + 4)
    count = c.one("H", "block count")
    size_fmt = VERSIONS[version]
    blocks: dict[int, tuple[int, int]] = {}
    found = 0
    while c.remaining > 0:
        kind = c.one("H", f"type of block {found}")
        size = c.one(size_fmt, f"size of block {found} (type 0x{kind:04x})")
        if size > c.remaining:
            raise FormatError(path, f"truncated: block 0x{kind:04x} at byte {c.offset} claims {size} bytes, "
                                    f"only {c.remaining} follow")
        if kind in blocks and kind in (0x000B, 0x0066, 0x0067, 0x006C, 0x007D):
            raise FormatError(path, f"block 0x{kind:04x} occurs twice: corrupt")
        blocks.setdefault(kind, (c.offset, size))
        c.skip(size, f"block 0x{kind:04x}")
        found += 1
    if found < count:
        raise FormatError(path, f"truncated: the file lists {count} blocks, only {found} are present")
    return version.decode(), blocks


def _payload(data: bytes, blocks: dict[int, tuple[int, int]], kind: int, fmt: str, path: Path,
             what: str) -> tuple | None:
    if kind not in blocks:
        return None
    offset, size = blocks[kind]
    need = struct.calcsize("<" + fmt)
    if size < need:
        raise FormatError(path, f"{what} block 0x{kind:04x} has {size} bytes, needs {need}")
    return struct.unpack_from("<" + fmt, data, offset)


def _type_name(datatype: int) -> str:
    base = datatype & _TYPE_MASK
    name = next((n for bit, n in _TYPE_NAMES if base == bit), None)
    if name is None:
        name = next((n for bit, n in _TYPE_NAMES if base & bit), "unknown")
    sensor = "bottom sensor" if datatype & 0x10000000 else "top sensor"
    counter = ((datatype >> 24) & 0x0F) + 1
    return f"{name} ({sensor}) {counter}"


def _images(data: bytes, blocks: dict[int, tuple[int, int]], path: Path) -> list[dict[str, Any]]:
    """Image descriptors ``{datatype, name, rows, cols, bits, offset}`` without reading data."""
    images: list[dict[str, Any]] = []
    if 0x007D in blocks:
        offset, size = blocks[0x007D]
        c = Cursor(memoryview(data)[:offset + size], path, "<", offset)  # no copy
        c.skip(8, "buffer ids of the images block")
        while c.remaining > 16:
            datatype, cols, rows, bits = c.unpack("4I", f"header of image {len(images)}")
            images.append(_image(datatype, rows, cols, bits, c, path))
        if c.remaining:
            raise FormatError(path, f"images block 0x007d has {c.remaining} bytes left over: corrupt")
    elif 0x000B in blocks:
        grid = _payload(data, blocks, 0x0066, "III", path, "image size")
        if grid is None:
            raise FormatError(path, "image size block 0x0066 is missing")
        cols, rows, bits = grid
        offset, size = blocks[0x000B]
        c = Cursor(memoryview(data)[:offset + size], path, "<", offset)  # no copy
        images.append(_image(0x0004, rows, cols, bits, c, path))
        if c.remaining:
            raise FormatError(path, f"image block 0x000b has {c.remaining} bytes more than {rows}x{cols} points")
    if not images:
        raise FormatError(path, "file holds no image data (neither block 0x000b nor 0x007d)")
    names = [im["name"] for im in images]
    for im in images:
        if names.count(im["name"]) > 1:
            im["name"] = f"{im['name']} #{images.index(im) + 1}"
    return images


def _image(datatype: int, rows: int, cols: int, bits: int, c: Cursor, path: Path) -> dict[str, Any]:
    if bits not in (16, 32):
        raise FormatError(path, f"image of {bits} bits per point is not supported (16 or 32)")
    itemsize = bits // 8
    check_grid(path, (rows, cols), itemsize, c.remaining, what=f"{_type_name(datatype)} image")
    image = {"datatype": datatype, "name": _type_name(datatype), "rows": rows, "cols": cols, "bits": bits,
             "offset": c.offset}
    c.skip(rows * cols * itemsize, "image data")
    return image


def _counts(data: bytes, image: dict[str, Any]) -> np.ndarray:
    dtype = "<u2" if image["bits"] == 16 else "<i4"
    return np.frombuffer(data, dtype=dtype, count=image["rows"] * image["cols"],
                         offset=image["offset"]).reshape(image["rows"], image["cols"])


def _invalid(counts: np.ndarray, image: dict[str, Any], valid_range: tuple | None) -> np.ndarray:
    invalid = counts == INVALID_COUNT
    if valid_range is not None and image["bits"] == 16:
        first, last = valid_range
        if first <= last:
            invalid |= (counts < first) | (counts > last)
    return invalid


def read_frt(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read an FRT ``.frt`` file.

    ``channel`` is an image name as listed in ``metadata["channels"]`` (e.g.
    ``"topography (top sensor) 1"``, ``"intensity (top sensor) 1"``), or ``"height"`` / ``None``
    for the first height image. Other images of the same grid go to ``layers``.
    """
    path = Path(path)
    data = read_all(path)
    version, blocks = read_blocks(data, path)
    images = _images(data, blocks, path)
    names = [im["name"] for im in images]
    heights_images = [im for im in images if (im["datatype"] & _TYPE_MASK) & _HEIGHT_TYPES]
    if channel in (None, "height"):
        if not heights_images:
            raise FormatError(path, f"no height image in the file; it has {', '.join(names)}")
        chosen = heights_images[0]
    else:
        chosen = next((im for im in images if im["name"] == channel), None)
        if chosen is None:
            raise FormatError(path, f"no channel {channel!r}; this file has {', '.join(names)}")

    scan = _payload(data, blocks, 0x0067, "ddddd", path, "scan size")
    if scan is None:
        raise FormatError(path, "scan size block 0x0067 is missing")
    xrange, yrange = abs(scan[0]), abs(scan[1])
    for label, value in (("x range", xrange), ("y range", yrange)):
        if not (math.isfinite(value) and value > 0):
            raise FormatError(path, f"{label} {value!r} m is not a positive length")
    sensor = _payload(data, blocks, 0x006C, "Id", path, "sensor")
    valid_range = _payload(data, blocks, 0x0070, "II", path, "valid values")
    is_height = bool((chosen["datatype"] & _TYPE_MASK) & _HEIGHT_TYPES)
    counts = _counts(data, chosen)
    values = counts.astype(np.float64)
    values[_invalid(counts, chosen, valid_range)] = np.nan
    meta: dict[str, Any] = {"instrument": "FRT MicroProf", "channels": names, "channel": chosen["name"],
                            "frt_version": version}
    if is_height:
        if sensor is None:
            raise FormatError(path, "sensor block 0x006c (height scale) is missing")
        zscale = sensor[1]
        if not (math.isfinite(zscale) and zscale != 0):
            raise FormatError(path, f"height scale {zscale!r} m per count is not usable")
        values *= zscale
        meta["original_units"] = f"counts of {zscale:.6g} m"
        meta["height_per_count_m"] = zscale
    else:
        meta["original_units"] = "counts (not a height)"
        meta["quantity"] = chosen["name"].split(" (")[0]
    layers = {}
    for im in images:
        if im is chosen or (im["rows"], im["cols"]) != (chosen["rows"], chosen["cols"]):
            continue
        raw = _counts(data, im)
        layer = raw.astype(np.float64)
        layer[_invalid(raw, im, valid_range)] = np.nan
        if (im["datatype"] & _TYPE_MASK) & _HEIGHT_TYPES and sensor is not None:
            layer *= sensor[1]
        layers[im["name"]] = layer
    times = _payload(data, blocks, 0x0072, "III", path, "time")
    if times is not None and times[0] > 0:
        meta["date"] = _dt.datetime.fromtimestamp(times[0], _dt.timezone.utc).isoformat()
    for kind, key in ((0x0065, "description"), (0x0077, "parameter_set")):
        if kind in blocks:
            offset, size = blocks[kind]
            text = data[offset:offset + size].split(b"\0", 1)[0].decode("latin-1", "replace").strip()
            if text:
                meta[key] = text
    meta["scan_offset_m"] = (float(scan[3]), float(scan[2]))
    step = (yrange / chosen["rows"], xrange / chosen["cols"])
    return Surface(values, step, layers, meta)


def frt_channels(path: Path) -> list[str]:
    data = read_all(path)
    _, blocks = read_blocks(data, Path(path))
    return [im["name"] for im in _images(data, blocks, Path(path))]


FORMATS = [
    FileFormat(
        name="frt",
        description="FRT MicroProf (.frt)",
        suffixes=(".frt",),
        read=read_frt,
        magic=(MAGIC,),
        channels=frt_channels,
    ),
]
