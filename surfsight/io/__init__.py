"""Reading and writing surface files.

>>> import surfsight
>>> surface = surfsight.read("scan.x3p")            # doctest: +SKIP
>>> surfsight.write(surface, "scan.gsf")            # doctest: +SKIP

The format is detected by magic bytes first and the suffix second; see
:func:`surfsight.io.formats.registry` for the list, or run ``surfsight formats``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import FormatError, SurfsightError
from ..surface import Measurement
from .formats import FileFormat, by_name, detect, registry

__all__ = ["read", "write", "channels", "detect", "registry", "FileFormat"]


def read(path: str | os.PathLike, channel: str | None = None, *, format: str | None = None,
         spacing: float | tuple[float, float] | None = None) -> Measurement:
    """Read a surface, profile or point cloud from a file.

    Parameters
    ----------
    path
        The file.
    channel
        Which data channel to read for files holding several (Gwyddion, Sensofar, ...);
        ``None`` picks the height channel.
    format
        Force a format by name instead of detecting it.
    spacing
        Lateral spacing in metres ``(dy, dx)`` for formats that do not store it (TIFF or NumPy
        height maps without a sidecar); ignored by formats that store it.

    Returns
    -------
    Surface, Profile or PointCloud
        Heights in metres, NaN for non-measured points; ``metadata`` holds at least
        ``format``, ``source_file`` and, where the file says, ``instrument`` and ``channels``.
    """
    path = Path(path)
    fmt = by_name(format) if format else detect(path)
    try:
        obj = fmt.read(path, channel, spacing=spacing)
    except SurfsightError:
        raise
    except MemoryError:
        raise FormatError(path, "file asks for more memory than is available: corrupt or hostile") from None
    except (ValueError, IndexError, KeyError, TypeError, OverflowError, UnicodeDecodeError, EOFError, OSError) as exc:
        # A reader bug or an unforeseen corruption: still name the file and the problem.
        raise FormatError(path, f"cannot read as {fmt.description}: {type(exc).__name__}: {exc}") from exc
    obj.metadata.setdefault("format", fmt.name)
    obj.metadata.setdefault("source_file", str(path))
    return obj


def channels(path: str | os.PathLike) -> list[str]:
    """Names of the data channels in a file (one name for single-channel formats)."""
    path = Path(path)
    fmt = detect(path)
    if fmt.channels is not None:
        return list(fmt.channels(path))
    return list(read(path).metadata.get("channels", ["height"]))


def write(obj: Measurement, path: str | os.PathLike, *, format: str | None = None) -> Path:
    """Write ``obj`` to ``path``; the format comes from the suffix unless ``format`` names it.

    The file is written to a temporary name beside the target and renamed into place, so a
    failure never leaves a half-written file or destroys an existing one.
    """
    path = Path(path)
    fmt = by_name(format) if format else detect(path, for_writing=True)
    if fmt.write is None:
        raise FormatError(path, f"surfsight reads {fmt.description} but does not write it")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FormatError(path, f"folder {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    os.close(fd)
    try:
        fmt.write(obj, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
