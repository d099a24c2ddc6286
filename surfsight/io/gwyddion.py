"""Gwyddion files: the native ``.gwy`` format (read, every image channel) and the Gwyddion
Simple Field ``.gsf`` format (read and write).

References
----------
* Gwyddion user guide, "Format of Gwyddion Files" (``gwyfile-format.html``): magic ``GWYP``, then one
  serialized object; an object is a NUL-terminated type name, an unsigned 32-bit little-endian
  byte size of its components, then the components; a component is a NUL-terminated name, one
  type character and the value. Atomic types ``b`` (bool, 1 byte), ``c`` (char), ``i`` (int32),
  ``q`` (int64), ``d`` (float64), ``s`` (NUL-terminated string), ``o`` (object); their arrays are
  the upper-case letters ``C I Q D S O``, stored as an unsigned 32-bit item count then the items.
  (There is no boolean array in the specification; ``B`` is accepted here as an array of bytes.)
* Same guide, "GwyDataField": ``xres``, ``yres`` (int), ``xreal``, ``yreal``, ``xoff``, ``yoff``
  (float64), ``si_unit_xy``, ``si_unit_z`` (GwySIUnit objects with ``unitstr``), ``data`` (``D``
  array of ``xres*yres`` values, row by row from the top-left corner). A container stores image
  channel ``N`` as ``/N/data``, its title as ``/N/data/title`` and an optional mask as ``/N/mask``.
* Gwyddion user guide, "Simple Field Files" (``gsf.html``): the line ``Gwyddion Simple Field 1.0``,
  ``name = value`` header lines (``XRes``, ``YRes`` mandatory; ``XReal``, ``YReal``, ``XOffset``,
  ``YOffset``, ``Title``, ``XYUnits``, ``ZUnits`` optional), one to four NUL bytes that make the
  data start at a multiple of 4, then ``XRes*YRes`` little-endian float32 values.

Conventions of this reader
--------------------------
* Heights come out in metres: a ``z`` unit that is a length (``m``, ``nm``, ``um``...) is converted;
  any other ``z`` unit (``V``, ``deg``, ``N``...) leaves the values as stored and is reported in
  ``metadata["z_unit"]`` (such channels are signals, not heights).
* ``channel=None`` picks the height channel among the channels whose ``z`` unit is a length: the
  first (in ``/N`` order) whose title contains "height", "topography" or "zsensor"/"z sensor",
  else the first of them; a file with no length channel is refused rather than returning, say,
  volts as heights. ``channel`` may be a title (exact, then case-insensitive) or a channel number
  (``"3"`` or ``"/3/data"``); any channel can be read that way.
* A Gwyddion mask marks pixels for any purpose (grains, selections, invalid data); it is returned
  as the boolean layer ``"mask"`` and never turns heights into NaN.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError
from ..surface import Surface
from .formats import FileFormat
from .safety import check_grid, read_all

GWY_MAGIC = b"GWYP"
GSF_MAGIC = b"Gwyddion Simple Field 1.0\n"

#: Deepest object nesting accepted; real files nest about 4 deep.
MAX_DEPTH = 64
#: Most components and string/object array items accepted in one file (real files hold thousands);
#: bounds the memory a file of many tiny components could make the parser use.
MAX_ITEMS = 1 << 22
#: Longest GSF text header accepted, bytes.
MAX_GSF_HEADER = 1 << 20

_ITEM_SIZES = {"C": 1, "B": 1, "I": 4, "Q": 8, "D": 8}
_HEIGHT_WORDS = ("height", "topography", "zsensor", "z sensor", "z-sensor")


# ----------------------------------------------------------------------------------------------
# Generic GWY serialization
# ----------------------------------------------------------------------------------------------
class GwyObject(dict):
    """One deserialized Gwyddion object: a ``dict`` of its components plus its type name."""

    def __init__(self, type_name: str):
        super().__init__()
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"GwyObject({self.type_name!r}, {list(self)})"


class _Parser:
    """Recursive-descent reader of the GWY object tree over one immutable buffer.

    Every length is checked against the end of the enclosing object before anything is read or
    allocated, so a hostile file fails with a :class:`FormatError` in bounded time and memory.
    Arrays of numbers are returned as read-only NumPy views on the buffer (no copy).
    """

    def __init__(self, data: bytes, source: Any):
        self.data = data
        self.view = memoryview(data)
        self.source = source
        self.items = 0

    def count(self, pos: int, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise self.fail(pos, f"more than {MAX_ITEMS} components and array items (corrupt or hostile)")

    def fail(self, pos: int, problem: str) -> FormatError:
        return FormatError(self.source, f"GWY structure broken at byte {pos}: {problem}")

    def cstring(self, pos: int, end: int, what: str) -> tuple[str, int]:
        stop = self.data.find(b"\0", pos, end)
        if stop < 0:
            raise self.fail(pos, f"{what} has no terminating NUL before byte {end} (truncated or corrupt)")
        return self.data[pos:stop].decode("utf-8", "replace"), stop + 1

    def uint32(self, pos: int, end: int, what: str) -> tuple[int, int]:
        if pos + 4 > end:
            raise self.fail(pos, f"truncated while reading {what}")
        return struct.unpack_from("<I", self.data, pos)[0], pos + 4

    def obj(self, pos: int, end: int, depth: int) -> tuple[GwyObject, int]:
        if depth > MAX_DEPTH:
            raise self.fail(pos, f"objects nested more than {MAX_DEPTH} deep (corrupt or hostile)")
        type_name, pos = self.cstring(pos, end, "object type name")
        if not type_name:
            raise self.fail(pos, "object with an empty type name")
        size, pos = self.uint32(pos, end, f"size of {type_name}")
        if size > end - pos:
            raise self.fail(pos, f"{type_name} claims {size} bytes but only {end - pos} remain "
                                 "(truncated or corrupt)")
        stop = pos + size
        result = GwyObject(type_name)
        while pos < stop:
            self.count(pos, 1)
            name, pos = self.cstring(pos, stop, f"component name in {type_name}")
            if pos >= stop:
                raise self.fail(pos, f"component {name!r} of {type_name} has no type")
            kind = chr(self.data[pos])
            pos += 1
            result[name], pos = self.value(kind, pos, stop, depth, f"{type_name}.{name}")
        return result, stop

    def value(self, kind: str, pos: int, end: int, depth: int, what: str) -> tuple[Any, int]:
        data = self.data
        if kind in "bc":
            if pos + 1 > end:
                raise self.fail(pos, f"truncated in {what}")
            raw = data[pos]
            return (bool(raw) if kind == "b" else chr(raw)), pos + 1
        if kind in "iqd":
            fmt = {"i": "<i", "q": "<q", "d": "<d"}[kind]
            size = struct.calcsize(fmt)
            if pos + size > end:
                raise self.fail(pos, f"truncated in {what}")
            return struct.unpack_from(fmt, data, pos)[0], pos + size
        if kind == "s":
            return self.cstring(pos, end, what)
        if kind == "o":
            return self.obj(pos, end, depth + 1)
        if kind in "CBIQD":
            count, pos = self.uint32(pos, end, f"item count of {what}")
            itemsize = _ITEM_SIZES[kind]
            if count > (end - pos) // itemsize:
                raise self.fail(pos, f"{what} claims {count} items of {itemsize} bytes but only "
                                     f"{end - pos} bytes remain (truncated, corrupt or hostile)")
            nbytes = count * itemsize
            if kind in "CB":
                return bytes(self.view[pos:pos + nbytes]), pos + nbytes
            dtype = {"I": "<i4", "Q": "<i8", "D": "<f8"}[kind]
            return np.frombuffer(data, dtype=dtype, count=count, offset=pos), pos + nbytes
        if kind in "SO":
            count, pos = self.uint32(pos, end, f"item count of {what}")
            if count > end - pos:
                raise self.fail(pos, f"{what} claims {count} items but only {end - pos} bytes remain")
            self.count(pos, count)
            items = []
            for _ in range(count):
                if kind == "S":
                    item, pos = self.cstring(pos, end, what)
                else:
                    item, pos = self.obj(pos, end, depth + 1)
                items.append(item)
            return items, pos
        raise self.fail(pos - 1, f"unknown component type {kind!r} in {what}")


def parse_gwy(data: bytes, source: Any = None) -> GwyObject:
    """Deserialize a whole ``.gwy`` file (``GWYP`` magic then one object).

    Parameters
    ----------
    data
        The file contents.
    source
        File name for error messages.

    Returns
    -------
    GwyObject
        The top-level object (normally a ``GwyContainer``).
    """
    if data[:4] != GWY_MAGIC:
        if data[:4] == b"GWYO":
            raise FormatError(source, "old Gwyddion 1.x file (magic GWYO) is not supported; "
                                      "re-save it with Gwyddion 2")
        raise FormatError(source, f"not a Gwyddion file (starts with {data[:4]!r}, expected b'GWYP')")
    parser = _Parser(data, source)
    root, end = parser.obj(4, len(data), 0)
    if end != len(data):
        raise FormatError(source, f"{len(data) - end} unexpected bytes after the GWY object tree")
    return root


# ----------------------------------------------------------------------------------------------
# Data fields and channels
# ----------------------------------------------------------------------------------------------
_SI_PREFIX = {"": 1.0, "k": 1e3, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "\u00b5": 1e-6, "\u03bc": 1e-6,
              "n": 1e-9, "p": 1e-12, "f": 1e-15}


def _length_scale(unit: str) -> float | None:
    """Metres per unit for an SI length unit string (``m`` with an optional prefix, or ``Å``),
    ``None`` for anything else. Gwyddion unit strings are SI, so ``A`` is the ampere, not the
    angstrom."""
    unit = unit.strip()
    if unit in ("\u00c5", "\u212b"):
        return 1e-10
    if unit.endswith("m") and unit[:-1] in _SI_PREFIX:
        return _SI_PREFIX[unit[:-1]]
    return None


def _unit_string(field: GwyObject, key: str) -> str:
    unit = field.get(key)
    if isinstance(unit, GwyObject):
        text = unit.get("unitstr", "")
        return text if isinstance(text, str) else ""
    return ""


def _channels(root: GwyObject, source: Any) -> dict[int, str]:
    """``{channel number: title}`` of every GwyDataField image channel, in number order."""
    if root.type_name != "GwyContainer":
        raise FormatError(source, f"top-level object is {root.type_name}, not a GwyContainer")
    found: dict[int, str] = {}
    for key, value in root.items():
        match = re.fullmatch(r"/(\d+)/data", key)
        if match and isinstance(value, GwyObject) and value.type_name == "GwyDataField":
            number = int(match.group(1))
            title = root.get(f"/{number}/data/title")
            found[number] = title if isinstance(title, str) and title else f"Channel {number}"
    return dict(sorted(found.items()))


def _pick_channel(channels: dict[int, str], root: GwyObject, channel: str | None, source: Any) -> int:
    if not channels:
        raise FormatError(source, "the file holds no image channel (no /N/data GwyDataField)")
    if channel is None:
        lengths = [n for n in channels if _length_scale(_unit_string(root[f"/{n}/data"], "si_unit_z")) is not None]
        for number in lengths:
            if any(word in channels[number].lower() for word in _HEIGHT_WORDS):
                return number
        if lengths:
            return lengths[0]
        raise FormatError(source, "no channel has a length as its z unit, so none holds heights; channels are: "
                                  f"{', '.join(channels.values())}; read one explicitly with channel=")
    for number, title in channels.items():
        if title == channel:
            return number
    for number, title in channels.items():
        if title.lower() == str(channel).lower():
            return number
    match = re.fullmatch(r"/?(\d+)(?:/data)?", str(channel).strip())
    if match and int(match.group(1)) in channels:
        return int(match.group(1))
    raise FormatError(source, f"no channel {channel!r}; channels are: {', '.join(channels.values())}")


def _field_array(field: GwyObject, source: Any, what: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Check a GwyDataField and return its data as a ``(yres, xres)`` array plus its geometry."""
    xres, yres = field.get("xres"), field.get("yres")
    if not isinstance(xres, int) or not isinstance(yres, int):
        raise FormatError(source, f"{what}: missing or non-integer xres/yres")
    data = field.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.dtype("<f8"):
        raise FormatError(source, f"{what}: missing 'data' array of doubles")
    check_grid(source, (yres, xres), 8, None, what=what)
    if data.size != xres * yres:
        raise FormatError(source, f"{what}: data array holds {data.size} values but xres*yres = "
                                  f"{xres}*{yres} = {xres * yres}")
    geometry = {}
    for key, default in (("xreal", None), ("yreal", None), ("xoff", 0.0), ("yoff", 0.0)):
        value = field.get(key, default)
        if value is None or not isinstance(value, float) or not math.isfinite(value):
            raise FormatError(source, f"{what}: {key} is missing or not a finite number ({value!r})")
        geometry[key] = value
    if geometry["xreal"] <= 0 or geometry["yreal"] <= 0:
        raise FormatError(source, f"{what}: physical size {geometry['xreal']} x {geometry['yreal']} is not positive")
    return data.reshape(yres, xres), geometry


def gwy_channels(path: Path) -> list[str]:
    """Titles of the image channels of a ``.gwy`` file, in channel-number order."""
    root = parse_gwy(read_all(path), path)
    return list(_channels(root, path).values())


def read_gwy(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read one image channel of a Gwyddion ``.gwy`` file.

    Parameters
    ----------
    path
        The file.
    channel
        Channel title or number; ``None`` picks the height channel (see the module notes).
    spacing
        Ignored unless the file's lateral unit is not a length; then ``(dy, dx)`` in metres.

    Returns
    -------
    Surface
        Heights in metres (for a length ``z`` unit), ``spacing = (yreal/yres, xreal/xres)``,
        layer ``"mask"`` when the channel has a mask; metadata ``channel``, ``channels``,
        ``original_units``, ``z_unit``, ``offset`` (``(yoff, xoff)`` in metres) and ``title``.
    """
    path = Path(path)
    root = parse_gwy(read_all(path), path)
    channels = _channels(root, path)
    number = _pick_channel(channels, root, channel, path)
    field = root[f"/{number}/data"]
    values, geometry = _field_array(field, path, f"channel {channels[number]!r}")
    xy_unit, z_unit = _unit_string(field, "si_unit_xy"), _unit_string(field, "si_unit_z")
    xy_scale, z_scale = _length_scale(xy_unit), _length_scale(z_unit)
    yres, xres = values.shape
    if xy_scale is not None:
        step = (geometry["yreal"] * xy_scale / yres, geometry["xreal"] * xy_scale / xres)
    elif spacing is not None:
        step = _spacing_argument(path, spacing)
        xy_scale = 1.0
    else:
        raise FormatError(path, f"channel {channels[number]!r}: lateral unit {xy_unit!r} is not a length; "
                                "give spacing=(dy, dx) in metres")
    heights = np.array(values, dtype=np.float64)
    if z_scale is not None and z_scale != 1.0:
        heights *= z_scale
    heights[~np.isfinite(heights)] = np.nan
    layers: dict[str, np.ndarray] = {}
    mask = root.get(f"/{number}/mask")
    if isinstance(mask, GwyObject) and mask.type_name == "GwyDataField":
        mask_values, _ = _field_array(mask, path, f"mask of channel {channels[number]!r}")
        if mask_values.shape == values.shape:
            layers["mask"] = mask_values > 0.5
    metadata: dict[str, Any] = {
        "channel": channels[number],
        "channels": list(channels.values()),
        "channel_number": number,
        "title": channels[number],
        "original_units": {"xy": xy_unit, "z": z_unit},
        "z_unit": "m" if z_scale is not None else z_unit,
        "offset": (geometry["yoff"] * (xy_scale or 1.0), geometry["xoff"] * (xy_scale or 1.0)),
    }
    return Surface(heights, step, layers, metadata)


# ----------------------------------------------------------------------------------------------
# Gwyddion Simple Field
# ----------------------------------------------------------------------------------------------
_GSF_STANDARD = ("XRes", "YRes", "XReal", "YReal", "XOffset", "YOffset", "Title", "XYUnits", "ZUnits")
#: Metadata keys never written as extra GSF fields (set by the reader or meaningless in a file).
_GSF_SKIP_META = {"format", "source_file", "channels", "original_units", "channel", "title", "offset",
                  "z_unit", "channel_number"}


def _gsf_header(data: bytes, source: Any) -> tuple[dict[str, str], int]:
    if not data.startswith(GSF_MAGIC):
        raise FormatError(source, "not a Gwyddion Simple Field file (first line is not "
                                  "'Gwyddion Simple Field 1.0')")
    nul = data.find(b"\0", 0, MAX_GSF_HEADER)
    if nul < 0:
        raise FormatError(source, "GSF header has no NUL terminator within the first "
                                  f"{MAX_GSF_HEADER} bytes (truncated or not GSF)")
    start = (nul // 4 + 1) * 4
    if len(data) < start or data[nul:start].strip(b"\0"):
        raise FormatError(source, f"GSF header padding after byte {nul} is not NUL bytes up to byte {start}")
    fields: dict[str, str] = {}
    text = data[len(GSF_MAGIC):nul].decode("utf-8", "replace")
    for number, line in enumerate(text.split("\n"), start=2):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise FormatError(source, f"GSF header line {number} is not 'name = value': {line[:80]!r}")
        fields[name.strip()] = value.strip()
    return fields, start


def _gsf_number(fields: dict[str, str], name: str, default: float | None, source: Any) -> float:
    if name not in fields:
        if default is None:
            raise FormatError(source, f"GSF header lacks the mandatory field {name}")
        return default
    try:
        value = float(fields[name])
    except ValueError:
        raise FormatError(source, f"GSF field {name} = {fields[name]!r} is not a number") from None
    if not math.isfinite(value):
        raise FormatError(source, f"GSF field {name} = {fields[name]!r} is not finite")
    return value


def _gsf_int(fields: dict[str, str], name: str, source: Any) -> int:
    if name not in fields:
        raise FormatError(source, f"GSF header lacks the mandatory field {name}")
    text = fields[name]
    if not re.fullmatch(r"\+?\d{1,12}", text):
        raise FormatError(source, f"GSF field {name} = {text!r} is not a positive whole number")
    return int(text)


def _plain_value(text: str) -> Any:
    """An extra header value back as int or float when it reads as one, else the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def read_gsf(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Gwyddion Simple Field (``.gsf``) file.

    ``XYUnits``/``ZUnits`` that are lengths are converted to metres; a file without ``XYUnits``
    is taken to be in metres, as the specification asks writers to use base SI units (and
    ``original_units["xy"]`` is then ``None``). ``spacing`` overrides the lateral spacing only
    when ``XYUnits`` is present and is not a length. Non-finite values become NaN. Extra header
    fields are returned in ``metadata`` (numbers converted back to int/float).
    """
    path = Path(path)
    data = read_all(path)
    fields, start = _gsf_header(data, path)
    xres, yres = _gsf_int(fields, "XRes", path), _gsf_int(fields, "YRes", path)
    needed = check_grid(path, (yres, xres), 4, len(data) - start, what="GSF data")
    if len(data) - start != needed:
        raise FormatError(path, f"GSF data is {len(data) - start} bytes after the header, "
                                f"XRes*YRes*4 = {needed}: corrupt or extra bytes")
    xreal = _gsf_number(fields, "XReal", 1.0, path)
    yreal = _gsf_number(fields, "YReal", 1.0, path)
    if xreal <= 0 or yreal <= 0:
        raise FormatError(path, f"GSF physical size XReal={xreal}, YReal={yreal} is not positive")
    xy_unit = fields.get("XYUnits")
    z_unit = fields.get("ZUnits", "")
    xy_scale = 1.0 if xy_unit is None else _length_scale(xy_unit)
    z_scale = _length_scale(z_unit) if z_unit else 1.0
    if xy_scale is not None:
        step = (yreal * xy_scale / yres, xreal * xy_scale / xres)
    elif spacing is not None:
        step, xy_scale = _spacing_argument(path, spacing), 1.0
    else:
        raise FormatError(path, f"GSF lateral unit XYUnits = {xy_unit!r} is not a length; give spacing=(dy, dx)")
    heights = np.frombuffer(data, dtype="<f4", count=xres * yres, offset=start).astype(np.float64)
    heights = heights.reshape(yres, xres)
    if z_scale is not None and z_scale != 1.0:
        heights *= z_scale
    heights[~np.isfinite(heights)] = np.nan
    title = fields.get("Title", "")
    metadata: dict[str, Any] = {
        "channel": title or "height",
        "channels": [title or "height"],
        "original_units": {"xy": xy_unit, "z": z_unit or None},
        "z_unit": "m" if (z_scale is not None or not z_unit) else z_unit,
        "offset": (_gsf_number(fields, "YOffset", 0.0, path) * xy_scale,
                   _gsf_number(fields, "XOffset", 0.0, path) * xy_scale),
    }
    if title:
        metadata["title"] = title
    for name, value in fields.items():
        if name not in _GSF_STANDARD:
            metadata.setdefault(name, _plain_value(value))
    return Surface(heights, step, {}, metadata)


def _gsf_safe(text: str) -> str:
    return " ".join(str(text).replace("\0", " ").split())


def write_gsf(obj: Surface, path: Path) -> None:
    """Write a :class:`Surface` as a Gwyddion Simple Field file.

    Heights are stored as little-endian float32 in metres (``ZUnits = m``, ``XYUnits = m``), so a
    round trip reproduces each height to float32 precision (relative error at most 2**-24,
    about 6e-8; NaN stays NaN); spacing and offsets are stored in decimal with 17 significant
    digits and come back to within one rounding of ``XReal / XRes``. Layers are not stored (GSF
    holds one channel). Scalar metadata (str, int, float, bool) is written as extra header fields
    whose names are the keys reduced to identifier characters.
    """
    if not isinstance(obj, Surface):
        raise InputError(f"{path}: GSF stores an areal surface; got a {getattr(obj, 'kind', type(obj).__name__)}")
    yres, xres = obj.shape
    meta = obj.metadata
    lines = [GSF_MAGIC.decode().rstrip("\n"),
             f"XRes = {xres}", f"YRes = {yres}",
             f"XReal = {xres * obj.dx!r}", f"YReal = {yres * obj.dy!r}"]
    offset = meta.get("offset")
    if isinstance(offset, (tuple, list)) and len(offset) == 2:
        try:
            yoff, xoff = float(offset[0]), float(offset[1])
            if math.isfinite(xoff) and math.isfinite(yoff):
                lines += [f"XOffset = {xoff!r}", f"YOffset = {yoff!r}"]
        except (TypeError, ValueError):
            pass
    lines += ["XYUnits = m", "ZUnits = m"]
    title = meta.get("title") or meta.get("channel")
    if isinstance(title, str) and _gsf_safe(title):
        lines.append(f"Title = {_gsf_safe(title)}")
    used = set(_GSF_STANDARD)
    for key, value in meta.items():
        if key in _GSF_SKIP_META or not isinstance(value, (str, int, float, bool)):
            continue
        name = re.sub(r"\W", "_", str(key), flags=re.ASCII).strip("_")
        if not name or name[0].isdigit() or name in used:
            continue
        text = repr(value) if isinstance(value, float) else _gsf_safe(value)
        used.add(name)
        lines.append(f"{name} = {text}")
    header = ("\n".join(lines) + "\n").encode("utf-8")
    padding = 4 - len(header) % 4
    with open(path, "wb") as out:
        out.write(header + b"\0" * padding)
        out.write(np.ascontiguousarray(obj.heights, dtype="<f4").tobytes())


def _spacing_argument(source: Any, spacing) -> tuple[float, float]:
    """``spacing=`` as ``(dy, dx)`` in metres (a single number means dy = dx)."""
    values = (spacing, spacing) if np.ndim(spacing) == 0 else tuple(spacing)
    if len(values) != 2:
        raise FormatError(source, f"spacing must be a number or (dy, dx) in metres, got {spacing!r}")
    try:
        dy, dx = float(values[0]), float(values[1])
    except (TypeError, ValueError):
        raise FormatError(source, f"spacing must be numbers in metres, got {spacing!r}") from None
    if not (math.isfinite(dy) and math.isfinite(dx) and dy > 0 and dx > 0):
        raise FormatError(source, f"spacing must be positive finite lengths in metres, got {spacing!r}")
    return dy, dx


FORMATS = [
    FileFormat(
        name="gwy",
        description="Gwyddion native file (.gwy)",
        suffixes=(".gwy",),
        read=read_gwy,
        magic=(GWY_MAGIC,),
        channels=gwy_channels,
    ),
    FileFormat(
        name="gsf",
        description="Gwyddion Simple Field (.gsf)",
        suffixes=(".gsf",),
        read=read_gsf,
        write=write_gsf,
        magic=(GSF_MAGIC,),
    ),
]
