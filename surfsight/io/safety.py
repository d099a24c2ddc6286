"""Guards that every reader uses so that hostile or broken files fail fast, with a clear
message, in bounded memory: size checks before allocation, bounded decompression,
zip-bomb and XML-entity protection.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import FormatError

#: Largest grid a reader will allocate, in points (about 2 GiB of float64 per 2.7e8 points).
MAX_POINTS = 2**28
#: Largest decompressed size accepted from one compressed member or stream, bytes.
MAX_DECOMPRESSED = 4 * 2**30
#: Largest compression ratio accepted (zip-bomb guard); real height data rarely exceeds 50.
MAX_RATIO = 1000
#: Bytes of a file read for format detection.
HEAD_BYTES = 4096


def check_grid(source: Any, shape: tuple[int, ...], itemsize: int, available: int | None, *,
               what: str = "data") -> int:
    """Check a grid size that a header claims before anything is allocated.

    Parameters
    ----------
    source
        File name for the message.
    shape
        The claimed shape, e.g. ``(rows, cols)``.
    itemsize
        Bytes per stored point.
    available
        Bytes actually present for the data (``None`` when not known, e.g. compressed).

    Returns
    -------
    int
        The number of bytes the data needs.
    """
    for n in shape:
        if not isinstance(n, (int,)) and not hasattr(n, "__index__"):
            raise FormatError(source, f"{what}: grid size {shape} is not a whole number")
        if int(n) <= 0:
            raise FormatError(source, f"{what}: header claims a grid of {'x'.join(map(str, shape))} points")
    points = 1
    for n in shape:
        points *= int(n)
    if points > MAX_POINTS:
        raise FormatError(source, f"{what}: header claims {'x'.join(map(str, shape))} = {points:.3g} points, "
                                  f"more than the {MAX_POINTS:.3g} surfsight accepts")
    needed = points * itemsize
    if available is not None and needed > available:
        raise FormatError(source, f"{what}: header claims {'x'.join(map(str, shape))} points of {itemsize} "
                                  f"bytes ({needed} bytes) but only {available} bytes follow: truncated or corrupt")
    return needed


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    """The first ``n`` bytes of a file."""
    with open(path, "rb") as f:
        return f.read(n)


def read_all(path: Path, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Read a whole file, refusing files above ``limit`` bytes."""
    size = Path(path).stat().st_size
    if size > limit:
        raise FormatError(path, f"file is {size} bytes, more than the {limit} surfsight reads")
    return Path(path).read_bytes()


def decompress_zlib(data: bytes, expected: int | None, source: Any, *, what: str = "data",
                    wbits: int = zlib.MAX_WBITS, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Inflate a zlib/gzip/raw-deflate stream without ever producing more than needed.

    ``expected`` is the size the header promises (``None`` when unknown): the output is capped
    at it (or at ``limit``), and a stream that yields a different size is an error.
    """
    cap = limit if expected is None else expected
    if expected is not None and expected > limit:
        raise FormatError(source, f"{what}: header promises {expected} bytes after decompression, over the limit")
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise FormatError(source, f"{what}: compressed data is corrupt ({exc})") from None
    if len(out) > cap:
        raise FormatError(source, f"{what}: decompresses to more than {cap} bytes (compression bomb or corrupt)")
    if expected is not None and len(out) != expected:
        raise FormatError(source, f"{what}: decompressed to {len(out)} bytes, header promises {expected}: truncated")
    return out


#: Largest expansion accepted for gzip-compressed text; number matrices compress 3-20x.
MAX_TEXT_RATIO = 200


def gunzip(data: bytes, source: Any, *, limit: int = MAX_DECOMPRESSED) -> bytes:
    """Decompress a gzip stream with a size and ratio cap (``MAX_TEXT_RATIO``): memory stays
    below 200 times the compressed size even when the gzip trailer lies."""
    cap = min(limit, max(len(data), 1024) * MAX_TEXT_RATIO)
    out = decompress_zlib(data, None, source, what="gzip stream", wbits=16 + zlib.MAX_WBITS, limit=cap)
    return out


class SafeZip:
    """A read-only zip archive that refuses bombs, and reads members with a size cap.

    Also tolerates what real tools write: everything inside one sub-folder, ``__MACOSX``
    resource-fork entries, backslashes in names. Use :meth:`find` to look a member up by its
    name below that common folder.
    """

    def __init__(self, path: Path | str, data: bytes | None = None):
        self.source = path
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data) if data is not None else path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise FormatError(path, f"not a readable zip archive ({exc})") from None
        total = 0
        self.names: list[str] = []
        for info in self._zip.infolist():
            name = info.filename.replace("\\", "/")
            if name.startswith("__MACOSX/") or "/._" in "/" + name or name.endswith("/"):
                continue
            if info.file_size > MAX_DECOMPRESSED:
                raise FormatError(path, f"zip member {name!r} claims {info.file_size} bytes, over the limit")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise FormatError(path, f"zip member {name!r} expands {info.file_size / info.compress_size:.0f}x: "
                                        "refused as a compression bomb")
            total += info.file_size
            self.names.append(name)
        if total > MAX_DECOMPRESSED:
            raise FormatError(path, f"zip members claim {total} bytes in all, over the limit")
        self._real = {info.filename.replace("\\", "/"): info for info in self._zip.infolist()}
        self.prefix = _common_folder(self.names)

    def find(self, name: str) -> str | None:
        """The archive name of ``name`` (case-insensitive), directly or below the common folder."""
        wanted = name.lower().lstrip("/")
        for candidate in self.names:
            low = candidate.lower()
            if low == wanted or low == (self.prefix + wanted).lower():
                return candidate
        return None

    def size(self, name: str) -> int:
        """Declared uncompressed size of member ``name`` in bytes."""
        info = self._real.get(name)
        if info is None:
            raise FormatError(self.source, f"zip has no member {name!r}")
        return info.file_size

    def read(self, name: str, *, limit: int = MAX_DECOMPRESSED) -> bytes:
        """Read one member, never more than its declared size (and ``limit``)."""
        info = self._real.get(name)
        if info is None:
            raise FormatError(self.source, f"zip has no member {name!r}")
        cap = min(info.file_size, limit)
        try:
            with self._zip.open(info) as member:
                data = member.read(cap + 1)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError, NotImplementedError,
                RuntimeError) as exc:  # RuntimeError: an encrypted member
            raise FormatError(self.source, f"zip member {name!r} is corrupt ({exc})") from None
        if len(data) > cap:
            raise FormatError(self.source, f"zip member {name!r} is larger than declared")
        return data

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> "SafeZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _common_folder(names: list[str]) -> str:
    """``"folder/"`` when every member sits inside one top-level folder, else ``""``."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return next(iter(tops)) + "/"
    return ""


def parse_xml(data: bytes | str, source: Any, *, what: str = "XML"):
    """Parse XML with entity expansion, external entities and DTD tricks refused.

    Returns the root :class:`xml.etree.ElementTree.Element`.
    """
    try:
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormatError(source, f"{what} refused: {type(exc).__name__} (entity expansion or external reference)") from None
    except SafeET.ParseError as exc:
        raise FormatError(source, f"{what} is not well-formed ({exc})") from None
    except (LookupError, ValueError, UnicodeError) as exc:  # unknown encoding declared, bad bytes
        raise FormatError(source, f"{what} cannot be decoded ({exc})") from None
