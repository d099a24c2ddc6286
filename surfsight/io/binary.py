"""A bounds-checked cursor over bytes for binary readers.

Every read names the field being read, so a truncated file gives
``"sample.sur: truncated at byte 410 while reading 'x spacing' (needs 4 bytes)"``.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ..errors import FormatError
from .safety import check_grid


class Cursor:
    """Sequential reader over an immutable ``bytes`` buffer.

    Parameters
    ----------
    data
        The file contents.
    source
        File name for messages.
    byteorder
        ``"<"`` (little-endian, default) or ``">"``.
    """

    def __init__(self, data: bytes, source: Any, byteorder: str = "<", offset: int = 0):
        self.data = data
        self.source = source
        self.byteorder = byteorder
        self.offset = offset

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def seek(self, offset: int, what: str = "data") -> None:
        if offset < 0 or offset > len(self.data):
            raise FormatError(self.source, f"{what} offset {offset} is outside the file ({len(self.data)} bytes)")
        self.offset = offset

    def skip(self, n: int, what: str = "padding") -> None:
        self.seek(self.offset + n, what)

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.offset + n > len(self.data):
            raise FormatError(self.source, f"truncated at byte {len(self.data)} while reading {what!r} "
                                           f"(needs {n} bytes from byte {self.offset})")
        chunk = self.data[self.offset:self.offset + n]
        self.offset += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple:
        full = fmt if fmt[0] in "<>=!@" else self.byteorder + fmt
        size = struct.calcsize(full)
        return struct.unpack(full, self.take(size, what))

    def one(self, fmt: str, what: str) -> Any:
        return self.unpack(fmt, what)[0]

    def string(self, n: int, what: str, encoding: str = "latin-1") -> str:
        """A fixed-width text field, NUL/space padded."""
        return self.take(n, what).split(b"\0", 1)[0].decode(encoding, "replace").strip()

    def array(self, dtype: Any, shape: tuple[int, ...], what: str = "heights") -> np.ndarray:
        """Read a C-ordered array after checking the claimed size against what is left."""
        dt = np.dtype(dtype)
        if dt.byteorder == "=" and dt.itemsize > 1:
            dt = dt.newbyteorder(self.byteorder)
        needed = check_grid(self.source, shape, dt.itemsize, self.remaining, what=what)
        out = np.frombuffer(self.data, dtype=dt, count=needed // dt.itemsize, offset=self.offset).reshape(shape)
        self.offset += needed
        return out
