"""Surface Data File (``.sdf``): the BCR format of Stout et al. (*The development of methods for
the characterisation of roughness in three dimensions*, EUR 15178 EN, 1993) as taken up by
ISO 25178-71 ("type 2" files, version strings ``aISO-1.0`` / ``bISO-1.0``).

The first eight bytes give the variant: a leading ``a`` means ASCII, a leading ``b`` binary
(``aBCR-1.0`` / ``aISO-1.0`` are text, ``bBCR-1.0`` / ``bISO-1.0`` binary).

ASCII variant::

    aISO-1.0
    ManufacID = ...       CreateDate = DDMMYYYYHHMM     ModDate = DDMMYYYYHHMM
    NumPoints = nx        NumProfiles = ny              (one ``key = value`` per line)
    Xscale = dx [m]       Yscale = dy [m]               Zscale = metres per stored unit
    Zresolution = ...     Compression = 0               DataType = 0..7     CheckType = 0
    *
    ny profiles of nx values (whitespace separated; ``BAD`` = not measured)
    *
    optional free-text trailer
    *

Binary variant (little-endian): ``char version[8], ManufacID[10], CreateDate[12],
ModDate[12]; uint16 NumPoints, NumProfiles; float64 Xscale, Yscale, Zscale, Zresolution;
int8 Compression, DataType, CheckType`` (81 bytes), then ``NumPoints * NumProfiles`` values
profile after profile, then an optional ``*``-delimited text trailer.

``DataType``: 0 uint8, 1 uint16, 2 uint32, 3 float32, 4 int8, 5 int16, 6 int32, 7 float64.
Invalid points: NaN (floating types, ``BAD`` in text) and, for the 16- and 32-bit integer types,
the reserved extreme value (65535, 2^32-1, -32768, -2^31), as Gwyddion's ``sdfile.c`` and
SurfaceTopography's ``SDF.py`` read them. A file of one profile is returned as a
:class:`~surfsight.surface.Profile`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Profile, Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

VERSION = re.compile(rb"^[ab](BCR|ISO)-\d\.\d$")
BINARY_HEADER = struct.Struct("<8s10s12s12sHHddddbbb")
DTYPES = {0: "u1", 1: "<u2", 2: "<u4", 3: "<f4", 4: "i1", 5: "<i2", 6: "<i4", 7: "<f8"}
INVALID_MARKERS = {1: 2**16 - 1, 2: 2**32 - 1, 5: -(2**15), 6: -(2**31)}
REQUIRED = ("NumPoints", "NumProfiles", "Xscale", "Yscale", "Zscale", "DataType")
#: More header lines than this is not a real file.
MAX_HEADER_LINES = 500
#: Largest grid side the binary header (uint16) can hold; the writer refuses larger.
MAX_SIDE = 2**16 - 1


# ------------------------------------------------------------------------------ reading

def read_sdf(path: Path, channel: str | None = None, spacing=None) -> Surface | Profile:
    """Read an ASCII or binary SDF file; heights and spacing in metres."""
    path = Path(path)
    data = read_all(path)
    version = data[:8]
    if not VERSION.match(version):
        raise FormatError(path, f"not a Surface Data File (version string {version[:8]!r}, "
                                "expected e.g. 'aISO-1.0' or 'bBCR-1.0')")
    if channel not in (None, "height"):
        raise FormatError(path, f"no channel {channel!r}; SDF files have one height channel ('height')")
    if version[:1] == b"a":
        header, values, trailer = _read_ascii(data, path)
    else:
        header, values, trailer = _read_binary(data, path)
    return _build(header, values, trailer, version.decode("ascii"), path)


def _read_ascii(data: bytes, path: Path) -> tuple[dict[str, Any], np.ndarray, str]:
    text = data.decode("latin-1")
    lines = text.split("\n", MAX_HEADER_LINES + 1)
    header: dict[str, Any] = {}
    position = len(lines[0]) + 1
    for number, raw in enumerate(lines[1:MAX_HEADER_LINES + 1], start=2):
        line = raw.strip()
        position += len(raw) + 1
        if line == "*":
            break
        if not line or line.startswith(";"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, _, value = line.partition(" ")
        key, value = key.strip(), value.strip()
        if not key or not key.replace("_", "").isalnum():
            raise FormatError(path, f"header line {number} is not 'key = value': {line[:60]!r}")
        header[key] = value
    else:
        if len(lines) <= MAX_HEADER_LINES + 1:
            raise FormatError(path, "truncated or corrupt: header has no closing '*' line")
        raise FormatError(path, f"header longer than {MAX_HEADER_LINES} lines: corrupt")
    _convert_header(header, path)
    rows, cols = header["NumProfiles"], header["NumPoints"]
    end = text.find("*", position)
    if end < 0:
        raise FormatError(path, "truncated: the data section has no closing '*'")
    body = text[position:end]
    # Each value needs at least two characters (a digit and a separator): refuse absurd claims first.
    check_grid(path, (rows, cols), 2, len(body) + 1, what="data")
    tokens = body.split()
    if len(tokens) != rows * cols:
        raise FormatError(path, f"data section holds {len(tokens)} values, the header claims "
                                f"{rows} profiles of {cols} points ({rows * cols}): truncated or corrupt")
    try:
        values = np.fromiter((math.nan if t.upper() == "BAD" else float(t) for t in tokens),
                             dtype=np.float64, count=rows * cols)
    except ValueError as exc:
        raise FormatError(path, f"data section holds a value that is not a number ({exc})") from None
    trailer = _trailer(text[end + 1:], path)
    return header, values.reshape(rows, cols), trailer


def _trailer(rest: str, path: Path) -> str:
    """The optional text after the data's closing ``*``; a started trailer must be closed."""
    body = rest.strip()
    if not body:
        return ""
    if not body.endswith("*"):
        raise FormatError(path, "truncated: the trailer section after the data has no closing '*'")
    return body[:-1].strip()


def _convert_header(header: dict[str, Any], path: Path) -> None:
    missing = [k for k in REQUIRED if k not in header]
    if missing:
        raise FormatError(path, f"header lacks {', '.join(missing)}")
    try:
        for key in ("NumPoints", "NumProfiles", "DataType", "Compression", "CheckType"):
            if key in header:
                header[key] = int(header[key])
        for key in ("Xscale", "Yscale", "Zscale", "Zresolution"):
            if key in header:
                header[key] = float(header[key])
    except ValueError as exc:
        raise FormatError(path, f"header value is not a number ({exc})") from None
    _check_header(header, path)


def _check_header(header: dict[str, Any], path: Path) -> None:
    if header["NumPoints"] <= 0 or header["NumProfiles"] <= 0:
        raise FormatError(path, f"header claims {header['NumProfiles']} profiles of {header['NumPoints']} points")
    for key in ("Xscale", "Yscale"):
        value = header[key]
        if not (math.isfinite(value) and value > 0):
            raise FormatError(path, f"{key} = {value!r} is not a positive spacing in metres")
    if not (math.isfinite(header["Zscale"]) and header["Zscale"] != 0):
        raise FormatError(path, f"Zscale = {header['Zscale']!r} is not usable")
    if header["DataType"] not in DTYPES:
        raise FormatError(path, f"DataType {header['DataType']} is not defined (0..7)")
    if header.get("Compression", 0) != 0:
        raise FormatError(path, f"compressed SDF data (Compression = {header['Compression']}) is not supported")
    if header.get("CheckType", 0) != 0:
        raise FormatError(path, f"SDF checksums (CheckType = {header['CheckType']}) are not supported")


def _read_binary(data: bytes, path: Path) -> tuple[dict[str, Any], np.ndarray, str]:
    c = Cursor(data, path, "<")
    fields = BINARY_HEADER.unpack(c.take(BINARY_HEADER.size, "binary header"))
    keys = ("version", "ManufacID", "CreateDate", "ModDate", "NumPoints", "NumProfiles", "Xscale", "Yscale",
            "Zscale", "Zresolution", "Compression", "DataType", "CheckType")
    header: dict[str, Any] = dict(zip(keys, fields))
    for key in ("ManufacID", "CreateDate", "ModDate"):
        header[key] = header[key].split(b"\0", 1)[0].decode("latin-1", "replace").strip()
    _check_header(header, path)
    rows, cols = header["NumProfiles"], header["NumPoints"]
    values = c.array(DTYPES[header["DataType"]], (rows, cols), "data").astype(np.float64)
    rest = data[c.offset:]
    trailer = ""
    if rest.strip(b"\r\n\t \0"):
        if not rest.lstrip(b"\r\n\t ").startswith(b"*"):
            raise FormatError(path, f"{len(rest)} bytes after the data do not start a '*' trailer: corrupt "
                                    "(or the header's grid size is wrong)")
        trailer = _trailer(rest.lstrip(b"\r\n\t ")[1:].decode("latin-1", "replace"), path)
    return header, values, trailer


def _build(header: dict[str, Any], values: np.ndarray, trailer: str, version: str,
           path: Path) -> Surface | Profile:
    dtype = header["DataType"]
    invalid = ~np.isfinite(values)
    if dtype in INVALID_MARKERS:
        invalid |= values == INVALID_MARKERS[dtype]
    heights = values * header["Zscale"]
    heights[invalid] = np.nan
    meta: dict[str, Any] = {
        "original_units": f"DataType {dtype} values of {header['Zscale']:g} m",
        "channel": "height",
        "channels": ["height"],
        "sdf_version": version,
    }
    if header.get("ManufacID"):
        meta["instrument"] = header["ManufacID"]
    date = _parse_date(header.get("CreateDate", ""))
    if date:
        meta["date"] = date
    if header.get("Zresolution") not in (None, 0.0):
        meta["z_resolution_m"] = header["Zresolution"]
    if trailer:
        meta["trailer"] = trailer
    if values.shape[0] == 1:
        return Profile(heights[0], header["Xscale"], {}, meta)
    return Surface(heights, (header["Yscale"], header["Xscale"]), {}, meta)


def _parse_date(text: str) -> str | None:
    """``DDMMYYYYHHMM`` as ISO 8601, the text itself when it does not parse, None when empty."""
    text = str(text).strip()
    if not text:
        return None
    try:
        return _dt.datetime.strptime(text, "%d%m%Y%H%M").isoformat()
    except ValueError:
        return text


# ------------------------------------------------------------------------------ writing

def write_sdf(obj: Surface | Profile, path: Path, *, ascii: bool = False) -> None:
    """Write a surface or profile as an SDF file (binary ``bISO-1.0`` by default).

    Heights are stored as float64 metres (``DataType = 7``, ``Zscale = 1``); NaN marks invalid
    points (``BAD`` in the ASCII variant). ``NumPoints`` and ``NumProfiles`` are 16-bit in the
    binary header, so at most 65535 points per side.
    """
    path = Path(path)
    if isinstance(obj, Surface):
        heights = obj.heights
        dy, dx = obj.spacing
    elif isinstance(obj, Profile):
        heights = obj.heights[None, :]
        dy = dx = obj.dx
    else:
        raise FormatError(path, f"SDF holds a surface or a profile, not {type(obj).__name__}")
    rows, cols = heights.shape
    if rows > MAX_SIDE or cols > MAX_SIDE:
        raise FormatError(path, f"SDF holds at most {MAX_SIDE} points per side; this grid is {rows}x{cols}")
    date = _format_date(obj.metadata.get("date"))
    if ascii:
        lines = ["aISO-1.0", "ManufacID = surfsight", f"CreateDate = {date}", f"ModDate = {date}",
                 f"NumPoints = {cols}", f"NumProfiles = {rows}", f"Xscale = {dx!r}", f"Yscale = {dy!r}",
                 "Zscale = 1.0", "Zresolution = 0.0", "Compression = 0", "DataType = 7", "CheckType = 0", "*"]
        for row in heights:
            lines.append(" ".join("BAD" if math.isnan(v) else repr(float(v)) for v in row))
        lines.append("*")
        path.write_bytes(("\n".join(lines) + "\n").encode("ascii"))
        return
    header = BINARY_HEADER.pack(b"bISO-1.0", b"surfsight", date.encode("ascii"), date.encode("ascii"),
                                cols, rows, float(dx), float(dy), 1.0, 0.0, 0, 7, 0)
    with open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(heights, dtype="<f8").tobytes())


def _format_date(value: Any) -> str:
    when = None
    if isinstance(value, str):
        try:
            when = _dt.datetime.fromisoformat(value)
        except ValueError:
            when = None
    if when is None:
        when = _dt.datetime.now(_dt.timezone.utc)
    return when.strftime("%d%m%Y%H%M")


def _sniff(head: bytes, path: Path | None) -> bool:
    try:
        return bool(VERSION.match(head[:8]))
    except Exception:  # pragma: no cover - sniffers must not raise
        return False


FORMATS = [
    FileFormat(
        name="sdf",
        description="Surface Data File, BCR / ISO 25178-71 (.sdf)",
        suffixes=(".sdf",),
        read=read_sdf,
        write=write_sdf,
        magic=(b"aBCR", b"bBCR", b"aISO", b"bISO"),
        sniff=_sniff,
    ),
]
