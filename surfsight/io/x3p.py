"""ISO 25178-72 X3P (XML 3-D surface profile) files: read and write.

An x3p file is a zip container holding ``main.xml`` (ISO 25178-72, formerly ISO 5436-2; schema
``http://www.opengps.eu/2008/ISO5436_2``), ``md5checksum.hex`` (the MD5 of ``main.xml``) and,
for binary-encoded data, ``bindata/data.bin`` plus an optional validity bit field
``bindata/valid.bin``. ``main.xml`` has four records:

* ``Record1``: revision, feature type (``SUR`` surface, ``PRF`` profile, ``PCL`` point cloud) and
  the axes ``CX``, ``CY``, ``CZ``. Each axis is incremental (``I``: coordinate =
  ``Offset + index * Increment``, not stored per point) or absolute (``A``: stored per point with
  ``DataType`` ``I`` int16, ``L`` int32, ``F`` float32 or ``D`` float64; coordinate =
  ``Offset + Increment * value``). The z axis is always absolute. Units are metres.
* ``Record2``: date, creator, instrument (manufacturer, model, serial, version), calibration
  date, probing system, comment.
* ``Record3``: ``MatrixDimension`` (``SizeX``, ``SizeY``, ``SizeZ``: ``SizeZ`` > 1 means several
  layers) or ``ListDimension`` (a point list), and the data: ``DataLink`` (binary, little-endian,
  one record per point holding the absolute axes in x, y, z order; x runs fastest, then y,
  then the layer) or ``DataList`` (one ``<Datum>`` per point, absolute-axis values separated by
  ``;``; an empty ``<Datum/>`` is a missing point).
* ``Record4``: the name of the checksum file.

See the openGPS description of the container (https://sourceforge.net/p/open-gps/mwiki/X3p/) and
``docs/formats/x3p.md`` for the variants handled and the quirks of real files.

What :func:`read` returns
-------------------------
* A :class:`~surfsight.surface.Surface` for a regular matrix (``spacing = (dy, dx)`` from the
  ``CY``/``CX`` increments, or from absolute x/y coordinates when they form a regular grid).
* A :class:`~surfsight.surface.Profile` for ``FeatureType`` ``PRF``.
* A :class:`~surfsight.surface.PointCloud` for point lists and irregular grids.

Invalid points (empty ``Datum``, a cleared bit in ``valid.bin``, a NaN in float data) are NaN.
With several layers (``SizeZ`` > 1) the channels are ``"layer 1"``, ``"layer 2"``, ...; ``channel``
selects the heights, the other layers go to ``layers`` under their channel names. An annotation
mask in the x3ptools convention (``bindata/mask.png`` with ``Record3/Mask`` colour definitions)
becomes ``layers["mask"]``, an integer label array described by ``metadata["mask_legend"]``.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import struct
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import PointCloud, Profile, Surface
from .formats import FileFormat
from .safety import SafeZip, check_grid, parse_xml

#: Binary and XML data types of ISO 25178-72 (little-endian in ``data.bin``).
DATA_TYPES = {"I": np.dtype("<i2"), "L": np.dtype("<i4"), "F": np.dtype("<f4"), "D": np.dtype("<f8")}
NAMESPACE = "http://www.opengps.eu/2008/ISO5436_2"
SCHEMA_LOCATION = f"{NAMESPACE} {NAMESPACE}/ISO5436_2.xsd"
#: Background colour x3ptools gives masks; label 0 when a file does not say otherwise.
MASK_BACKGROUND = "#cd7f32"
_PLACEHOLDERS = {"", "n/a", "na", "not available", "unknown", "none", "-"}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# ----------------------------------------------------------------------------------------------
# small XML helpers (children of the root are unqualified in the schema; tolerate qualified ones)
# ----------------------------------------------------------------------------------------------
def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: ET.Element | None, *names: str) -> ET.Element | None:
    """The first descendant along ``names`` (local names, case-sensitive), or ``None``."""
    for name in names:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _text(element: ET.Element | None, *names: str) -> str | None:
    found = _child(element, *names) if names else element
    if found is None or found.text is None:
        return None
    text = found.text.strip()
    return text or None


def _number(source: Path, element: ET.Element | None, name: str, where: str, default: float | None) -> float:
    text = _text(element, name)
    if text is None:
        if default is None:
            raise FormatError(source, f"main.xml: {where}/{name} is missing")
        return default
    try:
        value = float(text)
    except ValueError:
        raise FormatError(source, f"main.xml: {where}/{name} is not a number ({text[:40]!r})") from None
    if not math.isfinite(value):
        raise FormatError(source, f"main.xml: {where}/{name} is not finite ({text[:40]!r})")
    return value


def _count(source: Path, element: ET.Element | None, name: str, where: str) -> int:
    text = _text(element, name)
    if text is None:
        raise FormatError(source, f"main.xml: {where}/{name} is missing")
    if not re.fullmatch(r"[+]?\d{1,18}", text):
        raise FormatError(source, f"main.xml: {where}/{name} is not a whole number ({text[:40]!r})")
    return int(text)


# ----------------------------------------------------------------------------------------------
# the header
# ----------------------------------------------------------------------------------------------
class _Axis:
    """One axis of Record1: ``coordinate = offset + increment * stored`` (or ``* index``)."""

    def __init__(self, name: str, absolute: bool, dtype: np.dtype | None, increment: float, offset: float):
        self.name = name
        self.absolute = absolute
        self.dtype = dtype
        self.increment = increment
        self.offset = offset

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Stored values to metres; untouched (bit for bit) for increment 1 and offset 0."""
        values = values.astype(np.float64, copy=False)
        if self.increment != 1.0:
            values = values * self.increment
        if self.offset != 0.0:
            values = values + self.offset
        return values


def _parse_axis(source: Path, axes: ET.Element, name: str) -> _Axis:
    element = _child(axes, name)
    where = f"Record1/Axes/{name}"
    if element is None:
        raise FormatError(source, f"main.xml: {where} is missing")
    kind = (_text(element, "AxisType") or "").upper()
    if kind not in ("I", "A"):
        raise FormatError(source, f"main.xml: {where}/AxisType must be I or A, got {kind!r}")
    type_code = (_text(element, "DataType") or "").upper()
    dtype = DATA_TYPES.get(type_code)
    if kind == "A" and dtype is None:
        raise FormatError(source, f"main.xml: {where}/DataType must be one of I, L, F, D, got {type_code!r}")
    increment = _number(source, element, "Increment", where, None if kind == "I" else 1.0)
    offset = _number(source, element, "Offset", where, 0.0)
    if kind == "I" and not increment > 0:
        raise FormatError(source, f"main.xml: {where}/Increment must be a positive length, got {increment!r}")
    if kind == "A" and increment == 0:
        raise FormatError(source, f"main.xml: {where}/Increment is zero")
    return _Axis(name[1].lower(), kind == "A", dtype, increment, offset)


class _Header:
    def __init__(self, source: Path, root: ET.Element):
        if _local(root.tag) not in ("ISO5436_2", "ISO5436"):
            raise FormatError(source, f"main.xml: root element is <{_local(root.tag)}>, not <ISO5436_2>")
        record1 = _child(root, "Record1")
        record3 = _child(root, "Record3")
        if record1 is None or record3 is None:
            raise FormatError(source, "main.xml: Record1 or Record3 is missing")
        self.revision = _text(record1, "Revision")
        self.feature = (_text(record1, "FeatureType") or "SUR").upper()
        if self.feature not in ("SUR", "PRF", "PCL"):
            raise FormatError(source, f"main.xml: FeatureType must be SUR, PRF or PCL, got {self.feature!r}")
        axes = _child(record1, "Axes")
        if axes is None:
            raise FormatError(source, "main.xml: Record1/Axes is missing")
        self.x = _parse_axis(source, axes, "CX")
        self.y = _parse_axis(source, axes, "CY")
        self.z = _parse_axis(source, axes, "CZ")
        if not self.z.absolute:
            raise FormatError(source, "main.xml: the z axis must be absolute (AxisType A)")
        self.notes: list[str] = []
        if self.z.dtype is not None and self.z.dtype.kind == "f" and self.z.increment != 1.0:
            # openGPS adds only the offset to float z values: they are metres already, and the
            # increment is the quantisation step of integer types (x3ptools writes 1e-06 here
            # for data in metres).
            self.notes.append(f"CZ Increment {self.z.increment!r} ignored for floating-point z data "
                              "(stored in metres, as openGPS reads them)")
            self.z.increment = 1.0
        rotation = _child(axes, "Rotation")
        self.rotation = None
        if rotation is not None:
            try:
                self.rotation = [[float(_text(rotation, f"r{i}{j}") or ("1" if i == j else "0"))
                                  for j in (1, 2, 3)] for i in (1, 2, 3)]
            except ValueError:
                self.rotation = None
        matrix = _child(record3, "MatrixDimension")
        listing = _child(record3, "ListDimension")
        if matrix is not None:
            where = "Record3/MatrixDimension"
            self.shape = (_count(source, matrix, "SizeZ", where) if _child(matrix, "SizeZ") is not None else 1,
                          _count(source, matrix, "SizeY", where), _count(source, matrix, "SizeX", where))
            self.is_list = False
        elif listing is not None:
            text = (listing.text or "").strip()
            if not re.fullmatch(r"[+]?\d{1,18}", text):
                raise FormatError(source, f"main.xml: Record3/ListDimension is not a whole number ({text[:40]!r})")
            self.shape = (int(text),)
            self.is_list = True
        else:
            raise FormatError(source, "main.xml: Record3 has neither MatrixDimension nor ListDimension")
        self.absolute = [axis for axis in (self.x, self.y, self.z) if axis.absolute]
        self.record_dtype = np.dtype([(axis.name, axis.dtype) for axis in self.absolute])
        check_grid(source, self.shape, self.record_dtype.itemsize, None, what="main.xml")
        self.points = int(np.prod(self.shape))
        self.record3 = record3
        self.record2 = _child(root, "Record2")
        self.record4 = _child(root, "Record4")
        self.vendor = [(c.text or "").strip() for c in root if _local(c.tag) == "VendorSpecificID"]


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
def _main_member(zf: SafeZip, source: Path) -> str:
    name = zf.find("main.xml")
    if name is None:
        nested = [n for n in zf.names if n.lower().endswith("/main.xml") and n.count("/") == 1]
        if len(nested) == 1:
            name = nested[0]
    if name is None:
        raise FormatError(source, "zip has no main.xml: not an x3p file")
    return name


def _member(zf: SafeZip, base: str, link: str) -> str | None:
    link = link.strip().replace("\\", "/")
    while link.startswith("./"):
        link = link[2:]
    link = link.lstrip("/")
    wanted = (base + link).lower()
    for name in zf.names:
        if name.lower() == wanted:
            return name
    return zf.find(link)


def _member_size(zf: SafeZip, name: str) -> int | None:
    return zf.size(name) if name in zf.names else None


def _parse_main(data: bytes, source: Path) -> ET.Element:
    return parse_xml(data, source, what="main.xml")


def _md5_matches(expected: str | None, data: bytes) -> bool | None:
    if not expected:
        return None
    digest = expected.strip().split()[0].lower() if expected.strip() else ""
    if not re.fullmatch(r"[0-9a-f]{32}", digest):
        return False
    return hashlib.md5(data).hexdigest() == digest


def _read_binary(zf: SafeZip, base: str, header: _Header, source: Path, notes: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    link = _child(header.record3, "DataLink")
    point_link = _text(link, "PointDataLink")
    if point_link is None:
        raise FormatError(source, "main.xml: Record3/DataLink has no PointDataLink")
    name = _member(zf, base, point_link)
    if name is None:
        raise FormatError(source, f"zip has no member {point_link!r} (the point data main.xml links to)")
    needed = header.points * header.record_dtype.itemsize
    size = _member_size(zf, name)
    check_grid(source, header.shape, header.record_dtype.itemsize, size, what=point_link)
    data = zf.read(name, limit=max(size or 0, needed))
    check_grid(source, header.shape, header.record_dtype.itemsize, len(data), what=point_link)
    if len(data) > needed:
        notes.append(f"{point_link} has {len(data) - needed} bytes more than main.xml describes; ignored")
    if _md5_matches(_text(link, "MD5ChecksumPointData"), data) is False:
        notes.append(f"MD5 checksum of {point_link} does not match main.xml")
    records = np.frombuffer(data, dtype=header.record_dtype, count=header.points)
    valid = None
    valid_link = _text(link, "ValidPointsLink")
    if valid_link is not None:
        valid_name = _member(zf, base, valid_link)
        if valid_name is None:
            notes.append(f"validity file {valid_link!r} named in main.xml is missing; NaN marks invalid points")
        else:
            bits_needed = (header.points + 7) // 8
            vsize = _member_size(zf, valid_name) or 0
            if vsize < bits_needed:
                raise FormatError(source, f"{valid_link}: {vsize} bytes, {bits_needed} needed for "
                                          f"{header.points} points: truncated")
            vdata = zf.read(valid_name, limit=max(vsize, bits_needed))
            if _md5_matches(_text(link, "MD5ChecksumValidPoints"), vdata) is False:
                notes.append(f"MD5 checksum of {valid_link} does not match main.xml")
            bits = np.frombuffer(vdata, dtype=np.uint8, count=bits_needed)
            valid = np.unpackbits(bits, bitorder="little", count=header.points).astype(bool)
    columns = np.empty((header.points, len(header.absolute)), dtype=np.float64)
    for k, axis in enumerate(header.absolute):
        columns[:, k] = axis.scale(records[axis.name])
    return columns, valid


def _read_datalist(header: _Header, source: Path) -> np.ndarray:
    datalist = _child(header.record3, "DataList")
    texts = [d.text for d in datalist if _local(d.tag) == "Datum"]  # type: ignore[union-attr]
    if len(texts) != header.points:
        raise FormatError(source, f"main.xml: DataList has {len(texts)} Datum entries, "
                                  f"Record3 claims {header.points} points: truncated or corrupt")
    fields = len(header.absolute)
    raw = np.full((header.points, fields), np.nan)
    for i, text in enumerate(texts):
        if text is None or not text.strip():
            continue
        parts = text.split(";")
        if len(parts) != fields:
            raise FormatError(source, f"main.xml: Datum {i} has {len(parts)} values, the axes need {fields}")
        try:
            raw[i] = [float(p) if p.strip() else math.nan for p in parts]
        except ValueError:
            raise FormatError(source, f"main.xml: Datum {i} is not numeric ({text.strip()[:40]!r})") from None
    for k, axis in enumerate(header.absolute):
        if axis.dtype is not None and axis.dtype.kind == "i":
            info = np.iinfo(axis.dtype)
            column = raw[:, k]
            finite = column[np.isfinite(column)]
            if finite.size and (finite.min() < info.min or finite.max() > info.max or np.any(finite != np.round(finite))):
                raise FormatError(source, f"main.xml: {axis.name} values do not fit DataType {axis.dtype}")
        elif axis.dtype is not None and axis.dtype.itemsize == 4:
            raw[:, k] = raw[:, k].astype(np.float32)  # the declared precision, as a binary file would hold it
        raw[:, k] = axis.scale(raw[:, k])
    return raw


def _axis_values(header: _Header, axis: _Axis, columns: np.ndarray) -> np.ndarray:
    """Coordinates of every point along ``axis`` (flat, file order), built only when needed."""
    if axis.absolute:
        return columns[:, [a.name for a in header.absolute].index(axis.name)]
    if header.is_list:
        index = np.arange(header.points, dtype=np.float64)
    else:
        nz, ny, nx = header.shape
        along = np.arange(nx if axis is header.x else ny, dtype=np.float64)
        shape = (1, 1, nx) if axis is header.x else (1, ny, 1)
        index = np.broadcast_to(along.reshape(shape), header.shape).reshape(-1)
    return axis.offset + index * axis.increment


def _heights(header: _Header, columns: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """z of every point (flat, file order, contiguous), NaN where invalid."""
    z = np.ascontiguousarray(columns[:, -1])  # z is the last absolute axis; a view when alone
    z[~valid] = np.nan
    return z


def _regular(coords: np.ndarray, axis: int, dtype: np.dtype | None) -> tuple[float, float] | None:
    """``(start, step)`` when ``coords`` (layers, rows, cols) vary only along ``axis`` (2 = x
    columns, 1 = y rows) and evenly; ``None`` for an irregular grid."""
    other = tuple(a for a in (0, 1, 2) if a != axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = np.nanmean(coords, axis=other)
    index = np.arange(reference.size, dtype=np.float64)
    known = np.isfinite(reference)
    if known.sum() == 0:
        return None
    first, last = np.flatnonzero(known)[[0, -1]]
    if first == last:
        return float(reference[first]), math.nan
    step = (reference[last] - reference[first]) / (last - first)
    if not step > 0:
        return None
    start = reference[first] - first * step
    shape = [1, 1, 1]
    shape[axis] = reference.size
    expected = (start + index * step).reshape(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        deviation = np.nanmax(np.abs(coords - expected))
        magnitude = np.nanmax(np.abs(coords))
    eps = np.finfo(dtype).eps if dtype is not None and dtype.kind == "f" else np.finfo(np.float64).eps
    if deviation > 1e-6 * step + 8 * eps * magnitude:
        return None
    return float(start), float(step)


def _read_mask(zf: SafeZip, base: str, header: _Header, grid: tuple[int, int], source: Path,
               notes: list[str]) -> tuple[np.ndarray, list[dict]] | None:
    """The x3ptools annotation mask: ``bindata/mask.png`` coloured per ``Record3/Mask``."""
    definition = _child(header.record3, "Mask")
    name = _member(zf, base, "bindata/mask.png")
    if name is None:
        pngs = [n for n in zf.names if n.lower().endswith(".png")]
        name = pngs[0] if len(pngs) == 1 else None
    if name is None:
        if definition is not None:
            notes.append("Record3/Mask is defined but the zip has no mask image; mask ignored")
        return None
    try:
        from PIL import Image

        image = Image.open(io.BytesIO(zf.read(name)))
        if image.size != (grid[1], grid[0]):
            notes.append(f"mask image {name!r} is {image.size[0]}x{image.size[1]}, the data "
                         f"{grid[1]}x{grid[0]}; mask ignored")
            return None
        rgba = np.asarray(image.convert("RGBA"))
    except FormatError:
        raise
    except Exception as exc:  # Pillow raises many types for corrupt images
        notes.append(f"mask image {name!r} cannot be decoded ({type(exc).__name__}); mask ignored")
        return None
    background = _colour(_text(definition, "Background")) or MASK_BACKGROUND
    codes = (rgba[..., 0].astype(np.int64) << 16) | (rgba[..., 1].astype(np.int64) << 8) | rgba[..., 2]
    codes[rgba[..., 3] == 0] = int(background[1:], 16)
    legend = [{"value": 0, "color": background, "annotation": "background"}]
    seen = {background: 0}
    for element in (_child(definition, "Annotations") or []):
        colour = _colour(element.get("color"))
        label = (element.text or "").strip() or None
        if colour is None:
            continue
        if colour in seen:
            entry = legend[seen[colour]]
            if entry["annotation"] is None and label:
                entry["annotation"] = label
            continue
        seen[colour] = len(legend)
        legend.append({"value": len(legend), "color": colour, "annotation": label})
    present = np.unique(codes)
    for code in present:
        colour = f"#{int(code):06x}"
        if colour not in seen:
            seen[colour] = len(legend)
            legend.append({"value": len(legend), "color": colour, "annotation": None})
    lookup_codes = np.array([int(e["color"][1:], 16) for e in legend], dtype=np.int64)
    order = np.argsort(lookup_codes)
    positions = np.searchsorted(lookup_codes[order], codes)
    dtype = np.uint8 if len(legend) <= 256 else np.uint16
    labels = order[positions].astype(dtype)
    return labels, legend


def _colour(text: str | None) -> str | None:
    if not text:
        return None
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?", text.strip())
    return f"#{match.group(1).lower()}" if match else None


def _record2(record2: ET.Element | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if record2 is None:
        return meta

    def known(value: str | None) -> str | None:
        return None if value is None or value.strip().lower() in _PLACEHOLDERS else value.strip()

    for key, tag in (("date", "Date"), ("creator", "Creator"), ("calibration_date", "CalibrationDate"),
                     ("comment", "Comment")):
        value = known(_text(record2, tag))
        if value:
            meta[key] = value
    details = {key: known(_text(record2, "Instrument", tag))
               for key, tag in (("manufacturer", "Manufacturer"), ("model", "Model"),
                                ("serial", "Serial"), ("version", "Version"))}
    details = {k: v for k, v in details.items() if v}
    if details:
        meta["instrument_details"] = details
    instrument = _instrument_string(details)
    if instrument:
        meta["instrument"] = instrument
    probe = {key: known(_text(record2, "ProbingSystem", tag))
             for key, tag in (("type", "Type"), ("identification", "Identification"))}
    probe = {k: v for k, v in probe.items() if v}
    if probe:
        meta["probing_system"] = probe
    return meta


def _instrument_string(details: dict[str, str]) -> str | None:
    """``"Model (Manufacturer, version V)"``, the form SurfaceTopography reports."""
    model, maker, version = details.get("model"), details.get("manufacturer"), details.get("version")
    if not model and not maker:
        return None
    extra = [maker] if model and maker else []
    if version:
        extra.append(f"version {version}")
    return (model or maker) + (f" ({', '.join(extra)})" if extra else "")  # type: ignore[operator]


def _channel_names(header: _Header) -> list[str]:
    layers = 1 if header.is_list else header.shape[0]
    return ["height"] if layers == 1 else [f"layer {k + 1}" for k in range(layers)]


def _select(names: list[str], channel: str | None, source: Path) -> int:
    if channel is None:
        return 0
    wanted = str(channel).strip().lower()
    for k, name in enumerate(names):
        if name == wanted or (wanted.isdigit() and int(wanted) == k + 1 and len(names) > 1):
            return k
    if wanted in ("height", "z") and names:
        return 0
    raise FormatError(source, f"no channel {channel!r}; this file has {', '.join(names)}")


def read(path: Path | str, channel: str | None = None, spacing: Any = None) -> Surface | Profile | PointCloud:
    """Read an ISO 25178-72 x3p file.

    Parameters
    ----------
    path
        The ``.x3p`` file (a zip; members inside one sub-folder and ``__MACOSX`` junk are fine).
    channel
        ``"layer N"`` for files with several layers (``SizeZ`` > 1); ``None`` reads the first.
    spacing
        Ignored: x3p stores its spacing.

    Returns
    -------
    Surface, Profile or PointCloud
        Heights in metres with NaN for invalid points. ``metadata`` holds ``instrument``,
        ``date``, ``channel``, ``channels``, ``original_units`` (``"m"``), the axis offsets, the
        rotation if given, and ``warnings`` (e.g. an MD5 mismatch) when there are any.
    """
    source = Path(path)
    with SafeZip(source) as zf:
        main = _main_member(zf, source)
        base = main[: -len("main.xml")]
        xml_bytes = zf.read(main)
        header = _Header(source, _parse_main(xml_bytes, source))
        notes: list[str] = list(header.notes)
        _check_main_md5(zf, base, header, xml_bytes, notes)
        if _child(header.record3, "DataLink") is not None:
            columns, valid_bits = _read_binary(zf, base, header, source, notes)
        elif _child(header.record3, "DataList") is not None:
            columns, valid_bits = _read_datalist(header, source), None
        else:
            raise FormatError(source, "main.xml: Record3 has neither DataLink nor DataList")
        z = _heights(header, columns, _valid(columns, valid_bits))
        names = _channel_names(header)
        index = _select(names, channel, source)
        meta = _metadata(header, names, index, notes)
        meta.update(_record2(header.record2))
        if header.is_list or header.feature == "PCL":
            x, y = _axis_values(header, header.x, columns), _axis_values(header, header.y, columns)
            return _as_list(header, x, y, z, meta)
        nz, ny, nx = header.shape
        grid_z = z.reshape(nz, ny, nx)
        x_regular = (header.x.offset, header.x.increment) if not header.x.absolute else \
            _regular(_axis_values(header, header.x, columns).reshape(nz, ny, nx), 2, header.x.dtype)
        y_regular = (header.y.offset, header.y.increment) if not header.y.absolute else \
            _regular(_axis_values(header, header.y, columns).reshape(nz, ny, nx), 1, header.y.dtype)
        if header.feature == "PRF" and ny == 1 and x_regular is not None and not math.isnan(x_regular[1]):
            meta["x_offset"] = x_regular[0]
            layers = {names[k]: grid_z[k, 0] for k in range(nz) if k != index}
            return Profile(grid_z[index, 0], x_regular[1], layers, _finish(meta))
        if x_regular is None or y_regular is None or (math.isnan(x_regular[1]) and math.isnan(y_regular[1])):
            meta["grid"] = "irregular"
            x, y = _axis_values(header, header.x, columns), _axis_values(header, header.y, columns)
            points = np.column_stack([x.reshape(nz, -1)[index], y.reshape(nz, -1)[index], grid_z[index].reshape(-1)])
            return PointCloud(points, _finish(meta))
        dx = x_regular[1] if not math.isnan(x_regular[1]) else y_regular[1]
        dy = y_regular[1] if not math.isnan(y_regular[1]) else dx
        meta["x_offset"], meta["y_offset"] = x_regular[0], y_regular[0]
        layers = {names[k]: grid_z[k] for k in range(nz) if k != index}
        mask = _read_mask(zf, base, header, (ny, nx), source, notes)
        if mask is not None:
            layers["mask"], meta["mask_legend"] = mask
        return Surface(grid_z[index], (dy, dx), layers, _finish(meta))


def _valid(columns: np.ndarray, valid_bits: np.ndarray | None) -> np.ndarray:
    valid = np.isfinite(columns[:, -1])
    if valid_bits is not None:
        valid &= valid_bits
    return valid


def _check_main_md5(zf: SafeZip, base: str, header: _Header, xml_bytes: bytes, notes: list[str]) -> None:
    checksum_name = _text(header.record4, "ChecksumFile") or "md5checksum.hex"
    member = _member(zf, base, checksum_name)
    if member is None:
        notes.append(f"no checksum file {checksum_name!r}; main.xml not verified")
        return
    text = zf.read(member, limit=4096).decode("ascii", "replace")
    if _md5_matches(text, xml_bytes) is False:
        notes.append(f"MD5 checksum in {checksum_name} does not match main.xml")


def _metadata(header: _Header, names: list[str], index: int, notes: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "format": "x3p",
        "original_units": "m",
        "channel": names[index],
        "channels": list(names),
        "feature_type": header.feature,
        "z_offset": header.z.offset,
        "warnings": notes,
    }
    if header.revision:
        meta["revision"] = header.revision
    if header.rotation is not None:
        meta["rotation"] = header.rotation
    if header.vendor:
        meta["vendor_extensions"] = header.vendor
    return meta


def _as_list(header: _Header, x: np.ndarray, y: np.ndarray, z: np.ndarray, meta: dict) -> PointCloud | Profile:
    """A point list: a profile when it is one with evenly spaced x, else a point cloud."""
    if header.feature == "PRF" and header.is_list:
        regular = _regular(x.reshape(1, 1, -1), 2, header.x.dtype)
        if regular is not None and not math.isnan(regular[1]):
            meta["x_offset"] = regular[0]
            return Profile(z.copy(), regular[1], {}, _finish(meta))
    return PointCloud(np.column_stack([x, y, z]), _finish(meta))


def _finish(meta: dict) -> dict:
    if not meta.get("warnings"):
        meta.pop("warnings", None)
    return meta


def channels(path: Path | str) -> list[str]:
    """Channel names of an x3p file, from ``main.xml`` only."""
    source = Path(path)
    with SafeZip(source) as zf:
        return _channel_names(_Header(source, _parse_main(zf.read(_main_member(zf, source)), source)))


# ----------------------------------------------------------------------------------------------
# detection
# ----------------------------------------------------------------------------------------------
def sniff(head: bytes, path: Path | None = None) -> bool:
    """A zip whose members include ``main.xml`` at the top or inside one folder.

    Other zip-based formats (Sensofar ``.plux``, NumPy ``.npz``, Keyence ``.zon``) have no
    ``main.xml``. Reads the zip directory when ``path`` is given, else the local headers in
    ``head``. Never raises.
    """
    try:
        if not head.startswith(b"PK\x03\x04"):
            return False
        if path is not None:
            try:
                with zipfile.ZipFile(path) as archive:
                    return any(_is_main(n) for n in archive.namelist())
            except Exception:
                pass  # truncated: fall back to the local headers at the start
        offset = 0
        while offset + 30 <= len(head) and head[offset:offset + 4] == b"PK\x03\x04":
            flags, = struct.unpack_from("<H", head, offset + 6)
            compressed, = struct.unpack_from("<I", head, offset + 18)
            name_len, extra_len = struct.unpack_from("<HH", head, offset + 26)
            name = head[offset + 30:offset + 30 + name_len].decode("latin-1")
            if _is_main(name):
                return True
            if flags & 0x08:
                break  # sizes follow the data: cannot skip ahead
            offset += 30 + name_len + extra_len + compressed
        return False
    except Exception:
        return False


def _is_main(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return parts[-1].lower() == "main.xml" and len(parts) <= 2 and parts[0] != "__MACOSX"


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
def _sub(parent: ET.Element, tag: str, text: Any = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _clean(str(text))
    return element


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold."""
    return re.sub(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "", text)


def _float(value: float) -> str:
    return repr(float(value))


def _axis(parent: ET.Element, name: str, kind: str, increment: float | None, offset: float) -> None:
    element = _sub(parent, name)
    _sub(element, "AxisType", kind)
    _sub(element, "DataType", "D")
    if increment is not None:
        _sub(element, "Increment", _float(increment))
    _sub(element, "Offset", _float(offset))


def _meta_float(meta: dict, key: str) -> float:
    try:
        value = float(meta.get(key, 0.0))
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def _write_record2(root: ET.Element, meta: dict) -> None:
    record2 = _sub(root, "Record2")
    _sub(record2, "Date", _date(meta.get("date")))
    if meta.get("creator"):
        _sub(record2, "Creator", meta["creator"])
    details = meta.get("instrument_details") if isinstance(meta.get("instrument_details"), dict) else {}
    instrument = _sub(record2, "Instrument")
    model = details.get("model") or meta.get("instrument") or "unknown"
    for tag, value in (("Manufacturer", details.get("manufacturer")), ("Model", model),
                       ("Serial", details.get("serial")), ("Version", details.get("version"))):
        _sub(instrument, tag, value or "unknown")
    _sub(record2, "CalibrationDate", _date(meta.get("calibration_date")))
    probe = meta.get("probing_system") if isinstance(meta.get("probing_system"), dict) else {}
    probing = _sub(record2, "ProbingSystem")
    kind = probe.get("type") if probe.get("type") in ("Contacting", "NonContacting", "Software") else "Software"
    _sub(probing, "Type", kind)
    _sub(probing, "Identification", probe.get("identification") or "unknown")
    _sub(record2, "Comment", meta.get("comment") or "written by surfsight")


def _date(value: Any) -> str:
    """An xsd:dateTime; the 1970 epoch stands for an unknown date (as Mountains Map writes)."""
    text = str(value).strip() if value else ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", text):
        return text
    return "1970-01-01T00:00:00"


def _mask_png(mask: np.ndarray, legend: Any, source: Path) -> tuple[bytes, list[dict]] | None:
    values = np.asarray(mask)
    if values.dtype == bool:
        values = values.astype(np.uint8)
    if values.dtype.kind not in "ui" or values.size == 0 or values.min() < 0 or values.max() > 4095:
        warnings.warn(f"{source}: x3p mask layer must hold labels 0..4095; not written", stacklevel=3)
        return None
    given = {}
    if isinstance(legend, list):
        for entry in legend:
            if isinstance(entry, dict) and _colour(entry.get("color")) is not None:
                try:
                    given[int(entry["value"])] = entry
                except (KeyError, TypeError, ValueError):
                    continue
    top = max([int(values.max())] + [v for v in given if 0 <= v <= 4095])
    palette: list[dict] = []
    used: set[str] = set()
    for value in range(top + 1):
        entry = given.get(value, {})
        colour = _colour(entry.get("color"))
        if colour is None or colour in used:
            colour = MASK_BACKGROUND if value == 0 and MASK_BACKGROUND not in used else _palette(value, used)
        used.add(colour)
        palette.append({"value": value, "color": colour,
                        "annotation": entry.get("annotation") or ("background" if value == 0 else f"label {value}")})
    rgb = np.array([[int(e["color"][i:i + 2], 16) for i in (1, 3, 5)] for e in palette], dtype=np.uint8)
    from PIL import Image

    buffer = io.BytesIO()
    image = rgb[values.reshape(values.shape[0] if values.ndim == 2 else 1, -1)]
    Image.fromarray(image, "RGB").save(buffer, format="PNG")
    return buffer.getvalue(), palette


def _palette(value: int, used: set[str]) -> str:
    """A distinct, deterministic colour for label ``value``."""
    seed = value
    while True:
        h = hashlib.md5(f"surfsight mask {seed}".encode()).hexdigest()[:6]
        colour = f"#{h}"
        if colour not in used:
            return colour
        seed += 7919


def write(obj: Surface | Profile | PointCloud, path: Path | str) -> None:
    """Write ``obj`` as an ISO 25178-72 x3p file.

    Heights are float64 (``DataType`` D, ``Increment`` 1, ``Offset`` 0) in ``bindata/data.bin``,
    x fastest, so :func:`read` returns them bit for bit. Invalid points are written both ways the
    openGPS library reads them: as NaN in ``data.bin`` and as cleared bits in
    ``bindata/valid.bin`` (with its MD5 in ``main.xml``). ``md5checksum.hex`` holds the MD5 of
    ``main.xml`` as ``"<hex> *main.xml"``.

    Layers named ``"layer N"`` (float, same grid) become further layers (``SizeZ``); a
    ``"mask"`` layer of integer labels becomes ``bindata/mask.png`` with ``Record3/Mask``
    colours (the x3ptools convention, outside the ISO schema). Other layers cannot be stored
    in x3p: a warning names them.
    """
    target = Path(path)
    meta = dict(getattr(obj, "metadata", {}) or {})
    root = ET.Element("p:ISO5436_2", {"xmlns:p": NAMESPACE,
                                      "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                      "xsi:schemaLocation": SCHEMA_LOCATION})
    record1 = _sub(root, "Record1")
    _sub(record1, "Revision", "ISO5436 - 2000")
    members: list[tuple[str, bytes]] = []
    mask_png = None
    if isinstance(obj, PointCloud):
        _sub(record1, "FeatureType", "PCL")
        axes = _sub(record1, "Axes")
        for name in ("CX", "CY", "CZ"):
            _axis(axes, name, "A", 1.0, 0.0)
        stack = np.ascontiguousarray(obj.points, dtype="<f8")
        invalid = np.isnan(stack).any(axis=1)
        dims = None
    elif isinstance(obj, (Surface, Profile)):
        is_profile = isinstance(obj, Profile)
        _sub(record1, "FeatureType", "PRF" if is_profile else "SUR")
        axes = _sub(record1, "Axes")
        dx = obj.dx
        dy = obj.dx if is_profile else obj.dy
        _axis(axes, "CX", "I", dx, _meta_float(meta, "x_offset"))
        _axis(axes, "CY", "I", dy, 0.0 if is_profile else _meta_float(meta, "y_offset"))
        _axis(axes, "CZ", "A", 1.0, 0.0)
        heights = obj.heights if not is_profile else obj.heights[None, :]
        extra, skipped = [], []
        for name, layer in obj.layers.items():
            match = re.fullmatch(r"layer (\d+)", name)
            if match and np.asarray(layer).dtype.kind == "f":
                extra.append((int(match.group(1)), np.asarray(layer, dtype=np.float64)))
            elif name == "mask":
                mask_png = _mask_png(np.asarray(layer), meta.get("mask_legend"), target)
            else:
                skipped.append(name)
        if skipped:
            warnings.warn(f"{target}: x3p cannot hold layers {skipped}; they are not written", stacklevel=2)
        grids = [heights] + [layer.reshape(heights.shape) for _, layer in sorted(extra, key=lambda e: e[0])]
        stack = np.ascontiguousarray(np.stack(grids), dtype="<f8")
        invalid = np.isnan(stack).reshape(-1)
        dims = stack.shape
    else:
        raise FormatError(target, f"x3p writes surfaces, profiles and point clouds, not {type(obj).__name__}")
    data = stack.tobytes()
    record3 = _sub(root, "Record3")
    if dims is None:
        _sub(record3, "ListDimension", len(stack))
    else:
        matrix = _sub(record3, "MatrixDimension")
        _sub(matrix, "SizeX", dims[2])
        _sub(matrix, "SizeY", dims[1])
        _sub(matrix, "SizeZ", dims[0])
    link = _sub(record3, "DataLink")
    _sub(link, "PointDataLink", "bindata/data.bin")
    _sub(link, "MD5ChecksumPointData", hashlib.md5(data).hexdigest())
    members.append(("bindata/data.bin", data))
    if invalid.any():
        bits = np.packbits(~invalid, bitorder="little").tobytes()
        _sub(link, "ValidPointsLink", "bindata/valid.bin")
        _sub(link, "MD5ChecksumValidPoints", hashlib.md5(bits).hexdigest())
        members.append(("bindata/valid.bin", bits))
    if mask_png is not None:
        png, palette = mask_png
        mask = _sub(record3, "Mask")
        _sub(mask, "Background", palette[0]["color"])
        annotations = _sub(mask, "Annotations")
        for entry in palette[1:]:
            _sub(annotations, "Annotation", entry["annotation"], color=entry["color"])
        members.append(("bindata/mask.png", png))
    _write_record2(root, meta)
    # Record2 must come before Record3 in the schema: reorder
    children = list(root)
    root[:] = [c for c in children if c.tag == "Record1"] + [c for c in children if c.tag == "Record2"] + \
              [c for c in children if c.tag == "Record3"]
    record4 = _sub(root, "Record4")
    _sub(record4, "ChecksumFile", "md5checksum.hex")
    ET.indent(root, space="  ")
    xml_bytes = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"
    checksum = f"{hashlib.md5(xml_bytes).hexdigest()} *main.xml\n".encode("ascii")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in [("main.xml", xml_bytes), *members, ("md5checksum.hex", checksum)]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, payload)


FORMATS = [
    FileFormat(
        name="x3p",
        description="ISO 25178-72 XML 3-D surface profile (x3p)",
        suffixes=(".x3p",),
        read=read,
        write=write,
        magic=(b"PK\x03\x04",),
        sniff=sniff,
        channels=channels,
    )
]
