"""Keyence laser-confocal / 3-D microscope files: ``.vk4`` (VK-X series) and ``.zon`` (VK-X / VR
series, newer software). Read only.

No real Keyence file was available while writing this module: both readers follow the published
layouts below and are tested on files built from those layouts. Treat the first real file you
meet as a check of this module.

VK4 layout (little-endian; Gwyddion ``modules/file/keyence.c`` by D. Nečas, 2015-2021, which
follows Keyence's VK4 description; the same layout is used by surfalize and SurfaceTopography)
------------------------------------------------------------------------------------------------
* bytes 0-11: ``"VK4_"``, DLL version (4 bytes), file type (4 zero bytes for a normal file);
* bytes 12-83: offset table, 18 uint32: measurement conditions, colour peak, colour + light,
  light[3], height[3], four thumbnails, assembly, line measurement, line thickness, string data,
  reserved;
* measurement conditions: uint32 ``size`` (>= 304), then uint32 fields, among them year, month,
  day, hour, minute, second (indices 1-6), UTC offset in minutes (7, signed), optical zoom x10
  (18), lens magnification x10 (24), ``x_length_per_pixel``, ``y_length_per_pixel``,
  ``z_length_per_digit`` (indices 42-44, all in picometres);
* each light/height image: uint32 width, height, bit depth (8, 16 or 32), compression, byte size
  (= width*height*bit depth/8), palette minimum and maximum, a 768-byte palette, then the
  unsigned pixel values row by row;
* string data: two UTF-16LE strings (title, lens name), each preceded by its uint32 length in
  characters.

Heights are ``value * z_length_per_digit`` pm and the spacing is ``(y_length_per_pixel,
x_length_per_pixel)`` pm. (Gwyddion reports the field size as ``(n - 1) * pitch``; surfsight keeps
the pitch as the spacing, so ``size_m = n * pitch``.) The layout defines no invalid-point marker,
so no height becomes NaN.

ZON layout (reconstructed by others; see below)
-----------------------------------------------
A ``.zon`` file is an 8-byte header starting with ``"KPK"``, a BMP thumbnail (``"BM"`` at byte 8),
then a ZIP archive whose members are named by UUIDs. What three independent readers agree on
(SurfaceTopography ``IO/ZON.py``, after M. Malburg's reverse engineering; surfalize
``file/zon.py``, after Gwyddion ``zonfile.c``; KeyencePointCloudViewer):

* member ``686613b8-27b5-4a29-8ffc-438c2780873e`` is XML with ``XYCalibration/MeterPerPixel`` and
  ``ZCalibration/MeterPerUnit``;
* member ``4cdb0c75-5706-48cc-a9a1-adf395d609ae`` holds the heights: uint32 width, height,
  item size (4) and row stride in bytes, then signed int32 values row by row
  (``height = value * MeterPerUnit``);
* members may each be compressed with zstd (frames starting ``28 B5 2F FD``); XML may start
  with a UTF-8 byte-order mark.

What is NOT established, and therefore not done here: how invalid points are marked (surfalize
treats a one-byte-per-pixel member as an invalid mask, SurfaceTopography ignores it), the
colour/intensity members, and acquisition metadata. The spacing is the same in x and y because
the layout has one ``MeterPerPixel``.
"""

from __future__ import annotations

import io
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Surface
from .formats import FileFormat
from .safety import MAX_DECOMPRESSED, MAX_RATIO, SafeZip, check_grid, parse_xml, read_all

VK4_MAGIC = b"VK4_"
ZON_MAGIC = b"KPK"
PICOMETRE = 1e-12

_VK4_HEADER = 12
_VK4_OFFSETS = 18
_VK4_CONDITIONS_MIN = 304
_VK4_IMAGE_HEADER = 7 * 4 + 768
#: Offset-table slots of the light (intensity) and height images.
_LIGHT_SLOTS = (3, 4, 5)
_HEIGHT_SLOTS = (6, 7, 8)
_STRING_SLOT = 16

ZON_CALIBRATION = "686613b8-27b5-4a29-8ffc-438c2780873e"
ZON_HEIGHTS = "4cdb0c75-5706-48cc-a9a1-adf395d609ae"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# ----------------------------------------------------------------------------------------------
# VK4
# ----------------------------------------------------------------------------------------------
def _vk4_sniff(head: bytes, path: Path | None) -> bool:
    return len(head) >= _VK4_HEADER and head[:4] == VK4_MAGIC and head[8:12] == b"\0\0\0\0"


def _u32(data: bytes, offset: int, source: Any, what: str) -> int:
    if offset < 0 or offset + 4 > len(data):
        raise FormatError(source, f"VK4 truncated at byte {len(data)} while reading {what} at byte {offset}")
    return struct.unpack_from("<I", data, offset)[0]


def _vk4_structure(data: bytes, source: Any) -> dict[str, Any]:
    """Header, offset table, measurement conditions and the list of images of a VK4 file."""
    if not _vk4_sniff(data[:16], None):
        raise FormatError(source, "not a Keyence VK4 file (expected 'VK4_' and a zero file type)")
    if len(data) < _VK4_HEADER + 4 * _VK4_OFFSETS:
        raise FormatError(source, f"VK4 truncated: {len(data)} bytes, the offset table ends at byte 84")
    table = struct.unpack_from(f"<{_VK4_OFFSETS}I", data, _VK4_HEADER)
    conditions_at = table[0]
    size = _u32(data, conditions_at, source, "measurement conditions size")
    if size < _VK4_CONDITIONS_MIN:
        raise FormatError(source, f"VK4 measurement conditions claim {size} bytes, fewer than {_VK4_CONDITIONS_MIN}")
    if conditions_at + _VK4_CONDITIONS_MIN > len(data):
        raise FormatError(source, "VK4 truncated inside the measurement conditions")
    cond = struct.unpack_from(f"<{_VK4_CONDITIONS_MIN // 4}I", data, conditions_at)
    utc_minutes = struct.unpack_from("<i", data, conditions_at + 7 * 4)[0]
    images: list[tuple[str, int]] = []
    for kind, slots in (("height", _HEIGHT_SLOTS), ("intensity", _LIGHT_SLOTS)):
        for index, slot in enumerate(slots):
            if table[slot]:
                images.append((kind if index == 0 else f"{kind} {index}", table[slot]))
    return {"table": table, "cond": cond, "utc_minutes": utc_minutes, "images": images,
            "dll_version": ".".join(str(b) for b in reversed(data[4:8]))}


def _vk4_image(data: bytes, offset: int, source: Any, name: str) -> np.ndarray:
    if offset + _VK4_IMAGE_HEADER > len(data):
        raise FormatError(source, f"VK4 {name} image header at byte {offset} lies beyond the end "
                                  f"of the file ({len(data)} bytes): truncated")
    width, height, bits, _compression, byte_size = struct.unpack_from("<5I", data, offset)
    if bits not in (8, 16, 32):
        raise FormatError(source, f"VK4 {name} image has bit depth {bits}; expected 8, 16 or 32")
    start = offset + _VK4_IMAGE_HEADER
    needed = check_grid(source, (height, width), bits // 8, len(data) - start, what=f"VK4 {name} image")
    if byte_size != needed:
        raise FormatError(source, f"VK4 {name} image: byte size {byte_size} differs from "
                                  f"{width}x{height}x{bits // 8} = {needed}")
    dtype = {8: "<u1", 16: "<u2", 32: "<u4"}[bits]
    return np.frombuffer(data, dtype=dtype, count=width * height, offset=start).reshape(height, width)


def _vk4_strings(data: bytes, offset: int, source: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in ("title", "lens"):
        count = _u32(data, offset, source, f"length of the {key} string")
        offset += 4
        if count > (len(data) - offset) // 2:
            raise FormatError(source, f"VK4 {key} string claims {count} characters beyond the end of the file")
        text = data[offset:offset + 2 * count].decode("utf-16-le", "replace").rstrip("\0")
        offset += 2 * count
        if text:
            out[key] = text
    return out


def _vk4_date(cond: tuple[int, ...], utc_minutes: int) -> str | None:
    year, month, day, hour, minute, second = cond[1:7]
    if not (1980 <= year <= 2200 and 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60
            and second < 61 and abs(utc_minutes) <= 24 * 60):
        return None
    sign = "+" if utc_minutes >= 0 else "-"
    hh, mm = divmod(abs(utc_minutes), 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{sign}{hh:02d}:{mm:02d}"


def vk4_channels(path: Path) -> list[str]:
    """Names of the images in a VK4 file: ``height``, ``height 1``... then ``intensity``..."""
    return [name for name, _ in _vk4_structure(read_all(path), path)["images"]]


def read_vk4(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Keyence VK4 file.

    Parameters
    ----------
    path
        The file.
    channel
        ``None`` or ``"height"`` for the first height image; ``"height 1"``, ``"height 2"``,
        ``"intensity"``, ``"intensity 1"``... for the others (see :func:`vk4_channels`).
    spacing
        Ignored: the file stores its pitch.

    Returns
    -------
    Surface
        Heights in metres; the first intensity (light) image, when its shape matches, as the
        layer ``"intensity"`` (raw counts). An intensity channel read as the main data is in raw
        counts (``metadata["z_unit"] = "counts"``).
    """
    path = Path(path)
    data = read_all(path)
    info = _vk4_structure(data, path)
    images = dict(info["images"])
    if not images:
        raise FormatError(path, "VK4 file holds no height or intensity image (all offsets are zero)")
    name = "height" if channel is None else str(channel).strip().lower()
    if name not in images:
        raise FormatError(path, f"no channel {channel!r}; channels are: {', '.join(images)}")
    cond = info["cond"]
    dx_pm, dy_pm, dz_pm = cond[42], cond[43], cond[44]
    if dx_pm == 0 or dy_pm == 0:
        raise FormatError(path, f"VK4 pixel pitch is zero (x {dx_pm} pm, y {dy_pm} pm)")
    raw = _vk4_image(data, images[name], path, name)
    is_height = name.startswith("height")
    if is_height:
        if dz_pm == 0:
            raise FormatError(path, "VK4 z length per digit is zero: heights cannot be scaled")
        heights = raw.astype(np.float64) * (dz_pm * PICOMETRE)
    else:
        heights = raw.astype(np.float64)
    layers: dict[str, np.ndarray] = {}
    if is_height and "intensity" in images:
        intensity = _vk4_image(data, images["intensity"], path, "intensity")
        if intensity.shape == raw.shape:
            layers["intensity"] = intensity.copy()
    metadata: dict[str, Any] = {
        "instrument": "Keyence VK-X laser confocal microscope (VK4)",
        "channel": name,
        "channels": list(images),
        "original_units": {"xy": "pm", "z": "pm" if is_height else "counts"},
        "z_unit": "m" if is_height else "counts",
        "vk4_dll_version": info["dll_version"],
        "optical_zoom": cond[18] / 10,
        "objective_magnification": cond[24] / 10,
        "z_length_per_digit_m": dz_pm * PICOMETRE,
    }
    date = _vk4_date(cond, info["utc_minutes"])
    if date:
        metadata["date"] = date
    strings_at = info["table"][_STRING_SLOT]
    if strings_at:
        metadata.update(_vk4_strings(data, strings_at, path))
    return Surface(heights, (dy_pm * PICOMETRE, dx_pm * PICOMETRE), layers, metadata)


# ----------------------------------------------------------------------------------------------
# ZON
# ----------------------------------------------------------------------------------------------
def _zon_sniff(head: bytes, path: Path | None) -> bool:
    return head[:3] == ZON_MAGIC and head[8:10] == b"BM"


def _zon_member(archive: SafeZip, name: str, source: Any) -> bytes:
    raw = archive.read(name)
    if raw[:4] == _ZSTD_MAGIC:
        raw = _zstd(raw, source, name)
    return raw


def _zstd(raw: bytes, source: Any, name: str) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise FormatError(source, f"ZON member {name!r} is zstd-compressed; install the 'zstandard' "
                                  "package to read it") from None
    cap = min(MAX_DECOMPRESSED, max(len(raw), 1) * MAX_RATIO)
    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as reader:
            out = reader.read(cap + 1)
    except zstandard.ZstdError as exc:
        raise FormatError(source, f"ZON member {name!r}: zstd data is corrupt ({exc})") from None
    if len(out) > cap:
        raise FormatError(source, f"ZON member {name!r} decompresses to more than {cap} bytes: refused")
    return out


def _zon_calibration(archive: SafeZip, source: Any) -> tuple[float, float]:
    member = archive.find(ZON_CALIBRATION)
    if member is None:
        raise FormatError(source, f"ZON archive has no calibration member {ZON_CALIBRATION}")
    text = _zon_member(archive, member, source)
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    root = parse_xml(text, source, what="ZON calibration XML")
    values = []
    for path_ in ("XYCalibration/MeterPerPixel", "ZCalibration/MeterPerUnit"):
        element = root.find(path_)
        if element is None:
            element = root.find(".//" + path_)
        if element is None or element.text is None:
            raise FormatError(source, f"ZON calibration lacks {path_}")
        try:
            value = float(element.text.strip())
        except ValueError:
            raise FormatError(source, f"ZON calibration {path_} = {element.text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise FormatError(source, f"ZON calibration {path_} = {value!r} is not a positive length")
        values.append(value)
    return values[0], values[1]


def _zon_grid(raw: bytes, source: Any, what: str) -> np.ndarray:
    if len(raw) < 16:
        raise FormatError(source, f"ZON {what} member is {len(raw)} bytes, shorter than its 16-byte header")
    width, height, itemsize, stride = struct.unpack_from("<4I", raw, 0)
    if itemsize != 4:
        raise FormatError(source, f"ZON {what}: item size {itemsize}, expected 4 (int32 heights)")
    if stride < width * 4:
        raise FormatError(source, f"ZON {what}: row stride {stride} bytes is shorter than {width} int32 values")
    check_grid(source, (height, width), 4, None, what=f"ZON {what}")
    if height * stride > len(raw) - 16:
        raise FormatError(source, f"ZON {what}: {height} rows of {stride} bytes need {height * stride} bytes, "
                                  f"only {len(raw) - 16} present: truncated")
    rows = np.frombuffer(raw, dtype=np.uint8, count=height * stride, offset=16).reshape(height, stride)
    return rows[:, :width * 4].copy().view("<i4")


def _zon_channels(path: Path) -> list[str]:
    return ["height"]


def read_zon(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read the height map of a Keyence ``.zon`` file (see the module notes for what is known).

    ``channel`` may be ``None`` or ``"height"``; ``spacing`` is ignored.
    """
    path = Path(path)
    if channel is not None and str(channel).strip().lower() != "height":
        raise FormatError(path, f"no channel {channel!r}; channels are: height")
    with open(path, "rb") as f:
        head = f.read(16)
    if not _zon_sniff(head, path):
        raise FormatError(path, "not a Keyence ZON file (expected 'KPK' and an embedded 'BM' thumbnail)")
    try:
        with SafeZip(path) as archive:
            meter_per_pixel, meter_per_unit = _zon_calibration(archive, path)
            member = archive.find(ZON_HEIGHTS)
            if member is None:
                raise FormatError(path, f"ZON archive has no height member {ZON_HEIGHTS}")
            values = _zon_grid(_zon_member(archive, member, path), path, "height data")
    except (NotImplementedError, RuntimeError) as exc:  # zipfile: unknown version, encryption
        raise FormatError(path, f"ZON archive cannot be read ({exc})") from None
    heights = values.astype(np.float64) * meter_per_unit
    metadata = {
        "instrument": "Keyence (ZON file)",
        "channel": "height",
        "channels": ["height"],
        "original_units": {"xy": "m per pixel", "z": "m per unit"},
        "z_unit": "m",
        "meter_per_unit": meter_per_unit,
    }
    return Surface(heights, (meter_per_pixel, meter_per_pixel), {}, metadata)


FORMATS = [
    FileFormat(
        name="vk4",
        description="Keyence VK-X laser confocal microscope (.vk4)",
        suffixes=(".vk4",),
        read=read_vk4,
        magic=(VK4_MAGIC,),
        sniff=_vk4_sniff,
        channels=vk4_channels,
    ),
    FileFormat(
        name="zon",
        description="Keyence VK-X / VR 3-D measurement (.zon)",
        suffixes=(".zon",),
        read=read_zon,
        magic=(ZON_MAGIC,),
        sniff=_zon_sniff,
        channels=_zon_channels,
    ),
]
