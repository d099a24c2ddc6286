"""Readers for Sensofar files: the binary ``.plu`` (PLu 2000 and later) and the zip
container ``.plux`` (SensoSCAN / SensoVIEW).

``.plu`` layout (little-endian; Gwyddion ``sensofar.c``, SurfaceTopography ``IO/PLU.py``; see
``docs/formats/vendor-binary.md``)::

    0    char[128] acquisition date, C ``ctime`` text ("Fri Mar 10 16:35:59 2023")
    128  uint32    time_t of the acquisition
    132  char[256] user comment
    388  calibration: uint32 yres, xres, N_tall; float32 dy_multip, µm per pixel x,
         µm per pixel y, x0, y0, µm per pixel z, z0                         (40 bytes)
    428  measurement: uint32 type, algorithm, method, objective, area type,
         then 40 bytes of scan settings (field-of-view or point-scan variant),
         uint8 restore, layers, version, hardware, images, reserved; 2 pad;
         uint32 decimation factor                                           (72 bytes)
    500  per layer: uint32 yres, xres; float32[yres][xres] heights in µm
         (1000001.0 = not measured); float32 min, max; then ``images`` RGB
         images of yres*xres*3 bytes
    ...  since 2011 some trailing metadata (operator, sample), ignored

``.plux`` is a zip: ``index.xml`` (``GENERAL/IMAGE_SIZE_X``, ``IMAGE_SIZE_Y``, ``FOV_X`` and
``FOV_Y`` = pixel size in µm, ``DATE``, ``LAYER_n/FILENAME_Z``) and, per layer, a raw
``float32[ny][nx]`` member of heights in µm with NaN for non-measured points.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, UnsupportedFormatError
from ..surface import Profile, Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import SafeZip, check_grid, parse_xml, read_all, read_head

HEADER_SIZE = 500
LOST_PIXEL = 1000001.0
MICRON = 1e-6
MAX_LAYERS = 64

MEASUREMENT_TYPES = {0: "image", 1: "profile", 2: "multiple profile", 3: "topography",
                     4: "coordinates", 5: "thickness", 6: "custom"}
ALGORITHMS = {0: "confocal intensity", 1: "confocal gradient", 2: "interferometric PSI",
              3: "interferometric VSI", 4: "interferometric ePSI", 5: "confocal thickness",
              6: "interferometric thickness", 7: "focus variation"}
HARDWARE = {0: "PLµ", 1: "PLµ 2300 XGA", 2: "PLµ 2300 XGA T5", 3: "PLµ 2300 SXGA", 4: "PLµ 3300",
            5: "DCM 3D", 6: "PLu neox", 7: "DCM 3D rev 2", 8: "PLu Apex prototype", 9: "S neox",
            10: "DCM8", 11: "PLu Apex"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _parse_ctime(text: str) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None


def _sniff_plu(head: bytes, path: Path | None) -> bool:
    """The file starts with a ``ctime`` date ("Fri Mar 10 16:35:59 2023") padded with NULs."""
    if len(head) < 24:
        return False
    text = head[:128].split(b"\0", 1)[0]
    try:
        decoded = text.decode("ascii")
    except UnicodeDecodeError:
        return False
    return decoded[:3] in _DAYS and decoded[4:7] in _MONTHS and _parse_ctime(decoded) is not None


def _step(value: float, source: Any, what: str) -> float:
    step = abs(float(value)) * MICRON
    if not math.isfinite(step) or step <= 0:
        raise FormatError(source, f"{what} is {value!r} µm: corrupt header")
    return step


def _plu_header(cur: Cursor) -> dict[str, Any]:
    h: dict[str, Any] = {}
    h["date_text"] = cur.string(128, "date")
    h["time_t"] = cur.one("<I", "acquisition time")
    h["comment"] = cur.string(256, "comment")
    (h["yres"], h["xres"], h["n_tall"], h["dy_multip"], h["mppx"], h["mppy"], h["x0"], h["y0"],
     h["mppz"], h["z0"]) = cur.unpack("<3I7f", "calibration block")
    h["type"], h["algorithm"], h["method"], h["objective"], h["area_type"] = cur.unpack("<5I", "measurement block")
    cur.skip(40, "scan settings")
    (h["restore"], h["layers"], h["version"], h["hardware"], h["images"], _r) = cur.unpack("<6B", "format version")
    cur.skip(2, "padding")
    h["decimation"] = cur.one("<I", "decimation factor")
    return h


def read_plu(path: Path, channel: str | None = None, spacing=None) -> Surface | Profile:
    """Read a Sensofar ``.plu`` file.

    Parameters
    ----------
    path
        The file.
    channel
        ``"height"`` (default) or ``"height N"`` for layer ``N`` of multi-layer files.
    spacing
        Ignored: the file stores its spacing.

    Returns
    -------
    Surface or Profile
        Heights in metres (stored in µm), NaN where the file holds 1000001.0. The RGB image
        stored after the heights, if any, becomes the ``intensity`` layer (grey images) or
        ``red``/``green``/``blue`` layers.
    """
    path = Path(path)
    data = read_all(path)
    if not _sniff_plu(data[:128], path):
        raise FormatError(path, "not a Sensofar .plu file (does not start with a date)")
    cur = Cursor(data, path, "<")
    h = _plu_header(cur)
    kind = MEASUREMENT_TYPES.get(h["type"], f"type {h['type']}")
    if h["type"] not in (1, 2, 3, 5):
        raise UnsupportedFormatError(path, f"holds a {kind} measurement; surfsight reads topography and profiles")
    n_layers = int(h["layers"])
    if n_layers == 0:
        raise UnsupportedFormatError(path, "header says the file holds no data layers")
    if n_layers > MAX_LAYERS:
        raise FormatError(path, f"header claims {n_layers} layers: corrupt")
    # Grey (float) images only in format versions 0 and 255; others store RGB images after topography.
    n_images = int(h["images"]) if h["type"] == 3 else 0
    names = ["height"] + [f"height {i + 1}" for i in range(1, n_layers)]
    wanted = 0 if channel is None else (names.index(channel) if channel in names else -1)
    if wanted < 0:
        raise FormatError(path, f"no channel {channel!r}; the file holds {', '.join(names)}")
    chosen: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
    for layer in range(n_layers):
        yres, xres = cur.unpack("<II", f"layer {layer + 1} grid size")
        what = f"layer {layer + 1} heights"
        check_grid(path, (yres, xres), 4, cur.remaining, what=what)
        values = cur.array("<f4", (yres, xres), what=what)
        cur.take(8, f"layer {layer + 1} min/max")
        images = []
        for k in range(n_images):
            images.append(cur.array("u1", (yres, xres, 3), what=f"layer {layer + 1} colour image {k + 1}"))
        if layer == wanted:
            heights = values.astype(np.float64)
            heights[values == LOST_PIXEL] = np.nan
            if not np.isfinite(heights[~np.isnan(heights)]).all():
                raise FormatError(path, f"{what} contain infinite values: corrupt")
            heights *= MICRON
            layers: dict[str, np.ndarray] = {}
            if images:
                rgb = images[0]
                if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
                    layers["intensity"] = rgb[..., 0].copy()
                else:
                    layers.update(red=rgb[..., 0].copy(), green=rgb[..., 1].copy(), blue=rgb[..., 2].copy())
            chosen = (heights, layers)
    assert chosen is not None
    heights, layers = chosen
    metadata: dict[str, Any] = {
        "vendor": "Sensofar",
        "instrument": HARDWARE.get(h["hardware"], f"Sensofar hardware {h['hardware']}"),
        "algorithm": ALGORITHMS.get(h["algorithm"], str(h["algorithm"])),
        "measurement_type": kind,
        "objective_code": int(h["objective"]),
        "format_version": int(h["version"]),
        "original_units": {"x": "µm", "y": "µm", "z": "µm"},
        "channel": names[wanted],
        "channels": names,
    }
    when = _parse_ctime(h["date_text"])
    if when is not None:
        metadata["date"] = when.isoformat()
    if h["comment"] and h["comment"] != "(None)":
        metadata["comment"] = h["comment"]
    dx = _step(h["mppx"], path, "x pixel size")
    if heights.shape[0] == 1:
        return Profile(heights[0], dx, {k: v[0] for k, v in layers.items()}, metadata)
    dy = _step(h["mppy"], path, "y pixel size")
    return Surface(heights, (dy, dx), layers, metadata)


# --- .plux -------------------------------------------------------------------------------

def _text(element, tag: str) -> str | None:
    found = element.find(tag) if element is not None else None
    return None if found is None or found.text is None else found.text.strip()


def _sniff_plux(head: bytes, path: Path | None) -> bool:
    """A zip named ``.plux``, or whose first members carry Sensofar names (cheap check)."""
    if head[:4] != b"PK\x03\x04":
        return False
    if path is not None and Path(path).suffix.lower() == ".plux":
        return True
    return any(name in head for name in (b"index.xml", b"LAYER_0.raw", b"recipe.txt", b"metrics.txt"))


def read_plux(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Sensofar ``.plux`` archive.

    Parameters
    ----------
    path
        The file.
    channel
        ``"LAYER_0"`` (default), ``"LAYER_1"``, ... as listed in ``index.xml``.
    spacing
        Ignored: the file stores its spacing.

    Raises
    ------
    UnsupportedFormatError
        When the archive holds metadata only (no height member), as some exports do.
    """
    path = Path(path)
    with SafeZip(path) as archive:
        index_name = archive.find("index.xml")
        if index_name is None:
            raise UnsupportedFormatError(path, "zip has no index.xml: not a Sensofar .plux file")
        root = parse_xml(archive.read(index_name, limit=16 * 2**20), path, what="index.xml")
        general = root.find("GENERAL")
        try:
            nx = int(_text(general, "IMAGE_SIZE_X") or "")
            ny = int(_text(general, "IMAGE_SIZE_Y") or "")
            fov_x = float(_text(general, "FOV_X") or "")
            fov_y = float(_text(general, "FOV_Y") or "")
        except ValueError:
            raise FormatError(path, "index.xml lacks GENERAL/IMAGE_SIZE_X, IMAGE_SIZE_Y, FOV_X or FOV_Y") from None
        layers = [child for child in root if child.tag.startswith("LAYER_")]
        names = [child.tag for child in layers]
        if not layers:
            raise UnsupportedFormatError(path, "index.xml lists no data layers: the file holds no height data")
        if channel is None:
            layer = layers[0]
        elif channel in names:
            layer = layers[names.index(channel)]
        else:
            raise FormatError(path, f"no channel {channel!r}; the file holds {', '.join(names)}")
        member_name = _text(layer, "FILENAME_Z")
        member = archive.find(member_name) if member_name else None
        if member is None:
            raise UnsupportedFormatError(
                path, f"holds no height data: {layer.tag} names height member {member_name!r} but the archive "
                      f"has only {', '.join(archive.names)} (a metadata-only export)")
        needed = check_grid(path, (ny, nx), 4, None, what=f"{layer.tag} heights")
        raw = archive.read(member, limit=2 * needed + 64)
        if len(raw) != needed:
            raise FormatError(path, f"{member} holds {len(raw)} bytes, a {nx}x{ny} float32 grid needs {needed}: "
                                    "truncated or corrupt")
        values = np.frombuffer(raw, "<f4").reshape(ny, nx).astype(np.float64)
        values[np.isinf(values)] = np.nan
        heights = values * MICRON
        colour: dict[str, np.ndarray] = {}
        colour_name = _text(layer, "FILENAME_COLOR")
        colour_member = archive.find(colour_name) if colour_name else None
        if colour_member is not None:
            blob = archive.read(colour_member, limit=4 * nx * ny)
            for channels_per_pixel in (3, 4):
                if len(blob) == channels_per_pixel * nx * ny:
                    rgb = np.frombuffer(blob, "u1").reshape(ny, nx, channels_per_pixel)
                    colour = {"red": rgb[..., 0].copy(), "green": rgb[..., 1].copy(), "blue": rgb[..., 2].copy()}
    info = {}
    info_root = root.find("INFO")
    if info_root is not None:
        for item in info_root:
            key, value = _text(item, "NAME"), _text(item, "VALUE")
            if key:
                info[key] = value
    metadata: dict[str, Any] = {
        "vendor": "Sensofar",
        "original_units": {"x": "µm", "y": "µm", "z": "µm"},
        "channel": layer.tag,
        "channels": names,
        "info": info,
    }
    if info.get("Device"):
        metadata["instrument"] = info["Device"]
    if _text(general, "DATE"):
        metadata["date"] = _text(general, "DATE")
    dx = _step(fov_x, path, "FOV_X (pixel size)")
    dy = _step(fov_y, path, "FOV_Y (pixel size)")
    return Surface(heights, (dy, dx), colour, metadata)


def plux_channels(path: Path) -> list[str]:
    path = Path(path)
    with SafeZip(path) as archive:
        index_name = archive.find("index.xml")
        if index_name is None:
            raise UnsupportedFormatError(path, "zip has no index.xml: not a Sensofar .plux file")
        root = parse_xml(archive.read(index_name, limit=16 * 2**20), path, what="index.xml")
    return [child.tag for child in root if child.tag.startswith("LAYER_")]


def plu_channels(path: Path) -> list[str]:
    path = Path(path)
    cur = Cursor(read_head(path, HEADER_SIZE), path, "<")
    h = _plu_header(cur)
    return ["height"] + [f"height {i + 1}" for i in range(1, int(h["layers"]))]


FORMATS = [
    FileFormat(
        name="plu",
        description="Sensofar PLu confocal/interferometric profiler (.plu)",
        suffixes=(".plu", ".apx"),
        read=read_plu,
        sniff=_sniff_plu,
        channels=plu_channels,
    ),
    FileFormat(
        name="plux",
        description="Sensofar SensoSCAN archive (.plux)",
        suffixes=(".plux",),
        read=read_plux,
        magic=(b"PK\x03\x04",),
        sniff=_sniff_plux,
        channels=plux_channels,
    ),
]
