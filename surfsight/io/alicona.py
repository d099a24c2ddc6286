"""Alicona Imaging AL3D files (InfiniteFocus focus-variation microscopes).

Layout (as read by Gwyddion's ``alicona.c``, SurfaceTopography's ``AL3D.py`` and
Bio-Formats' ``AliconaReader``):

* 17-byte magic ``"AliconaImaging\\0\\r\\n"``;
* tags of 52 bytes: a NUL-padded key (20 bytes), a NUL-padded value (30 bytes), ``"\\r\\n"``.
  The first two are ``Version`` and ``TagCount``; ``TagCount`` more follow;
* a 256-byte comment ending in ``"\\r\\n"``;
* at ``DepthImageOffset``: ``Rows`` rows of ``Cols`` little-endian float32 depths in metres,
  each row padded to a multiple of 8 bytes; points equal to ``InvalidPixelValue`` (or NaN) are
  not measured;
* at ``TextureImageOffset`` (0 = none): ``NumberOfPlanes`` colour planes of ``Rows x Cols``
  8-bit (or 16-bit) values; ``TexturePtr`` (``"0;1;2"``) names the red, green and blue planes;
* at ``IconOffset`` (0 = none): a small preview image, ignored here.

``PixelSizeXMeter`` / ``PixelSizeYMeter`` give the lateral spacing in metres.
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

MAGIC = b"AliconaImaging\x00\r\n"
KEY_SIZE, VALUE_SIZE = 20, 30
TAG_SIZE = KEY_SIZE + VALUE_SIZE + 2
COMMENT_SIZE = 256
#: More tags than this is not a real file (real files have a few dozen).
MAX_TAGS = 10_000


def _tag(c: Cursor, path: Path, index: int) -> tuple[str, str]:
    raw = c.take(TAG_SIZE, f"header tag {index}")
    if raw[-2:] != b"\r\n":
        raise FormatError(path, f"header tag {index} at byte {c.offset - TAG_SIZE} lacks its CRLF terminator: corrupt")
    key = raw[:KEY_SIZE].split(b"\0", 1)[0].decode("latin-1").strip()
    value = raw[KEY_SIZE:KEY_SIZE + VALUE_SIZE].split(b"\0", 1)[0].decode("latin-1").strip()
    if not key:
        raise FormatError(path, f"header tag {index} has an empty key: corrupt")
    return key, value


def read_header(data: bytes, path: Path) -> tuple[dict[str, str], int]:
    """The tags as ``{key: value}`` and the offset just after the comment."""
    if data[:len(MAGIC)] != MAGIC:
        raise FormatError(path, "not an Alicona AL3D file (magic 'AliconaImaging' missing)")
    c = Cursor(data, path, "<", len(MAGIC))
    tags: dict[str, str] = {}
    for index, expected in enumerate(("Version", "TagCount")):
        key, value = _tag(c, path, index)
        if key != expected:
            raise FormatError(path, f"header tag {index} is {key!r}, expected {expected!r}")
        tags[key] = value
    count = _int(tags, "TagCount", path)
    if not 0 <= count <= MAX_TAGS:
        raise FormatError(path, f"TagCount {count} is not plausible")
    for index in range(count):
        key, value = _tag(c, path, index + 2)
        tags[key] = value
    comment = c.take(COMMENT_SIZE, "comment")
    if comment[-2:] != b"\r\n":
        raise FormatError(path, "comment block lacks its CRLF terminator: corrupt")
    text = comment[:-2].split(b"\0", 1)[0].decode("latin-1").strip()
    if text:
        tags["__comment__"] = text
    return tags, c.offset


def _int(tags: dict[str, str], key: str, path: Path) -> int:
    if key not in tags:
        raise FormatError(path, f"header tag {key!r} is missing")
    try:
        return int(tags[key])
    except ValueError:
        raise FormatError(path, f"header tag {key!r} = {tags[key]!r} is not a whole number") from None


def _float(tags: dict[str, str], key: str, path: Path) -> float:
    if key not in tags:
        raise FormatError(path, f"header tag {key!r} is missing")
    try:
        return float(tags[key])
    except ValueError:
        raise FormatError(path, f"header tag {key!r} = {tags[key]!r} is not a number") from None


def _stride(cols: int, itemsize: int) -> int:
    """Bytes per stored row: rows are padded to a multiple of 8 bytes."""
    return (cols * itemsize + 7) // 8 * 8


def _texture(data: bytes, tags: dict[str, str], rows: int, cols: int, end: int, path: Path) -> dict[str, np.ndarray]:
    """The colour planes as layers; the whole texture block must be present."""
    offset = _int(tags, "TextureImageOffset", path) if "TextureImageOffset" in tags else 0
    planes = _int(tags, "NumberOfPlanes", path) if "NumberOfPlanes" in tags else 0
    if offset == 0 or planes == 0:
        return {}
    if offset < end or offset > len(data):
        raise FormatError(path, f"TextureImageOffset {offset} is outside the data area ({end}..{len(data)})")
    if not 0 < planes <= 16:
        raise FormatError(path, f"NumberOfPlanes {planes} is not plausible")
    available = len(data) - offset
    layout = None
    for itemsize in (1, 2):
        for stride in (cols * itemsize, _stride(cols, itemsize)):
            if planes * rows * stride == available:
                layout = (itemsize, stride)
                break
        if layout:
            break
    if layout is None:
        needed = planes * rows * cols
        if available < needed:
            raise FormatError(path, f"truncated: texture needs at least {needed} bytes from byte {offset}, "
                                    f"only {available} follow")
        raise FormatError(path, f"texture block of {available} bytes does not hold {planes} planes of "
                                f"{rows}x{cols} 8- or 16-bit values: corrupt")
    itemsize, stride = layout
    dtype = np.dtype("u1") if itemsize == 1 else np.dtype("<u2")
    pointer = [p.strip() for p in tags.get("TexturePtr", "").split(";") if p.strip()]
    colour_names = {}
    if len(pointer) == 3 and all(p.isdigit() for p in pointer):
        colour_names = {int(p): name for p, name in zip(pointer, ("texture_red", "texture_green", "texture_blue"))}
    elif len(pointer) == 1 and pointer[0].isdigit():
        colour_names = {int(pointer[0]): "texture"}
    layers = {}
    for plane in range(planes):
        start = offset + plane * rows * stride
        block = np.frombuffer(data, dtype=np.uint8, count=rows * stride, offset=start).reshape(rows, stride)
        values = block[:, :cols * itemsize].copy().view(dtype).reshape(rows, cols)
        layers[colour_names.get(plane, f"texture_plane_{plane}")] = values
    return layers


def read_al3d(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read an Alicona ``.al3d`` file: the depth image as heights in metres.

    The texture planes (colour image registered to the heights) go to ``layers``.
    """
    path = Path(path)
    data = read_all(path)
    tags, header_end = read_header(data, path)
    if channel not in (None, "height"):
        raise FormatError(path, f"no channel {channel!r}; AL3D files have one height channel ('height')")
    cols, rows = _int(tags, "Cols", path), _int(tags, "Rows", path)
    dx, dy = abs(_float(tags, "PixelSizeXMeter", path)), abs(_float(tags, "PixelSizeYMeter", path))
    for name, value in (("PixelSizeXMeter", dx), ("PixelSizeYMeter", dy)):
        if not (math.isfinite(value) and value > 0):
            raise FormatError(path, f"{name} = {value!r} is not a positive length")
    if "DepthImageOffset" not in tags or _int(tags, "DepthImageOffset", path) == 0:
        raise FormatError(path, "file holds no depth image (DepthImageOffset missing or 0)")
    offset = _int(tags, "DepthImageOffset", path)
    if offset < header_end or offset > len(data):
        raise FormatError(path, f"DepthImageOffset {offset} is outside the file's data area ({header_end}..{len(data)})")
    check_grid(path, (rows, cols), 4, None, what="depth image")
    stride = _stride(cols, 4)
    check_grid(path, (rows, stride // 4), 4, len(data) - offset, what="depth image")
    block = np.frombuffer(data, dtype=np.uint8, count=rows * stride, offset=offset).reshape(rows, stride)
    depth = block[:, :cols * 4].copy().view("<f4").reshape(rows, cols).astype(np.float64)
    invalid = ~np.isfinite(depth)
    if "InvalidPixelValue" in tags:
        marker = _float(tags, "InvalidPixelValue", path)
        if not math.isnan(marker):
            invalid |= depth == float(np.float32(marker))
    depth[invalid] = np.nan
    depth_end = offset + rows * stride
    layers = _texture(data, tags, rows, cols, depth_end, path)
    meta: dict[str, Any] = {
        "instrument": "Alicona" + (f" ({tags['CreatingApplication']})" if tags.get("CreatingApplication") else ""),
        "original_units": "m",
        "channel": "height",
        "channels": ["height"],
        "al3d_version": tags.get("Version"),
        "header": {k: v for k, v in tags.items() if k.isprintable() and all(ch.isprintable() for ch in v)},
    }
    if "__comment__" in tags:
        meta["comment"] = tags["__comment__"]
    for key in ("CreationDate", "Date"):
        if key in tags:
            meta["date"] = tags[key]
            break
    return Surface(depth, (dy, dx), layers, meta)


FORMATS = [
    FileFormat(
        name="al3d",
        description="Alicona Imaging AL3D (.al3d)",
        suffixes=(".al3d",),
        read=read_al3d,
        magic=(MAGIC,),
    ),
]
