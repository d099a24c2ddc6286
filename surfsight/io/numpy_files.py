"""NumPy ``.npy`` and ``.npz`` files (read and write), never unpickled.

Layout of a ``.npz`` written by surfsight (NumPy's ``savez``: a zip of ``.npy`` members, stored
uncompressed)::

    heights.npy        float64, 2-D (Surface) or 1-D (Profile), metres, NaN = not measured
    spacing.npy        float64 [dy, dx] (Surface) or [dx] (Profile), metres
    points.npy         float64 (n, 3) x, y, z in metres, instead of heights/spacing (PointCloud)
    layer_<name>.npy   one per layer, same shape as heights, any numeric/bool dtype
    metadata.npy       0-d unicode array: the metadata as a JSON object

Metadata goes through JSON: tuples come back as lists, NumPy scalars as Python numbers, and
anything JSON cannot hold (dates, paths) as its ``str``. ``format`` and ``source_file`` are not
stored (the reader sets them for the file read).

A plain ``.npy`` holds one array; ``surfsight.write(..., "x.npy")`` writes the heights only, so
reading it back needs ``spacing=``. A plain ``.npz`` (without ``heights``) is read by member name
(``channel="name"``, or its only 1-D/2-D numeric member) and needs ``spacing=`` too.

Safety (NumPy format specification, ``numpy.lib.format``): every array header is parsed first and
its shape checked with :func:`~surfsight.io.safety.check_grid` against the bytes present before
any data is read; ``allow_pickle=False`` everywhere, so object arrays are refused.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import FormatError, InputError
from ..surface import PointCloud, Profile, Surface
from .formats import FileFormat
from .safety import SafeZip, check_grid

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
#: Longest metadata JSON accepted, characters.
MAX_METADATA = 16 << 20
_DROP_META = ("format", "source_file")


# ----------------------------------------------------------------------------------------------
# Array headers
# ----------------------------------------------------------------------------------------------
def _header(fp: IO[bytes], source: Any, what: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """Parse a ``.npy`` header from ``fp``: ``(shape, dtype, header length in bytes)``."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        if version == (1, 0):
            shape, _fortran, dtype = fmt.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _fortran, dtype = fmt.read_array_header_2_0(fp)
        elif version == (3, 0):
            shape, _fortran, dtype = fmt._read_array_header(fp, version)  # 2.0 with a UTF-8 header
        else:
            raise ValueError(f"unknown .npy format version {version}")
    except Exception as exc:  # ValueError, SyntaxError, tokenize.TokenError, ... on a corrupt header
        raise FormatError(source, f"{what}: not a valid .npy array header ({type(exc).__name__}: {exc})") from None
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise FormatError(source, f"{what}: object arrays need pickle, which surfsight never loads")
    return tuple(int(n) for n in shape), dtype, fp.tell()


def _check(source: Any, shape: tuple[int, ...], dtype: np.dtype, available: int, what: str) -> None:
    if len(shape) == 0:
        if dtype.itemsize > available:
            raise FormatError(source, f"{what}: truncated ({available} bytes for a {dtype.itemsize}-byte value)")
        return
    if any(n == 0 for n in shape):
        raise FormatError(source, f"{what}: array of shape {shape} is empty")
    check_grid(source, shape, dtype.itemsize, available, what=what)


def _read(fp: IO[bytes], source: Any, available_total: int, what: str) -> np.ndarray:
    shape, dtype, header = _header(fp, source, what)
    _check(source, shape, dtype, available_total - header, what)
    try:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FormatError(source, f"{what}: cannot read the array ({exc})") from None


# ----------------------------------------------------------------------------------------------
# .npy
# ----------------------------------------------------------------------------------------------
def read_npy(path: Path, channel: str | None = None, spacing=None) -> Surface | Profile:
    """Read a ``.npy`` array: 2-D -> Surface, 1-D -> Profile; ``spacing=`` is required."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fp:
        array = _read(fp, path, size, "array")
    return _plain(path, array, spacing, "array", ["array"])


def _npy_channels(path: Path) -> list[str]:
    return ["array"]


def write_npy(obj: Surface | Profile, path: Path) -> None:
    """Write the heights (float64, metres) of a Surface or Profile; spacing is not stored."""
    if isinstance(obj, PointCloud):
        raise InputError(f"{path}: a point cloud cannot be written as .npy heights; write .npz instead")
    with open(path, "wb") as out:
        np.save(out, np.asarray(obj.heights, dtype=np.float64), allow_pickle=False)


def _plain(path: Path, array: np.ndarray, spacing: Any, name: str, names: list[str]) -> Surface | Profile:
    if array.dtype.kind not in "fiub" or array.ndim not in (1, 2):
        raise FormatError(path, f"{name}: a {array.ndim}-D {array.dtype} array is not a height map "
                                "(need a 1-D or 2-D numeric array)")
    if spacing is None:
        raise FormatError(path, f"{name}: a plain NumPy array does not store its spacing; pass spacing=(dy, dx) "
                                "in metres (or dx for a 1-D profile)")
    heights = array.astype(np.float64)
    heights[~np.isfinite(heights)] = np.nan
    meta = {"channel": name, "channels": names, "original_units": {"xy": "spacing argument", "z": "m"},
            "z_unit": "m"}
    try:
        if array.ndim == 1:
            if np.ndim(spacing) != 0:
                values = tuple(spacing)
                if len(values) != 1:
                    raise InputError(f"a 1-D profile needs one spacing dx, got {spacing!r}")
                spacing = values[0]
            return Profile(heights, spacing, {}, meta)
        return Surface(heights, spacing, {}, meta)
    except InputError as exc:
        raise FormatError(path, f"{name}: {exc}") from None


# ----------------------------------------------------------------------------------------------
# .npz
# ----------------------------------------------------------------------------------------------
def _npz_sniff(head: bytes, path: Path | None) -> bool:
    """True for a zip whose first member is a ``.npy`` array (NumPy's savez layout)."""
    if head[:4] != ZIP_MAGIC or len(head) < 30:
        return False
    name_length = int.from_bytes(head[26:28], "little")
    name = head[30:30 + name_length]
    return len(name) == name_length and name.endswith(b".npy")


class _Npz:
    """Members of a ``.npz`` by array name, each read only after its header was checked."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.safe = SafeZip(path)  # refuses bombs and oversized members
        except (NotImplementedError, RuntimeError) as exc:  # zipfile: unknown version, encryption
            raise FormatError(path, f"zip archive cannot be read ({exc})") from None
        self.members = {n[:-4]: n for n in self.safe.names if n.endswith(".npy")}
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise FormatError(path, f"not a readable zip archive ({exc})") from None

    def read(self, name: str) -> np.ndarray:
        member = self.members[name]
        info = self.zip.getinfo(member)
        try:
            with self.zip.open(info) as fp:
                return _read(fp, self.path, info.file_size, f"member {member!r}")
        except FormatError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise FormatError(self.path, f"member {member!r} cannot be read ({exc})") from None

    def close(self) -> None:
        self.zip.close()
        self.safe.close()


def npz_channels(path: Path) -> list[str]:
    """Array names in a ``.npz`` (``["heights"]`` for a surfsight file)."""
    npz = _Npz(Path(path))
    try:
        return ["heights"] if "heights" in npz.members else sorted(npz.members)
    finally:
        npz.close()


def read_npz(path: Path, channel: str | None = None, spacing=None) -> Surface | Profile | PointCloud:
    """Read a ``.npz``: the surfsight layout (module notes) or a plain archive of arrays."""
    path = Path(path)
    npz = _Npz(path)
    try:
        if not npz.members:
            raise FormatError(path, "the .npz archive holds no .npy arrays")
        surfsight_layout = "heights" in npz.members or "points" in npz.members
        if surfsight_layout and channel in (None, "heights", "points"):
            return _read_surfsight(npz, spacing)
        names = sorted(npz.members)
        if channel is None:
            candidates = [n for n in names if n not in ("spacing", "metadata") and not n.startswith("layer_")]
            if len(candidates) != 1:
                raise FormatError(path, f"choose an array with channel=; the archive holds {', '.join(names)}")
            channel = candidates[0]
        if channel not in npz.members:
            raise FormatError(path, f"no array {channel!r}; the archive holds {', '.join(names)}")
        return _plain(path, npz.read(channel), spacing, channel, names)
    finally:
        npz.close()


def _read_surfsight(npz: _Npz, spacing: Any) -> Surface | Profile | PointCloud:
    path = npz.path
    metadata: dict[str, Any] = {}
    if "metadata" in npz.members:
        text = npz.read("metadata")
        if text.dtype.kind != "U" or text.ndim != 0 or len(str(text[()])) > MAX_METADATA:
            raise FormatError(path, "member 'metadata' must be one JSON string")
        try:
            metadata = json.loads(str(text[()]))
        except ValueError as exc:
            raise FormatError(path, f"member 'metadata' is not valid JSON ({exc})") from None
        if not isinstance(metadata, dict):
            raise FormatError(path, "member 'metadata' must hold a JSON object")
    try:
        if "points" in npz.members and "heights" not in npz.members:
            return PointCloud(npz.read("points"), metadata)
        heights = npz.read("heights")
        if heights.dtype.kind not in "fiu" or heights.ndim not in (1, 2):
            raise FormatError(path, f"member 'heights' is a {heights.ndim}-D {heights.dtype} array, "
                                    "not a 1-D or 2-D height array")
        heights = heights.astype(np.float64)
        if "spacing" in npz.members:
            stored = npz.read("spacing")
            if stored.dtype.kind not in "fiu" or stored.shape != (heights.ndim,):
                raise FormatError(path, f"member 'spacing' has shape {stored.shape}; expected ({heights.ndim},)")
            step = tuple(float(v) for v in stored)
        elif spacing is not None:
            step = (spacing, spacing) if np.ndim(spacing) == 0 else tuple(spacing)
        else:
            raise FormatError(path, "member 'spacing' is missing; pass spacing=(dy, dx) in metres")
        layers = {name[len("layer_"):]: npz.read(name) for name in npz.members if name.startswith("layer_")}
        if heights.ndim == 1:
            return Profile(heights, step[0] if len(step) == 1 else step[-1], layers, metadata)
        return Surface(heights, step, layers, metadata)
    except InputError as exc:
        raise FormatError(path, f"inconsistent surfsight .npz: {exc}") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_npz(obj: Surface | Profile | PointCloud, path: Path) -> None:
    """Write a Surface, Profile or PointCloud in the surfsight ``.npz`` layout (module notes).

    The round trip is exact: heights, spacing and layers are stored bit for bit.
    """
    arrays: dict[str, np.ndarray] = {}
    if isinstance(obj, PointCloud):
        arrays["points"] = np.asarray(obj.points, dtype=np.float64)
    elif isinstance(obj, (Surface, Profile)):
        arrays["heights"] = np.asarray(obj.heights, dtype=np.float64)
        arrays["spacing"] = np.asarray(obj.spacing, dtype=np.float64)
        for name, layer in obj.layers.items():
            layer = np.asarray(layer)
            if layer.dtype.hasobject:
                raise InputError(f"{path}: layer {name!r} holds Python objects; only numeric layers can be stored")
            arrays[f"layer_{name}"] = layer
    else:
        raise InputError(f"{path}: cannot write a {type(obj).__name__} as .npz")
    meta = {k: v for k, v in obj.metadata.items() if k not in _DROP_META}
    text = json.dumps(meta, default=_json_default, allow_nan=True)
    arrays["metadata"] = np.array(text)
    with open(path, "wb") as out:
        np.savez(out, allow_pickle=False, **arrays)


FORMATS = [
    FileFormat(
        name="npy",
        description="NumPy array (.npy); needs spacing=",
        suffixes=(".npy",),
        read=read_npy,
        write=write_npy,
        magic=(NPY_MAGIC,),
        channels=_npy_channels,
    ),
    FileFormat(
        name="npz",
        description="NumPy archive (.npz), surfsight layout or plain arrays",
        suffixes=(".npz",),
        read=read_npz,
        write=write_npz,
        magic=(ZIP_MAGIC,),
        sniff=_npz_sniff,
        channels=npz_channels,
    ),
]
