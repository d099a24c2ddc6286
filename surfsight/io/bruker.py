"""Reader for Bruker Dektak / Vision64 ``.opdx`` files (stylus profilers, also optical).

Layout (little-endian; Gwyddion ``dektakvca.c``, SurfaceTopography ``IO/OPDx.py``; see
``docs/formats/vendor-binary.md``). After the 12-byte magic ``"VCA DATA\\x01\\x00\\x00\\x55"``
the file is a tree of tagged items::

    item   := name:(uint32 n, n bytes UTF-8)  type:uint8  payload
    varlen := uint8 k (1, 2 or 4), then a k-byte unsigned length

    0x7D container, 0x46/0x47 raw-data wrappers : varlen, items..., terminator
    0x7F terminator      : (empty name) 0x7F, 2 bytes
    0x01 bool (1) 0x04/0x05 int16 0x06/0x07 int32 0x0A/0x0B int64 0x0C float32 0x0D float64
    0x15 time stamp      : 9 bytes (uint8 1, int64 Windows FILETIME, UTC)
    0x12 string          : varlen, UTF-8
    0x13 quantity        : varlen, float64 value, name, symbol, extra
    0x18 unit            : varlen, name, symbol, float64, 12 bytes
    0x0E type id, 0x42 string list, 0x40 double array, 0x7C position function
                         : type name (uint32 n, bytes), varlen, payload
    0x00 matrix          : type name, uint32, name, varlen, uint32 yres, xres, float32 data
    0x45 anonymous matrix: type name, varlen, uint32 yres, xres, float32 data

A profile lives in ``/1D_Data/<channel>``: ``Array`` (0x40: uint8 element type 0x0D, uint32
element size 8, then float64 values), ``NumPoints``, ``Extent`` (quantity: distance from
the first to the last point, so ``dx = Extent / (NumPoints - 1)``) and ``DataScale``
(quantity: heights are ``Array * DataScale`` in its unit).
"""

from __future__ import annotations

import datetime as _dt
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, UnsupportedFormatError
from ..surface import Profile, Surface
from ..units import LENGTH_UNITS
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

MAGIC = b"VCA DATA\x01\x00\x00\x55"
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000

CONTAINERS = (0x7D, 0x46, 0x47)
TERMINATOR = 0x7F
_SCALARS = {0x01: "<?", 0x04: "<h", 0x05: "<H", 0x06: "<i", 0x07: "<I", 0x0A: "<q", 0x0B: "<Q",
            0x0C: "<f", 0x0D: "<d"}


class Quantity(tuple):
    """``(value, name, symbol)`` of an OPDx quantity or unit item."""

    __slots__ = ()

    def __new__(cls, value: float, name: str, symbol: str):
        return super().__new__(cls, (value, name, symbol))

    value = property(lambda self: self[0])
    name = property(lambda self: self[1])
    symbol = property(lambda self: self[2])


class Blob(tuple):
    """Where an array payload lies: ``(offset, length, kind, extra)``."""

    __slots__ = ()

    def __new__(cls, offset: int, length: int, kind: str, extra: tuple = ()):
        return super().__new__(cls, (offset, length, kind, extra))


def _sniff(head: bytes, path: Path | None) -> bool:
    return head[:12] == MAGIC


class _Parser:
    def __init__(self, data: bytes, source: Any):
        self.cur = Cursor(data, source, "<")
        self.source = source
        self.items: dict[str, Any] = {}
        self.count = 0

    def fail(self, problem: str) -> FormatError:
        return FormatError(self.source, f"{problem} (at byte {self.cur.offset}): corrupt or truncated .opdx")

    def name(self, what: str) -> str:
        n = self.cur.one("<I", f"{what} name length")
        if n > self.cur.remaining:
            raise self.fail(f"{what} name claims {n} bytes")
        return self.cur.take(n, f"{what} name").decode("utf-8", "replace")

    def varlen(self, what: str) -> int:
        k = self.cur.one("<B", f"{what} length size")
        if k not in (1, 2, 4):
            raise self.fail(f"{what}: length field of {k} bytes")
        n = self.cur.one({1: "<B", 2: "<H", 4: "<I"}[k], f"{what} length")
        if n > self.cur.remaining:
            raise FormatError(self.source, f"truncated: {what} claims {n} bytes from byte {self.cur.offset}, "
                                           f"only {self.cur.remaining} left")
        return n

    def quantity(self, what: str, unit_first: bool) -> Quantity:
        n = self.varlen(what)
        end = self.cur.offset + n
        sub = Cursor(self.cur.data[:end], self.source, "<", self.cur.offset)
        saved, self.cur = self.cur, sub
        try:
            if unit_first:
                name, symbol = self.name(what), self.name(what)
                value = self.cur.one("<d", f"{what} value")
            else:
                value = self.cur.one("<d", f"{what} value")
                name, symbol = self.name(what), self.name(what)
        finally:
            self.cur = saved
        self.cur.seek(end)
        return Quantity(value, name, symbol)

    def parse(self, prefix: str = "", end: int | None = None, depth: int = 0) -> None:
        """Parse items until a terminator. The top level (``end`` None) is closed by one too, as
        every container is: a file cut between two top-level items would otherwise read as
        whole, with the items after the cut silently missing."""
        if depth > MAX_DEPTH:
            raise self.fail("containers nested too deeply")
        limit = len(self.cur.data) if end is None else end
        while self.cur.offset < limit:
            self.count += 1
            if self.count > MAX_ITEMS:
                raise self.fail("too many items")
            name = self.name("item")
            path = f"{prefix}/{name}"
            kind = self.cur.one("<B", f"type of {path}")
            if kind == TERMINATOR:
                self.cur.take(2, "terminator")
                if end is not None and self.cur.offset != end:
                    raise self.fail(f"container {prefix} ends at byte {self.cur.offset}, its length says {end}")
                return
            if kind in CONTAINERS:
                n = self.varlen(path)
                self.parse(path, self.cur.offset + n, depth + 1)
                continue
            self.items[path] = self.value(kind, path)
        if end is not None:
            raise self.fail(f"container {prefix} has no terminator")
        raise self.fail("the file ends without its closing terminator")

    def value(self, kind: int, path: str) -> Any:
        cur = self.cur
        if kind in _SCALARS:
            return cur.one(_SCALARS[kind], path)
        if kind == 0x15:
            stamp = cur.take(9, path)
            return ("timestamp", stamp)
        if kind == 0x12:
            n = self.varlen(path)
            return cur.take(n, path).decode("utf-8", "replace")
        if kind == 0x13:
            return self.quantity(path, unit_first=False)
        if kind == 0x18:
            return self.quantity(path, unit_first=True)
        if kind in (0x0E, 0x42, 0x40, 0x7C):
            self.name(f"{path} type")
            n = self.varlen(path)
            start = cur.offset
            cur.take(n, path)
            if kind == 0x42:
                return self._strings(start, n, path)
            if kind == 0x0E:
                return cur.data[start:start + n]
            return Blob(start, n, "array" if kind == 0x40 else "positions")
        if kind == 0x00:
            self.name(f"{path} type")
            cur.one("<I", f"{path} header")
            self.name(f"{path} inner")
            return self._matrix(path)
        if kind == 0x45:
            self.name(f"{path} type")
            return self._matrix(path)
        raise self.fail(f"unknown item type 0x{kind:02x} for {path}")

    def _matrix(self, path: str) -> Blob:
        n = self.varlen(path)
        if n < 8:
            raise self.fail(f"matrix {path} of {n} bytes")
        yres, xres = self.cur.unpack("<II", f"{path} size")
        start = self.cur.offset
        self.cur.take(n - 8, path)
        return Blob(start, n - 8, "matrix", (int(yres), int(xres)))

    def _strings(self, start: int, n: int, path: str) -> list[str]:
        sub = Cursor(self.cur.data[:start + n], self.source, "<", start)
        out = []
        while sub.offset < start + n:
            k = sub.one("<I", f"{path} string length")
            out.append(sub.take(k, f"{path} string").decode("utf-8", "replace"))
        return out


def parse(data: bytes, source: Any) -> dict[str, Any]:
    """All items of an ``.opdx`` file, keyed by their path (``"/1D_Data/Raw/Array"``)."""
    if data[:12] != MAGIC:
        raise FormatError(source, "not a Bruker .opdx file (no 'VCA DATA' signature)")
    parser = _Parser(data, source)
    parser.cur.seek(12)
    parser.parse()
    return parser.items


def _length(q: Any, source: Any, what: str) -> float:
    """A length quantity in metres."""
    if not isinstance(q, Quantity):
        raise FormatError(source, f"{what} is missing or not a quantity")
    symbol = q.symbol.strip().rstrip(".")
    if symbol not in LENGTH_UNITS:
        raise FormatError(source, f"{what} is in {q.symbol!r}, not a length unit surfsight knows")
    value = float(q.value) * LENGTH_UNITS[symbol]
    if not math.isfinite(value):
        raise FormatError(source, f"{what} is {q.value!r}: corrupt")
    return value


def _timestamp(value: Any) -> str | None:
    if not (isinstance(value, tuple) and len(value) == 2 and value[0] == "timestamp"):
        return None
    stamp = value[1]
    ticks = struct.unpack("<q", stamp[1:9])[0]
    try:
        when = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(microseconds=ticks // 10)
    except (OverflowError, ValueError):
        return None
    return when.isoformat()


def _doubles(data: bytes, blob: Blob, count: int, source: Any, what: str) -> np.ndarray:
    offset, length = blob[0], blob[1]
    cur = Cursor(data[:offset + length], source, "<", offset)
    kind, itemsize = cur.unpack("<BI", f"{what} element type")
    if (kind, itemsize) != (0x0D, 8):
        raise UnsupportedFormatError(source, f"{what} holds elements of type 0x{kind:02x}, size {itemsize}; "
                                             "surfsight reads float64 arrays")
    if length - 5 != 8 * count:
        raise FormatError(source, f"{what} holds {length - 5} bytes, {count} points need {8 * count}")
    return cur.array("<f8", (count,), what=what)


def read(path: Path, channel: str | None = None, spacing=None) -> Profile | Surface:
    """Read a Bruker ``.opdx`` file.

    Parameters
    ----------
    path
        The file.
    channel
        A channel listed in ``/MetaData/1D_Channels/Height`` or ``/MetaData/2D_Channels/Height``
        (``"Raw"`` typically); ``None`` reads the primary one.
    spacing
        Ignored: the file stores its spacing.

    Returns
    -------
    Profile or Surface
        Heights in metres.
    """
    path = Path(path)
    data = read_all(path)
    items = parse(data, path)
    one_d = sorted({k.split("/")[2] for k in items if k.startswith("/1D_Data/") and k.endswith("/Array")})
    two_d = sorted({k.split("/")[2] for k in items if k.startswith("/2D_Data/") and k.endswith("/Matrix")})
    listed_1d = [c for c in items.get("/MetaData/1D_Channels/Height", []) if c in one_d]
    listed_2d = [c for c in items.get("/MetaData/2D_Channels/Height", []) if c in two_d]
    primary = items.get("/MetaData/PrimaryData2D")
    order_2d = ([primary] if primary in two_d else []) + [c for c in listed_2d + two_d if c != primary]
    names = list(dict.fromkeys(listed_1d + one_d + order_2d))
    if not names:
        raise UnsupportedFormatError(path, "holds no height data (no 1D_Data array or 2D_Data matrix)")
    kind = items.get("/MetaData/DataKind", "")
    if channel is None:
        channel = (order_2d[0] if order_2d and (kind == "Surface Height" or not one_d) else names[0])
    elif channel not in names:
        raise FormatError(path, f"no channel {channel!r}; the file holds {', '.join(names)}")
    metadata: dict[str, Any] = {
        "vendor": "Bruker",
        "channel": channel,
        "channels": names,
        "data_kind": kind,
    }
    for key in ("InstrumentName", "InstrumentType", "MeasMode", "ScanType", "StylusType"):
        value = items.get(f"/MetaData/MeasurementSettings/{key}")
        if isinstance(value, str):
            metadata[key[0].lower() + "".join("_" + c.lower() if c.isupper() else c for c in key[1:])] = value
    if "instrument_name" in metadata:
        metadata["instrument"] = metadata.pop("instrument_name")
    stamp = _timestamp(items.get("/MetaData/TimeStamp"))
    if stamp:
        metadata["date"] = stamp
    if isinstance(items.get("/MetaData/Date"), str):
        metadata["local_date_text"] = f"{items['/MetaData/Date']} {items.get('/MetaData/Time', '')}".strip()

    if channel in one_d and not (channel in two_d and kind == "Surface Height"):
        prefix = f"/1D_Data/{channel}"
        count = items.get(f"{prefix}/NumPoints")
        if not isinstance(count, (int, np.integer)) or count < 1:
            raise FormatError(path, f"{prefix}/NumPoints is {count!r}: corrupt")
        count = int(count)
        check_grid(path, (count,), 8, None, what=f"{prefix}/Array")
        values = _doubles(data, items[f"{prefix}/Array"], count, path, f"{prefix}/Array")
        scale = _length(items.get(f"{prefix}/DataScale"), path, f"{prefix}/DataScale")
        extent = _length(items.get(f"{prefix}/Extent"), path, f"{prefix}/Extent")
        dx = extent / (count - 1) if count > 1 else extent
        if not dx > 0:
            raise FormatError(path, f"{prefix}/Extent gives a spacing of {dx!r} m: corrupt")
        heights = values * scale
        heights[~np.isfinite(heights)] = np.nan
        q = items[f"{prefix}/DataScale"]
        metadata["original_units"] = {"x": items[f"{prefix}/Extent"].symbol, "z": q.symbol}
        return Profile(heights, dx, {}, metadata)

    prefix = f"/2D_Data/{channel}"
    blob = items[f"{prefix}/Matrix"]
    yres, xres = blob[3]
    ny = items.get(f"{prefix}/Dimension1Points", yres)
    nx = items.get(f"{prefix}/Dimension2Points", xres)
    if not all(isinstance(v, (int, np.integer)) for v in (ny, nx)) or (int(ny), int(nx)) != (yres, xres):
        raise FormatError(path, f"{prefix}: matrix is {yres}x{xres} but the metadata say {ny}x{nx}")
    check_grid(path, (yres, xres), 4, blob[1], what=f"{prefix}/Matrix")
    values = np.frombuffer(data, "<f4", count=yres * xres, offset=blob[0]).reshape(yres, xres).astype(np.float64)
    scale = _length(items.get(f"{prefix}/DataScale"), path, f"{prefix}/DataScale")
    ext_y = _length(items.get(f"{prefix}/Dimension1Extent"), path, f"{prefix}/Dimension1Extent")
    ext_x = _length(items.get(f"{prefix}/Dimension2Extent"), path, f"{prefix}/Dimension2Extent")
    dy = ext_y / (yres - 1) if yres > 1 else ext_y
    dx = ext_x / (xres - 1) if xres > 1 else ext_x
    if not (dx > 0 and dy > 0):
        raise FormatError(path, f"{prefix}: extents give spacings {dy!r}, {dx!r} m: corrupt")
    heights = values * scale
    heights[~np.isfinite(heights)] = np.nan
    metadata["original_units"] = {"x": items[f"{prefix}/Dimension2Extent"].symbol,
                                  "y": items[f"{prefix}/Dimension1Extent"].symbol,
                                  "z": items[f"{prefix}/DataScale"].symbol}
    metadata["orientation_verified"] = False
    return Surface(heights, (dy, dx), {}, metadata)


def channels(path: Path) -> list[str]:
    path = Path(path)
    items = parse(read_all(path), path)
    one_d = [k.split("/")[2] for k in items if k.startswith("/1D_Data/") and k.endswith("/Array")]
    two_d = [k.split("/")[2] for k in items if k.startswith("/2D_Data/") and k.endswith("/Matrix")]
    return list(dict.fromkeys(one_d + two_d))


FORMATS = [
    FileFormat(
        name="opdx",
        description="Bruker Dektak / Vision64 (.opdx)",
        suffixes=(".opdx",),
        read=read,
        magic=(MAGIC,),
        sniff=_sniff,
        channels=channels,
    )
]
