"""Zygo interferometer files: binary MetroPro ``.dat`` and the HDF5-based ``.datx``.

MetroPro ``.dat``
-----------------
Layout as described in Zygo's *MetroPro Reference Guide* (OMP-0347, section "Data file
format"): a big-endian header, then the intensity maps, then the connected phase map.

* magic ``0x881B036F`` / ``0x881B0370`` / ``0x881B0371`` goes with header format 1 / 2 / 3 and
  a header of 834 / 834 / 4096 bytes;
* ``ac_*`` fields describe ``n_buckets`` intensity frames of ``ac_width x ac_height`` unsigned
  16-bit counts (``ac_n_bytes = 2 * buckets * width * height``);
* ``cn_*`` fields describe the connected phase map of signed 32-bit counts
  (``cn_n_bytes = 4 * width * height``); values ``>= 2147483640`` mark invalid points;
* the phase counts become a height (metres) through

  ``z = counts * S * W * O / R``

  with ``S`` the interferometric scale factor (waves per fringe; 0.5 for a reflective surface
  seen in double pass), ``W`` the wavelength in metres, ``O`` the obliquity factor (Mirau
  correction, 1.0 when none) and ``R`` the number of counts per fringe given by ``phase_res``:
  0 -> 4096 (low), 1 -> 32768 (high), 2 -> 131072 (super resolution). A ``data sign`` of 1
  inverts the heights;
* ``lateral_res`` is the size of a camera pixel on the part, metres (0 = unknown).

``.datx``
---------
An HDF5 container (Zygo Mx). A ``/MetaData`` table of ``(Source, Link, Destination)`` strings
links ``Root -> Measurement -> Surface -> Path`` to the height dataset (typically
``/Data/Surface/{guid}``; older files keep it at ``/Measurement/Surface``). The dataset holds
the heights row by row (rows along y, columns along x) with attributes

* ``Unit``: the unit of the stored values (``NanoMeters``, ``MicroMeters``, ``Meters`` ... or
  ``Fringes``, then scaled by ``Interferometric Scale Factor * Wavelength * Obliquity Factor``);
* ``No Data``: the value marking invalid points;
* ``X Converter`` / ``Y Converter`` / ``Z Converter``: compound ``(Category, BaseUnit,
  Parameters)``; for the lateral ones ``Parameters[1]`` is the lateral resolution, metres per
  pixel.

Open descriptions of the layout: the DATX readers of SurfaceTopography (``DATX.py``), prysm
(``io.py``) and Gwyddion (``datxfile.c``). No real ``.datx`` file is available to the project;
tests build files with h5py that follow this layout.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Surface
from .binary import Cursor
from .formats import FileFormat
from .safety import check_grid, read_all

# --------------------------------------------------------------------------------------------
# MetroPro .dat
# --------------------------------------------------------------------------------------------

#: magic -> (header format, header size in bytes)
METROPRO_MAGICS = {
    b"\x88\x1b\x03\x6f": (1, 834),
    b"\x88\x1b\x03\x70": (2, 834),
    b"\x88\x1b\x03\x71": (3, 4096),
}
#: ``phase_res`` flag -> counts per fringe ``R`` (MetroPro Reference Guide: low, high, super).
PHASE_RESOLUTION = {0: 4096, 1: 32768, 2: 131072}
#: Phase counts at or above this value mark an invalid point.
INVALID_PHASE = 2147483640
#: Intensity counts at or above this value mark an invalid point (as Gwyddion's metropro.c).
INVALID_INTENSITY = 65412

_SOFTWARE = {1: "MetroPro", 2: "MetroBasic", 3: "d-bug"}


def _metropro_header(data: bytes, path: Path) -> dict[str, Any]:
    """Parse the fields of the MetroPro header that surfsight uses (big-endian)."""
    c = Cursor(data, path, ">")
    h: dict[str, Any] = {}
    magic = c.take(4, "magic number")
    if magic not in METROPRO_MAGICS:
        raise FormatError(path, f"not a MetroPro file (magic {magic.hex()})")
    expected_format, expected_size = METROPRO_MAGICS[magic]
    h["header_format"] = c.one("H", "header format")
    h["header_size"] = c.one("I", "header size")
    if h["header_format"] != expected_format or h["header_size"] != expected_size:
        raise FormatError(path, f"MetroPro magic {magic.hex()} needs header format {expected_format} of "
                                f"{expected_size} bytes, the header says format {h['header_format']} of "
                                f"{h['header_size']} bytes: corrupt")
    if len(data) < h["header_size"]:
        raise FormatError(path, f"truncated: the {h['header_size']}-byte header is cut at byte {len(data)}")
    h["software_type"] = c.one("h", "software type")
    h["software_date"] = c.string(30, "software date")
    h["version"] = c.unpack("3h", "software version")
    h["ac_org_x"], h["ac_org_y"], h["ac_width"], h["ac_height"] = c.unpack("hhHH", "intensity origin and size")
    h["ac_n_buckets"] = c.one("H", "intensity bucket count")
    h["ac_range"] = c.one("h", "intensity range")
    h["ac_n_bytes"] = c.one("I", "intensity byte count")
    h["cn_org_x"], h["cn_org_y"], h["cn_width"], h["cn_height"] = c.unpack("hhHH", "phase origin and size")
    h["cn_n_bytes"] = c.one("I", "phase byte count")
    h["time_stamp"] = c.one("i", "time stamp")
    h["comment"] = c.string(82, "comment")
    h["source"] = c.one("h", "source")
    (h["intf_scale_factor"], h["wavelength_in"], h["num_aperture"], h["obliquity_factor"],
     h["magnification"], h["lateral_res"]) = c.unpack("6f", "optical parameters")
    c.seek(218, "phase resolution")
    h["phase_res"] = c.one("h", "phase resolution")
    c.seek(232, "data sign")
    h["sign"] = c.one("h", "data sign")
    h["camera_width"], h["camera_height"] = c.unpack("hh", "camera size")
    h["sys_type"], h["sys_board"] = c.unpack("hh", "system type")
    h["sys_serial"] = c.one("H", "system serial number")
    h["inst_id"] = c.one("h", "instrument id")
    h["obj_name"] = c.string(12, "objective name")
    h["part_name"] = c.string(40, "part name")
    return h


def _metropro_layout(h: dict[str, Any], size: int, path: Path) -> tuple[int, int]:
    """Offsets of the intensity and phase blocks, after checking every claimed size."""
    buckets, aw, ah = h["ac_n_buckets"], h["ac_width"], h["ac_height"]
    if aw * ah == 0:
        buckets = 0
    if h["ac_n_bytes"] != 2 * buckets * aw * ah:
        raise FormatError(path, f"intensity byte count {h['ac_n_bytes']} does not match {buckets} buckets of "
                                f"{aw}x{ah} 16-bit points: corrupt")
    cw, ch = h["cn_width"], h["cn_height"]
    if h["cn_n_bytes"] != 4 * cw * ch:
        raise FormatError(path, f"phase byte count {h['cn_n_bytes']} does not match {cw}x{ch} 32-bit points: corrupt")
    intensity_at = h["header_size"]
    phase_at = intensity_at + h["ac_n_bytes"]
    if buckets:
        check_grid(path, (buckets, ah, aw), 2, size - intensity_at, what="intensity data")
    if cw * ch:
        check_grid(path, (ch, cw), 4, size - phase_at, what="phase data")
    expected = phase_at + h["cn_n_bytes"]
    if size < expected:  # pragma: no cover - check_grid above already refuses this
        raise FormatError(path, f"truncated: needs {expected} bytes, has {size}")
    return intensity_at, phase_at


def metropro_height_scale(scale_factor: float, wavelength: float, obliquity: float, phase_res: int) -> float:
    """Metres per phase count, ``S * W * O / R`` (MetroPro Reference Guide, phase data).

    >>> metropro_height_scale(0.5, 570e-9, 1.0, 1)  # high resolution, R = 32768
    8.697509765625e-12
    """
    return scale_factor * wavelength * obliquity / PHASE_RESOLUTION[phase_res]


def read_metropro(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Zygo MetroPro ``.dat`` file: the connected phase map as heights in metres.

    Channels: ``"height"`` (default) and ``"intensity"`` (or ``"intensity 1"``, ... for several
    buckets; raw camera counts, not metres). Intensity frames that cover the phase map are
    added to ``layers`` cropped to it.
    """
    path = Path(path)
    data = read_all(path)
    h = _metropro_header(data, path)
    intensity_at, phase_at = _metropro_layout(h, len(data), path)
    buckets = h["ac_n_buckets"] if h["ac_width"] * h["ac_height"] else 0
    intensity_names = (["intensity"] if buckets == 1 else [f"intensity {i + 1}" for i in range(buckets)])
    has_phase = h["cn_width"] * h["cn_height"] > 0
    names = (["height"] if has_phase else []) + intensity_names
    if not names:
        raise FormatError(path, "MetroPro file holds neither phase nor intensity data")
    wanted = channel if channel is not None else names[0]
    if wanted not in names:
        raise FormatError(path, f"no channel {wanted!r}; this file has {', '.join(names)}")

    lateral = float(h["lateral_res"])
    if not (math.isfinite(lateral) and lateral > 0):
        if spacing is None:
            raise FormatError(path, f"lateral resolution is {lateral!r} (unknown); pass spacing=(dy, dx) in metres")
        step: Any = spacing
        lateral_known = False
    else:
        step = (lateral, lateral)
        lateral_known = True

    intensities = []
    if buckets:
        n = h["ac_width"] * h["ac_height"]
        raw = np.frombuffer(data, dtype=">u2", count=buckets * n, offset=intensity_at)
        for b in range(buckets):
            frame = raw[b * n:(b + 1) * n].reshape(h["ac_height"], h["ac_width"]).astype(np.float64)
            frame[frame >= INVALID_INTENSITY] = np.nan
            intensities.append(frame)

    meta = _metropro_metadata(h, names)
    meta["channel"] = wanted
    if not lateral_known:
        meta["spacing_from"] = "spacing argument (lateral resolution not in file)"
    if wanted != "height":
        frame = intensities[intensity_names.index(wanted)]
        meta["original_units"] = "intensity counts (not a height)"
        meta["quantity"] = "intensity"
        return Surface(frame, step, {}, meta)

    phase_res = h["phase_res"]
    if phase_res not in PHASE_RESOLUTION:
        raise FormatError(path, f"unknown phase resolution flag {phase_res} (MetroPro defines 0, 1, 2)")
    for key, label in (("intf_scale_factor", "interferometric scale factor"), ("wavelength_in", "wavelength"),
                       ("obliquity_factor", "obliquity factor")):
        value = float(h[key])
        if not (math.isfinite(value) and value > 0):
            raise FormatError(path, f"{label} is {value!r}; cannot convert phase to height")
    scale = metropro_height_scale(float(h["intf_scale_factor"]), float(h["wavelength_in"]),
                                  float(h["obliquity_factor"]), phase_res)
    if h["sign"]:
        scale = -scale
    counts = np.frombuffer(data, dtype=">i4", count=h["cn_width"] * h["cn_height"], offset=phase_at)
    counts = counts.reshape(h["cn_height"], h["cn_width"])
    heights = counts.astype(np.float64) * scale
    heights[counts >= INVALID_PHASE] = np.nan

    layers = {}
    dx0 = h["cn_org_x"] - h["ac_org_x"]
    dy0 = h["cn_org_y"] - h["ac_org_y"]
    for name, frame in zip(intensity_names, intensities):
        if (0 <= dx0 and 0 <= dy0 and dx0 + h["cn_width"] <= frame.shape[1]
                and dy0 + h["cn_height"] <= frame.shape[0]):
            layers[name] = frame[dy0:dy0 + h["cn_height"], dx0:dx0 + h["cn_width"]].copy()
    meta["original_units"] = f"phase counts, R = {PHASE_RESOLUTION[phase_res]} per fringe"
    meta["height_per_count_m"] = abs(scale)
    return Surface(heights, step, layers, meta)


def _metropro_metadata(h: dict[str, Any], names: list[str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"instrument": "Zygo", "channels": names}
    software = _SOFTWARE.get(h["software_type"], "MetroPro")
    meta["software"] = f"{software} {'.'.join(str(v) for v in h['version'])}"
    if h["time_stamp"] > 0:
        meta["date"] = _dt.datetime.fromtimestamp(h["time_stamp"], _dt.timezone.utc).isoformat()
    if h["obj_name"]:
        meta["objective"] = h["obj_name"]
    if h["part_name"]:
        meta["part"] = h["part_name"]
    if h["comment"]:
        meta["comment"] = h["comment"]
    if h["sys_serial"]:
        meta["serial"] = str(h["sys_serial"])
    meta["wavelength_m"] = float(h["wavelength_in"])
    meta["interferometric_scale_factor"] = float(h["intf_scale_factor"])
    meta["obliquity_factor"] = float(h["obliquity_factor"])
    meta["phase_resolution_flag"] = h["phase_res"]
    meta["counts_per_fringe"] = PHASE_RESOLUTION.get(h["phase_res"])
    meta["lateral_resolution_m"] = float(h["lateral_res"])
    meta["data_inverted"] = bool(h["sign"])
    meta["header_format"] = h["header_format"]
    return meta


def metropro_channels(path: Path) -> list[str]:
    data = read_all(path)
    h = _metropro_header(data, Path(path))
    buckets = h["ac_n_buckets"] if h["ac_width"] * h["ac_height"] else 0
    names = ["height"] if h["cn_width"] * h["cn_height"] else []
    return names + (["intensity"] if buckets == 1 else [f"intensity {i + 1}" for i in range(buckets)])


# --------------------------------------------------------------------------------------------
# .datx (HDF5)
# --------------------------------------------------------------------------------------------

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

#: DATX unit names -> metres per unit.
DATX_UNITS = {
    "meters": 1.0, "millimeters": 1e-3, "micrometers": 1e-6, "microns": 1e-6, "nanometers": 1e-9,
    "angstroms": 1e-10, "picometers": 1e-12, "m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "nm": 1e-9,
}


def _text(value: Any) -> str:
    """An HDF5 string attribute (bytes, str or a one-element array of either) as ``str``."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"expected one value, got {value.size}")
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _number(value: Any) -> float:
    """A numeric HDF5 attribute (scalar or one-element array) as ``float``."""
    array = np.asarray(value).reshape(-1)
    if array.size < 1:
        raise ValueError("empty attribute")
    return float(array[0])


def _converter(value: Any) -> tuple[str, str, np.ndarray]:
    """``(Category, BaseUnit, Parameters)`` from a DATX converter attribute."""
    record = np.asarray(value).reshape(-1)[0] if isinstance(value, np.ndarray) else value
    category, unit, params = record[0], record[1], record[2]
    return _text(category), _text(unit), np.asarray(params, dtype=np.float64).reshape(-1)


def _metadata_links(h5: Any) -> dict[str, dict[str, str]]:
    """The ``/MetaData`` link table as ``{source: {link: destination}}``."""
    links: dict[str, dict[str, str]] = {}
    table = h5.get("MetaData")
    if table is None or not hasattr(table, "shape") or table.ndim != 1 or table.shape[0] > 100_000:
        return links
    for row in table[()]:
        if len(row) < 3:
            continue
        source, link, dest = _text(row[0]), _text(row[1]), _text(row[2])
        links.setdefault(source, {})[link] = dest
    return links


def _dataset_path(h5: Any, links: dict[str, dict[str, str]], kind: str) -> str | None:
    """Where the ``kind`` ("Surface", "Intensity") dataset lives."""
    measurement = links.get("Root", {}).get("Measurement")
    if measurement is not None:
        node = links.get(measurement, {}).get(kind)
        if node is not None:
            target = links.get(node, {}).get("Path")
            if target and target in h5:
                return target
    for candidate in (f"/Measurement/{kind}", f"Measurement/{kind}"):
        if candidate in h5 and hasattr(h5[candidate], "shape"):
            return candidate
    group = h5.get(f"Data/{kind}")
    if group is not None and hasattr(group, "keys"):
        for key in sorted(group.keys()):
            if hasattr(group[key], "shape"):
                return f"/Data/{kind}/{key}"
    return None


def _load_2d(path: Path, dataset: Any, what: str) -> np.ndarray:
    """Read a 2-D numeric dataset after checking its claimed shape (nothing is read before)."""
    shape = tuple(int(n) for n in dataset.shape)
    if len(shape) != 2:
        raise FormatError(path, f"{what} dataset has shape {shape}, expected 2-D")
    if dataset.dtype.kind not in "iuf":
        raise FormatError(path, f"{what} dataset has non-numeric type {dataset.dtype}")
    check_grid(path, shape, dataset.dtype.itemsize, None, what=what)
    return np.asarray(dataset[()], dtype=np.float64)


def _datx_heights(path: Path, dataset: Any) -> tuple[np.ndarray, str, float]:
    """Heights in metres, the stored unit and the metres-per-unit factor."""
    attrs = dataset.attrs
    values = _load_2d(path, dataset, "surface")
    invalid = ~np.isfinite(values)
    if "No Data" in attrs:
        no_data = _number(attrs["No Data"])  # a NaN marker is already covered by ~isfinite
        if not math.isnan(no_data):
            invalid |= values == no_data
            if dataset.dtype.kind in "iu" and no_data >= INVALID_PHASE:
                invalid |= values >= no_data  # integer phase maps: everything from the marker up
    unit = _text(attrs["Unit"]) if "Unit" in attrs else ""
    if not unit and "Z Converter" in attrs:
        unit = _converter(attrs["Z Converter"])[1]
    key = unit.strip().lower()
    if key in DATX_UNITS:
        factor = DATX_UNITS[key]
    elif key in ("fringes", "waves"):
        wavelength = _number(attrs["Wavelength"]) if "Wavelength" in attrs else float("nan")
        scale = _number(attrs["Interferometric Scale Factor"]) if "Interferometric Scale Factor" in attrs else 1.0
        obliquity = _number(attrs["Obliquity Factor"]) if "Obliquity Factor" in attrs else 1.0
        if key == "waves":
            scale = 1.0
        factor = wavelength * scale * obliquity
        if not (math.isfinite(factor) and factor > 0):
            raise FormatError(path, f"heights are in {unit} but wavelength/scale factor give {factor!r} m per {unit}")
    else:
        raise FormatError(path, f"unknown height unit {unit!r} in the surface dataset")
    heights = values * factor
    heights[invalid] = np.nan
    return heights, unit, factor


def _datx_step(path: Path, attrs: Any, name: str) -> float | None:
    if name not in attrs:
        return None
    _, _, params = _converter(attrs[name])
    if params.size < 2:
        raise FormatError(path, f"{name} has {params.size} parameters, expected the lateral resolution at index 1")
    step = float(params[1])
    return step if math.isfinite(step) and step > 0 else None


def read_datx(path: Path, channel: str | None = None, spacing=None) -> Surface:
    """Read a Zygo ``.datx`` (HDF5) file: heights in metres, intensity as a layer if present.

    Channels: ``"height"`` (default) and, when the file has one, ``"intensity"``.
    """
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            links = _metadata_links(h5)
            surface_path = _dataset_path(h5, links, "Surface")
            intensity_path = _dataset_path(h5, links, "Intensity")
            names = (["height"] if surface_path else []) + (["intensity"] if intensity_path else [])
            if not surface_path:
                raise FormatError(path, "HDF5 file has no Zygo surface dataset (neither a MetaData link "
                                        "Measurement/Surface nor /Data/Surface): not a DATX file")
            wanted = channel or "height"
            if wanted not in names:
                raise FormatError(path, f"no channel {wanted!r}; this file has {', '.join(names)}")
            dataset = h5[surface_path]
            attrs = dataset.attrs
            dx = _datx_step(path, attrs, "X Converter")
            dy = _datx_step(path, attrs, "Y Converter")
            if dx is None and dy is None:
                if spacing is None:
                    raise FormatError(path, "lateral resolution missing or zero; pass spacing=(dy, dx) in metres")
                step: Any = spacing
            else:
                step = (dy or dx, dx or dy)
            meta: dict[str, Any] = {"instrument": "Zygo", "channels": names, "channel": wanted,
                                    "surface_dataset": surface_path}
            for key, label in (("Wavelength", "wavelength_m"), ("Interferometric Scale Factor",
                                                                  "interferometric_scale_factor"),
                               ("Obliquity Factor", "obliquity_factor")):
                if key in attrs:
                    meta[label] = _number(attrs[key])
            if wanted == "intensity":
                values = _load_2d(path, h5[intensity_path], "intensity")
                meta["original_units"] = "intensity counts (not a height)"
                meta["quantity"] = "intensity"
                return Surface(values, step, {}, meta)
            heights, unit, factor = _datx_heights(path, dataset)
            layers = {}
            if intensity_path:
                intensity = _load_2d(path, h5[intensity_path], "intensity")
                if intensity.shape == heights.shape:
                    layers["intensity"] = intensity
            meta["original_units"] = unit
            return Surface(heights, step, layers, meta)
    except FormatError:
        raise
    except MemoryError:
        raise FormatError(path, "DATX dataset needs more memory than is available") from None
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise FormatError(path, f"not a readable DATX (HDF5) file: {type(exc).__name__}: {exc}") from None


def _datx_sniff(head: bytes, path: Path | None) -> bool:
    try:
        if path is not None and path.name.lower().endswith(".datx"):
            return True
        return b"MetaData" in head or b"Measurement" in head
    except Exception:  # pragma: no cover - sniffers must not raise
        return False


FORMATS = [
    FileFormat(
        name="metropro",
        description="Zygo MetroPro binary data (.dat)",
        suffixes=(".dat",),
        read=read_metropro,
        magic=tuple(METROPRO_MAGICS),
        channels=metropro_channels,
    ),
    FileFormat(
        name="datx",
        description="Zygo Mx DATX (HDF5)",
        suffixes=(".datx",),
        read=read_datx,
        magic=(HDF5_MAGIC,),
        sniff=_datx_sniff,
    ),
]
