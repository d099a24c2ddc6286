"""Height maps stored as single-channel TIFF images (read only).

A TIFF holds pixel values but, in general, neither the lateral spacing nor the height unit.
surfsight takes them from, in this order of precedence:

1. the ``spacing=`` argument of :func:`surfsight.read` (``(dy, dx)`` or one number, metres);
2. a JSON sidecar next to the image: ``name.tif.json`` first, then ``name.json``;
3. the TIFF resolution tags (XResolution / YResolution, TIFF 6.0 tags 282/283, pixels per
   ResolutionUnit, tag 296) when the unit is a real length: centimetre, or inch unless the
   resolution is 72 or 96 pixels per inch (the defaults image programs write for screens, which
   say nothing about a measurement); or ImageJ's ``unit=`` with ResolutionUnit NONE;

and refuses the file with a clear message when none of them gives a spacing.

Sidecar schema (every key optional)::

    {
      "spacing": 5e-7 | "0.5um" | [dy, dx] | ["0.5 um", "0.5 um"],  # numbers are metres
      "z_unit": "m",            # unit of (stored value * z_scale + z_offset); default "m"
      "z_scale": 1.0,           # factor applied to the stored values first
      "z_offset": 0.0,          # added after z_scale, in z_unit
      "invalid": null,          # stored value(s) meaning "not measured": a number, a list, or "nan"
      "instrument": "...", "date": "..."   # copied into metadata
    }

Heights: float images are taken in ``z_unit`` (default metres). Integer images are refused unless
the sidecar gives ``z_unit`` or ``z_scale``: raw counts in metres would be a silently wrong surface.
Non-finite values become NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, InputError
from ..surface import Surface
from ..units import parse_length
from .formats import FileFormat
from .safety import check_grid

TIFF_MAGIC = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")
#: Largest sidecar read, bytes.
MAX_SIDECAR = 1 << 20
#: Screen resolutions written by image programs by default; not a measurement.
_DEFAULT_DPI = (72.0, 96.0)
#: Pages listed as channels at most.
MAX_PAGES = 256


def sidecar_path(path: Path) -> Path | None:
    """The sidecar of ``path``: ``name.tif.json`` if it exists, else ``name.json``, else ``None``."""
    for candidate in (Path(str(path) + ".json"), Path(path).with_suffix(".json")):
        if candidate.is_file():
            return candidate
    return None


def _load_sidecar(path: Path) -> tuple[dict[str, Any], Path | None]:
    side = sidecar_path(path)
    if side is None:
        return {}, None
    if side.stat().st_size > MAX_SIDECAR:
        raise FormatError(side, f"sidecar is larger than {MAX_SIDECAR} bytes")
    try:
        content = json.loads(side.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(side, f"sidecar is not valid JSON ({exc})") from None
    if not isinstance(content, dict):
        raise FormatError(side, "sidecar must be a JSON object such as {\"spacing\": \"0.5um\"}")
    return content, side


def _length(value: Any, source: Any, what: str) -> float:
    if isinstance(value, bool):
        raise FormatError(source, f"{what} must be a length, got {value!r}")
    try:
        length = parse_length(value, what=what)
    except InputError as exc:
        raise FormatError(source, str(exc)) from None
    if not math.isfinite(length) or length <= 0:
        raise FormatError(source, f"{what} must be a positive length, got {value!r}")
    return length


def _spacing_value(value: Any, source: Any, what: str) -> tuple[float, float]:
    if isinstance(value, (list, tuple, np.ndarray)):
        if len(value) != 2:
            raise FormatError(source, f"{what} must be one length or [dy, dx], got {value!r}")
        return _length(value[0], source, what), _length(value[1], source, what)
    step = _length(value, source, what)
    return step, step


def _tag_spacing(tif: Any, page: Any) -> tuple[tuple[float, float] | None, str]:
    """Spacing from TIFF resolution tags or ImageJ metadata, with a note saying which."""
    tags = page.tags
    if "XResolution" not in tags or "YResolution" not in tags:
        return None, "no resolution tags"
    try:
        xres = _rational(tags["XResolution"].value)
        yres = _rational(tags["YResolution"].value)
        unit = int(tags["ResolutionUnit"].value) if "ResolutionUnit" in tags else 2
    except (TypeError, ValueError, ZeroDivisionError):
        return None, "unreadable resolution tags"
    if not (xres > 0 and yres > 0 and math.isfinite(xres) and math.isfinite(yres)):
        return None, "resolution tags are not positive"
    lengths = {2: 0.0254, 3: 0.01, 4: 1e-3, 5: 1e-6}  # inch, centimetre, tifffile's mm and µm
    if unit == 1:
        meta = getattr(tif, "imagej_metadata", None) or {}
        text = str(meta.get("unit", "")).replace("\\u00B5", "\u00b5").strip()
        if text:
            try:
                per_unit = parse_length("1 " + text)
            except InputError:
                return None, f"ImageJ unit {text!r} is not a length"
            return (per_unit / yres, per_unit / xres), f"ImageJ calibration ({text})"
        return None, "resolution tags have no unit"
    if unit not in lengths:
        return None, f"unknown ResolutionUnit {unit}"
    if unit == 2 and (xres in _DEFAULT_DPI or yres in _DEFAULT_DPI):
        return None, f"resolution {xres:g} dpi is an image-program default, not a measurement"
    return (lengths[unit] / yres, lengths[unit] / xres), "TIFF resolution tags"


def _rational(value: Any) -> float:
    if isinstance(value, tuple):
        return value[0] / value[1]
    return float(value)


def _open(path: Path):
    import tifffile

    try:
        return tifffile.TiffFile(path)
    except Exception as exc:  # tifffile raises many kinds on corrupt input
        raise FormatError(path, f"not a readable TIFF ({type(exc).__name__}: {exc})") from None


def _page_names(tif: Any) -> list[str]:
    count = 0
    for _ in tif.pages:
        count += 1
        if count >= MAX_PAGES:
            break
    return ["height"] if count <= 1 else [f"page {i}" for i in range(count)]


def tiff_channels(path: Path) -> list[str]:
    """``["height"]`` for a one-page TIFF, ``["page 0", "page 1", ...]`` otherwise."""
    with _open(Path(path)) as tif:
        try:
            return _page_names(tif)
        except Exception as exc:
            raise FormatError(path, f"cannot list TIFF pages ({type(exc).__name__}: {exc})") from None


def read_tiff(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a single-channel TIFF height map (see the module notes for spacing and units).

    Parameters
    ----------
    path
        The image.
    channel
        ``None``/``"height"`` for the first page, ``"page N"`` for page N of a multi-page file.
    spacing
        ``(dy, dx)`` or one number, metres; overrides sidecar and tags.

    Returns
    -------
    Surface
        Heights in metres; ``metadata["spacing_source"]`` says where the spacing came from.
    """
    path = Path(path)
    side, side_path = _load_sidecar(path)
    side_source = side_path or path
    with _open(path) as tif:
        try:
            names, index, raw, step, source, date = _read_page(path, tif, channel, spacing, side, side_source)
        except FormatError:
            raise
        except Exception as exc:  # tifffile and NumPy raise many kinds on corrupt files
            raise FormatError(path, f"cannot read the TIFF ({type(exc).__name__}: {exc})") from None
    heights = _heights(raw, side, side_source, path)
    metadata: dict[str, Any] = {
        "channel": names[index],
        "channels": names,
        "spacing_source": source,
        "original_units": {"xy": source, "z": str(side.get("z_unit", "m"))},
        "z_unit": "m",
    }
    for key in ("instrument", "date"):
        if isinstance(side.get(key), str):
            metadata[key] = side[key]
    if date and "date" not in metadata:
        metadata["date"] = date
    return Surface(heights, step, {}, metadata)


def _read_page(path: Path, tif: Any, channel: str | None, spacing: Any, side: dict, side_source: Any):
    """Choose the page, check its size before decoding, find the spacing, decode the pixels."""
    names = _page_names(tif)
    index = 0
    if channel is not None and str(channel).strip().lower() not in ("height", "page 0"):
        wanted = str(channel).strip().lower()
        if wanted not in names:
            raise FormatError(path, f"no channel {channel!r}; channels are: {', '.join(names)}")
        index = names.index(wanted)
    page = tif.pages[index]
    shape, dtype = tuple(int(n) for n in page.shape), np.dtype(page.dtype)
    samples = int(getattr(page, "samplesperpixel", 1))
    if samples != 1 or len(shape) != 2:
        raise FormatError(path, f"TIFF page has shape {shape} with {samples} samples per pixel; "
                                "a height map must be a single-channel 2-D image")
    if dtype.kind not in "fiu":
        raise FormatError(path, f"TIFF pixel type {dtype} cannot hold heights")
    compression = getattr(page, "compression", 1)
    uncompressed = isinstance(compression, int) and int(compression) == 1
    check_grid(path, shape, dtype.itemsize, path.stat().st_size if uncompressed else None, what="TIFF image")
    step, source = _resolve_spacing(path, spacing, side, side_source, tif, page)
    raw = page.asarray()
    if raw.shape != shape:
        raise FormatError(path, f"TIFF pixels decode to shape {raw.shape}, the header says {shape}: corrupt")
    date = str(page.tags["DateTime"].value) if "DateTime" in page.tags else None
    return names, index, raw, step, source, date


def _resolve_spacing(path: Path, spacing: Any, side: dict, side_source: Any, tif: Any, page: Any
                     ) -> tuple[tuple[float, float], str]:
    if spacing is not None:
        return _spacing_value(spacing, path, "spacing argument"), "spacing argument"
    if "spacing" in side:
        return _spacing_value(side["spacing"], side_source, "sidecar spacing"), f"sidecar {Path(side_source).name}"
    step, note = _tag_spacing(tif, page)
    if step is not None:
        return step, note
    example = '{"spacing": "0.5um", "z_unit": "um"}'
    raise FormatError(path, f"the lateral spacing is unknown ({note}): pass spacing=(dy, dx) in metres, "
                            f"or write a sidecar {path.name}.json such as {example}")


def _heights(raw: np.ndarray, side: dict, side_source: Any, path: Path) -> np.ndarray:
    integer = raw.dtype.kind in "iu"
    if integer and "z_unit" not in side and "z_scale" not in side:
        raise FormatError(path, f"integer TIFF ({raw.dtype}) holds raw counts; give their height unit in a sidecar "
                                f"{path.name}.json, e.g. {{\"z_unit\": \"nm\", \"z_scale\": 1.0}}")
    z_unit = _length(f"1 {side.get('z_unit', 'm')}", side_source, "sidecar z_unit")
    try:
        z_scale = float(side.get("z_scale", 1.0))
        z_offset = float(side.get("z_offset", 0.0))
    except (TypeError, ValueError):
        raise FormatError(side_source, "sidecar z_scale and z_offset must be numbers") from None
    if not (math.isfinite(z_scale) and math.isfinite(z_offset)) or z_scale == 0:
        raise FormatError(side_source, "sidecar z_scale must be finite and non-zero, z_offset finite")
    invalid = np.zeros(raw.shape, dtype=bool)
    marks = side.get("invalid")
    if marks is not None:
        for mark in marks if isinstance(marks, list) else [marks]:
            if isinstance(mark, str) and mark.lower() == "nan":
                invalid |= np.isnan(raw) if raw.dtype.kind == "f" else False
            elif isinstance(mark, (int, float)) and not isinstance(mark, bool):
                invalid |= raw == mark
            else:
                raise FormatError(side_source, f"sidecar invalid value {mark!r} is not a number or 'nan'")
    heights = (raw.astype(np.float64) * z_scale + z_offset) * z_unit
    heights[invalid | ~np.isfinite(heights)] = np.nan
    return heights


FORMATS = [
    FileFormat(
        name="tiff",
        description="TIFF height map (spacing from argument, sidecar or resolution tags)",
        suffixes=(".tif", ".tiff"),
        read=read_tiff,
        magic=TIFF_MAGIC,
        channels=tiff_channels,
    ),
]
