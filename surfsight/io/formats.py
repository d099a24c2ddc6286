"""The registry of file formats: detection by magic bytes first, suffix second.

Each format module declares ``FORMATS: list[FileFormat]``; this module lists the modules and
builds the registry on first use (so ``import surfsight`` stays fast).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import FormatError, UnsupportedFormatError
from .safety import read_head

#: Modules that declare formats, in the order their sniffers are tried.
FORMAT_MODULES = (
    "surfsight.io.x3p",
    "surfsight.io.digitalsurf",
    "surfsight.io.sensofar",
    "surfsight.io.wyko",
    "surfsight.io.bruker",
    "surfsight.io.zygo",
    "surfsight.io.alicona",
    "surfsight.io.tmd",
    "surfsight.io.frt",
    "surfsight.io.sdf",
    "surfsight.io.gwyddion",
    "surfsight.io.keyence",
    "surfsight.io.tiff",
    "surfsight.io.numpy_files",
    "surfsight.io.text",
)


@dataclass(frozen=True)
class FileFormat:
    """One file format.

    Attributes
    ----------
    name
        Short identifier reported by ``surfsight info`` (``"x3p"``, ``"sur"``, ...).
    description
        Human-readable name with vendor.
    suffixes
        Lower-case suffixes including the dot (``".x3p"``, ``".txt.gz"``).
    read
        ``read(path, channel) -> Surface | Profile | PointCloud``, or ``None`` (write-only).
    write
        ``write(obj, path)`` writing to exactly ``path`` (the registry makes it atomic), or ``None``.
    magic
        Byte strings, one of which the file starts with (at ``magic_offset``).
    sniff
        ``sniff(head, path) -> bool`` for formats a fixed prefix does not identify (zip
        containers, text). Called only when ``magic`` matched or is empty.
    channels
        ``channels(path) -> list[str]`` listing the data channels a file holds, or ``None``.
    """

    name: str
    description: str
    suffixes: tuple[str, ...]
    read: Callable | None = None
    write: Callable | None = None
    magic: tuple[bytes, ...] = ()
    magic_offset: int = 0
    sniff: Callable[[bytes, Path], bool] | None = None
    channels: Callable[[Path], list[str]] | None = None

    def matches_magic(self, head: bytes, path: Path | None = None) -> bool:
        """True when the file starts with one of the magic strings (and passes ``sniff``, if any)."""
        if not self.magic:
            return False
        start = self.magic_offset
        if not any(head[start:start + len(m)] == m for m in self.magic):
            return False
        return self.sniff is None or bool(self.sniff(head, path))

    def matches_suffix(self, path: Path) -> bool:
        name = path.name.lower()
        return any(name.endswith(s) for s in self.suffixes)


_REGISTRY: list[FileFormat] | None = None


def registry() -> list[FileFormat]:
    """All known formats (imports the format modules on first call)."""
    global _REGISTRY
    if _REGISTRY is None:
        formats: list[FileFormat] = []
        for module in FORMAT_MODULES:
            formats.extend(importlib.import_module(module).FORMATS)
        _REGISTRY = formats
    return _REGISTRY


def by_name(name: str) -> FileFormat:
    for fmt in registry():
        if fmt.name == name:
            return fmt
    known = ", ".join(f.name for f in registry())
    raise UnsupportedFormatError(None, f"unknown format {name!r}; known: {known}")


def detect(path: Path | str, *, for_writing: bool = False) -> FileFormat:
    """Find the format of ``path``: magic bytes first, then content sniffing, then suffix.

    For writing (the file need not exist) only the suffix counts.
    """
    path = Path(path)
    formats = registry()
    if for_writing:
        # longest matching suffix wins (".txt.gz" before ".gz")
        candidates = [(max(len(s) for s in f.suffixes if path.name.lower().endswith(s)), f)
                      for f in formats if f.write is not None and f.matches_suffix(path)]
        if not candidates:
            writable = sorted({s for f in formats if f.write for s in f.suffixes})
            raise UnsupportedFormatError(path, f"cannot write this suffix; surfsight writes {', '.join(writable)}")
        return max(candidates, key=lambda c: c[0])[1]
    if not path.exists():
        raise FormatError(path, "no such file")
    if path.is_dir():
        raise FormatError(path, "is a folder, not a file")
    if os.path.getsize(path) == 0:
        raise FormatError(path, "file is empty")
    head = read_head(path)
    readable = [f for f in formats if f.read is not None]
    for fmt in readable:
        if fmt.matches_magic(head, path):
            return fmt
    for fmt in readable:
        if not fmt.magic and fmt.sniff is not None and fmt.matches_suffix(path) and fmt.sniff(head, path):
            return fmt
    for fmt in readable:
        if not fmt.magic and fmt.sniff is not None and fmt.sniff(head, path):
            return fmt
    for fmt in readable:
        if fmt.matches_suffix(path):
            return fmt
    raise UnsupportedFormatError(path, f"unrecognised file format (starts with {head[:16]!r}); "
                                       "see `surfsight formats` for what surfsight reads")

