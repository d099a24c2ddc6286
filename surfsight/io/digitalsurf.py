"""Reader for Digital Surf MountainsMap ``.sur`` files (plain ``DIGITAL SURF`` and zlib
``DSCOMPRESSED`` variants, one or several objects per file).

Layout (little-endian; from the MountainsMap SDK description as documented by the
RosettaSciIO ``digitalsurf`` plugin, Gwyddion ``surffile.c`` and SurfaceTopography
``IO/SUR.py``; see ``docs/formats/vendor-binary.md``). Each object is a 512-byte header,
then ``comment_size`` bytes of comment, ``private_size`` bytes of private zone, then the
points::

    0   char[12]  "DIGITAL SURF" | "DSCOMPRESSED"
    12  int16     format (0 = PC, 257 = Macintosh)
    14  int16     number of objects
    16  int16     version
    18  int16     object type (1 profile, 2 surface, ...)
    20  char[30]  object name          50 char[30] operator name
    86  int16     1 when the object has non-measured points
    94  int32     W size (spectral layers; 0 or 1 for height data)
    98  int16     bits per point (16 or 32)
    100 int32     zmin                 104 int32 zmax
    108 int32     points per line (nx) 112 int32 lines (ny)   116 int32 nx*ny
    120 float32   dx, dy, dz (in the step units below)
    132 char[16]x3 axis names           180 char[16]x3 step units (x, y, z)
    228 char[16]x3 length units         276 float32 x3 unit ratios
    290 int16     inverted              306 int16 x7 s, min, h, day, month, year, weekday
    324 uint32    compressed data size (DSCOMPRESSED)
    334 int16     comment size         336 int16 private zone size
    466 float32   x, y, z offsets

Data are stored row by row, x fastest: ``raw.reshape(ny, nx)`` is ``z[y, x]``.
A compressed object's data are a ``uint32`` stream count, ``count`` pairs
``(raw length, zipped length)`` and the zlib streams one after the other.
Non-measured points hold ``zmin - 2`` (when the flag at 86 is set); they become NaN.
Heights are ``raw * dz + z offset`` in the z step unit.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, UnsupportedFormatError
from ..surface import Profile, Surface
from ..units import LENGTH_UNITS
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, decompress_zlib, read_all

MAGIC_PLAIN = b"DIGITAL SURF"
MAGIC_COMPRESSED = b"DSCOMPRESSED"
HEADER_SIZE = 512
#: Largest number of zlib streams accepted in one compressed object (writers use 1 to 8).
MAX_STREAMS = 4096
#: Largest number of objects accepted in one file.
MAX_OBJECTS = 10000

OBJECT_TYPES = {
    1: "profile", 2: "surface", 3: "binary image", 4: "series of profiles", 5: "series of surfaces",
    6: "meridian disc", 7: "multilayer profile", 8: "multilayer surface", 9: "parallel disc",
    10: "intensity image", 11: "intensity surface", 12: "RGB image", 13: "RGB surface",
    14: "force curve", 15: "series of force curves", 16: "RGB intensity surface", 17: "contour profile",
    18: "series of RGB images", 20: "spectrum", 21: "hyperspectral card",
}
#: Object types holding one scalar value per grid point, which surfsight reads.
READABLE_TYPES = {1, 2, 3, 4, 5, 7, 8, 10, 11}
ACQUISITION = {0: "unknown", 1: "contact stylus", 2: "scanning optical gauge", 3: "thermocouple",
               4: "unknown", 5: "contact stylus with skid", 6: "AFM", 7: "STM", 8: "video",
               9: "interferometer", 10: "structured light projection"}


@dataclass
class SurObject:
    """One object of a ``.sur`` file: its header fields and where its points are."""

    index: int
    header: dict[str, Any]
    compressed: bool
    data_offset: int
    data_length: int
    comment: str = ""
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _sniff(head: bytes, path: Path | None) -> bool:
    return len(head) >= 14 and head[:12] in (MAGIC_PLAIN, MAGIC_COMPRESSED)


def _header(cur: Cursor, index: int) -> dict[str, Any]:
    """Parse one 512-byte object header starting at the cursor."""
    start = cur.offset
    where = f"object {index + 1} header"
    if cur.remaining < HEADER_SIZE:
        raise FormatError(cur.source, f"truncated in the {where}: needs {HEADER_SIZE} bytes from byte "
                                      f"{start}, only {cur.remaining} left")
    h: dict[str, Any] = {}
    h["code"] = cur.take(12, f"{where}: signature")
    if h["code"] not in (MAGIC_PLAIN, MAGIC_COMPRESSED):
        raise FormatError(cur.source, f"{where} at byte {start} does not start with 'DIGITAL SURF' or "
                                      f"'DSCOMPRESSED' (found {h['code']!r}): corrupt or not a .sur file")
    (h["format"], h["n_objects"], h["version"], h["type"]) = cur.unpack("<hHhh", f"{where}: format")
    h["object_name"] = cur.string(30, f"{where}: object name")
    h["operator"] = cur.string(30, f"{where}: operator name")
    (h["material"], h["acquisition"], h["range"], h["non_measured"], h["absolute"]) = cur.unpack(
        "<5h", f"{where}: flags")
    h["gauge_resolution"], h["w_size"] = cur.unpack("<fi", f"{where}: gauge resolution")
    h["bits"], h["zmin"], h["zmax"], h["nx"], h["ny"], h["n_points"] = cur.unpack("<h5i", f"{where}: grid")
    h["dx"], h["dy"], h["dz"] = cur.unpack("<3f", f"{where}: spacing")
    for key in ("x_name", "y_name", "z_name", "x_step_unit", "y_step_unit", "z_step_unit",
                "x_length_unit", "y_length_unit", "z_length_unit"):
        h[key] = cur.string(16, f"{where}: {key.replace('_', ' ')}")
    h["x_ratio"], h["y_ratio"], h["z_ratio"] = cur.unpack("<3f", f"{where}: unit ratios")
    h["imprint"], h["inverted"], h["levelled"] = cur.unpack("<3h", f"{where}: imprint")
    cur.skip(12)
    (h["second"], h["minute"], h["hour"], h["day"], h["month"], h["year"], h["weekday"]) = cur.unpack(
        "<7h", f"{where}: date")
    h["duration"], h["compressed_size"] = cur.unpack("<fI", f"{where}: duration")
    cur.skip(6)
    h["comment_size"], h["private_size"] = cur.unpack("<HH", f"{where}: comment size")
    cur.skip(128)
    h["x_offset"], h["y_offset"], h["z_offset"] = cur.unpack("<3f", f"{where}: offsets")
    cur.seek(start + HEADER_SIZE)
    return h


def _scan(data: bytes, source: Any) -> list[SurObject]:
    """Walk the objects of a file without decoding their points."""
    if len(data) < HEADER_SIZE:
        if not _sniff(data, None):
            raise FormatError(source, "not a Digital Surf .sur file (no 'DIGITAL SURF' signature)")
        raise FormatError(source, f"truncated: {len(data)} bytes, the .sur header alone needs {HEADER_SIZE}")
    cur = Cursor(data, source, "<")
    objects: list[SurObject] = []
    total = None
    while True:
        index = len(objects)
        h = _header(cur, index)
        if h["format"] == 257:
            raise UnsupportedFormatError(source, "Macintosh (big-endian) .sur files are not supported")
        if total is None:
            total = max(int(h["n_objects"]), 1)
            if total > MAX_OBJECTS:
                raise FormatError(source, f"header claims {total} objects; corrupt")
        nx, ny, bits = int(h["nx"]), int(h["ny"]), int(h["bits"])
        where = f"object {index + 1}"
        if bits not in (16, 32):
            raise FormatError(source, f"{where}: {bits} bits per point; a .sur file stores 16 or 32")
        check_grid(source, (ny, nx), bits // 8, None, what=where)
        if h["n_points"] != nx * ny:
            raise FormatError(source, f"{where}: header claims {h['n_points']} points but a "
                                      f"{nx}x{ny} grid: corrupt")
        comment = cur.take(h["comment_size"], f"{where}: comment").decode("latin-1", "replace")
        cur.take(h["private_size"], f"{where}: private zone")
        layers = max(int(h["w_size"]), 1)
        expected = check_grid(source, (layers, ny, nx), bits // 8, None, what=where)
        compressed = h["code"] == MAGIC_COMPRESSED
        start = cur.offset
        if compressed:
            count = cur.one("<I", f"{where}: compressed stream count")
            if not 1 <= count <= MAX_STREAMS:
                raise FormatError(source, f"{where}: {count} compressed streams; corrupt")
            sizes = cur.array("<u4", (count, 2), what=f"{where}: compressed stream directory")
            raw_total = int(sizes[:, 0].sum(dtype=np.uint64))
            if raw_total != expected:
                raise FormatError(source, f"{where}: compressed streams hold {raw_total} bytes, the grid "
                                          f"needs {expected}: corrupt")
            cur.take(int(sizes[:, 1].sum(dtype=np.uint64)), f"{where}: compressed points")
        else:
            cur.take(expected, f"{where}: points")
        name = h["object_name"] or h["z_name"] or f"object {index + 1}"
        objects.append(SurObject(index, h, compressed, start, cur.offset - start, comment, name))
        if len(objects) >= total or cur.remaining < HEADER_SIZE:
            break
    if len(objects) < total:
        raise FormatError(source, f"header announces {total} objects but the file ends after "
                                  f"{len(objects)}: truncated")
    seen: dict[str, int] = {}
    for obj in objects:
        if obj.name in seen:
            seen[obj.name] += 1
            obj.name = f"{obj.name} ({seen[obj.name]})"
        else:
            seen[obj.name] = 1
    return objects


def _points(data: bytes, obj: SurObject, source: Any) -> np.ndarray:
    """Raw integer points of one object, shape ``(ny, nx)`` (first W layer)."""
    h = obj.header
    nx, ny, itemsize = int(h["nx"]), int(h["ny"]), int(h["bits"]) // 8
    dtype = np.dtype("<i2" if itemsize == 2 else "<i4")
    where = f"object {obj.index + 1}"
    if obj.compressed:
        cur = Cursor(data, source, "<", obj.data_offset)
        count = cur.one("<I", f"{where}: compressed stream count")
        sizes = cur.array("<u4", (count, 2), what=f"{where}: compressed stream directory")
        chunks = []
        for k, (raw_len, zip_len) in enumerate(sizes.tolist()):
            blob = cur.take(zip_len, f"{where}: compressed stream {k + 1}")
            chunks.append(decompress_zlib(blob, raw_len, source, what=f"{where}: compressed stream {k + 1}"))
        raw = b"".join(chunks)
        values = np.frombuffer(raw, dtype=dtype, count=nx * ny)
    else:
        cur = Cursor(data, source, "<", obj.data_offset)
        values = cur.array(dtype, (ny * nx,), what=f"{where}: points")
    return values.reshape(ny, nx)


def _unit(unit: str, source: Any, what: str) -> float:
    key = unit.strip()
    if key in LENGTH_UNITS:
        return LENGTH_UNITS[key]
    raise FormatError(source, f"{what}: unit {unit!r} is not a length unit surfsight knows")


def _heights(data: bytes, obj: SurObject, source: Any) -> tuple[np.ndarray, float, float, float]:
    """Heights in metres (NaN where not measured) and ``(dy, dx)`` in metres, and z scale."""
    h = obj.header
    where = f"object {obj.index + 1}"
    raw = _points(data, obj, source)
    dx = abs(float(h["dx"])) * _unit(h["x_step_unit"], source, f"{where}: x step")
    ny = int(h["ny"])
    dy = abs(float(h["dy"])) * _unit(h["y_step_unit"], source, f"{where}: y step") if ny > 1 else dx
    zfactor = _unit(h["z_step_unit"], source, f"{where}: z step")
    dz = float(h["dz"])
    for value, name in ((dx, "x spacing"), (dy, "y spacing"), (dz, "z spacing"), (float(h["z_offset"]), "z offset")):
        if not math.isfinite(value) or (name != "z offset" and value == 0):
            raise FormatError(source, f"{where}: {name} is {value!r}: corrupt header")
    heights = raw.astype(np.float64) * (dz * zfactor) + float(h["z_offset"]) * zfactor
    if h["non_measured"] == 1:
        heights[raw == int(h["zmin"]) - 2] = np.nan
    return heights, dy, dx, zfactor


def _date(h: dict[str, Any]) -> str | None:
    try:
        if h["year"] <= 0:
            return None
        return _dt.datetime(h["year"], h["month"], h["day"], h["hour"], h["minute"], h["second"]).isoformat()
    except ValueError:
        return None


def _select(objects: list[SurObject], channel: str | None, source: Any) -> SurObject:
    if channel is None:
        for obj in objects:
            if obj.header["type"] in READABLE_TYPES:
                return obj
        kinds = ", ".join(sorted({OBJECT_TYPES.get(o.header["type"], str(o.header["type"])) for o in objects}))
        raise UnsupportedFormatError(source, f"holds no height data surfsight reads (object types: {kinds})")
    for obj in objects:
        if obj.name == channel:
            if obj.header["type"] not in READABLE_TYPES:
                kind = OBJECT_TYPES.get(obj.header["type"], f"type {obj.header['type']}")
                raise UnsupportedFormatError(source, f"channel {channel!r} is a {kind}, which surfsight does not read")
            return obj
    names = ", ".join(repr(o.name) for o in objects)
    raise FormatError(source, f"no channel {channel!r}; the file holds {names}")


def read(path: Path, channel: str | None = None, spacing=None) -> Surface | Profile:
    """Read one object of a Digital Surf ``.sur`` file.

    Parameters
    ----------
    path
        The file.
    channel
        Object name (see ``metadata["channels"]``); ``None`` reads the first object that
        holds heights.
    spacing
        Ignored: the file stores its spacing.

    Returns
    -------
    Surface or Profile
        Heights in metres with NaN at non-measured points (raw value ``zmin - 2``). Other
        objects on the same grid become ``layers`` (in metres when their unit is a length).
    """
    path = Path(path)
    data = read_all(path)
    objects = _scan(data, path)
    obj = _select(objects, channel, path)
    h = obj.header
    heights, dy, dx, _ = _heights(data, obj, path)
    layers: dict[str, np.ndarray] = {}
    for other in objects:
        if other is obj or other.header["type"] not in READABLE_TYPES:
            continue
        if (other.header["ny"], other.header["nx"]) == heights.shape:
            try:
                layers[other.name] = _heights(data, other, path)[0]
            except FormatError:
                raw = _points(data, other, path).astype(np.float64) * float(other.header["dz"])
                layers[other.name] = raw
    metadata: dict[str, Any] = {
        "acquisition": ACQUISITION.get(h["acquisition"], "unknown"),
        "operator": h["operator"],
        "object_type": OBJECT_TYPES.get(h["type"], str(h["type"])),
        "original_units": {"x": h["x_step_unit"], "y": h["y_step_unit"], "z": h["z_step_unit"]},
        "channel": obj.name,
        "channels": [o.name for o in objects],
        "compressed": obj.compressed,
        "inverted": int(h["inverted"]),
        "zmin_raw": int(h["zmin"]),
        "non_measured_raw": int(h["zmin"]) - 2 if h["non_measured"] == 1 else None,
    }
    if h["acquisition"] not in (0, 4) and h["acquisition"] in ACQUISITION:
        metadata["instrument"] = ACQUISITION[h["acquisition"]]
    if obj.comment.strip():
        metadata["comment"] = obj.comment.strip()
    date = _date(h)
    if date:
        metadata["date"] = date
    if heights.shape[0] == 1:
        return Profile(heights[0], dx, {k: v[0] for k, v in layers.items()}, metadata)
    return Surface(heights, (dy, dx), layers, metadata)


def channels(path: Path) -> list[str]:
    """Object names of a ``.sur`` file, in file order."""
    path = Path(path)
    return [o.name for o in _scan(read_all(path), path)]


FORMATS = [
    FileFormat(
        name="sur",
        description="Digital Surf MountainsMap surface (.sur)",
        suffixes=(".sur",),
        read=read,
        magic=(MAGIC_PLAIN, MAGIC_COMPRESSED),
        sniff=_sniff,
        channels=channels,
    )
]
