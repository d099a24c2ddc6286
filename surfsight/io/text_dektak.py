"""Bruker (Veeco) Dektak stylus profiler CSV exports (``.csv``).

Layout (Dektak 150 / Vision "Export to CSV", seen in SurfaceTopography's ``dektak-1.csv``)::

    Scan Parameters
    Scan Type,Standard Scan
    Stylus,Radius: 2.5 µm           (Latin-1)
    Length,1500.0 um
    Resolution,0.156 um/sample
    Force,3.00 mg
    ...
    Analytical Results
    Function,R.Cur Pos,R.Cur Width,M.Cur Pos,M.Cur Width,Result
    Ra,468.0 um,...,0.00525 um
    ...
    Scan Data
    Lateral um,Raw Micrometer,
    0.0,-0.00933,,
    0.2,-0.00760,,

Line ends are CR LF with stray CRs. The first data column is the lateral position; every other
titled column is a channel (``Raw``, and in some exports ``Normal``/levelled data), in the unit
its title names. Trailing empty fields are ignored.

Spacing: the lateral column is printed with one decimal (0.0, 0.2, 0.3, 0.5, ...) while the true
step is ``Length / points`` (1500 um / 9600 = 0.15625 um; "Resolution" is that step rounded).
So ``dx = Length / n`` when the lateral column agrees with it within its printing precision;
otherwise (no ``Length``, or a disagreement) the lateral column decides, as for any ``x z``
profile (uniform, or resampled with a note in the metadata).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Profile
from .safety import read_all
from .text_columns import profile_from_xz
from .text_numbers import decode, length_factor, normalise_newlines, parse_block, refuse_binary

_SECTIONS = ("scan parameters", "analytical results", "scan data")
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s/]*)")


def _split_scan_data(path: Path, text: bytes) -> tuple[list[str], bytes, int]:
    lines_end = 0
    position = 0
    header: list[str] = []
    number = 0
    while True:
        number += 1
        if number > 5000:
            raise FormatError(path, "no 'Scan Data' section in the first 5000 lines")
        end = text.find(b"\n", position)
        line = text[position:] if end < 0 else text[position:end]
        refuse_binary(path, line, number)
        header.append(decode(line))
        if line.strip().lower() == b"scan data":
            lines_end = len(text) if end < 0 else end + 1
            return header, text[lines_end:], number + 1
        if end < 0:
            raise FormatError(path, "no 'Scan Data' section: not a Dektak CSV export, or truncated")
        position = end + 1


def read_dektak(path: Path, channel: str | None = None, spacing: Any = None) -> Profile:
    """Read a Dektak CSV profile; see the module notes."""
    path = Path(path)
    data = normalise_newlines(read_all(path))
    header, rest, line_no = _split_scan_data(path, data)

    # column titles (after any blank lines)
    while rest.startswith((b"\n", b" \n", b"\t\n")):
        rest = rest[rest.find(b"\n") + 1:]
        line_no += 1
    end = rest.find(b"\n")
    title_line = rest if end < 0 else rest[:end]
    titles = [t.strip() for t in decode(title_line).split(",")]
    titles = [t for t in titles if t]
    if len(titles) < 2:
        raise FormatError(path, f"line {line_no}: expected column titles such as 'Lateral um,Raw Micrometer', "
                                f"got {decode(title_line[:80])!r}")
    block = b"" if end < 0 else rest[end + 1:]
    # trailing empty fields ("0.0,-0.00933,,") are dropped, so count the values per line
    values = parse_block(path, block, line_no + 1, what="scan data")
    if values.shape[1] != len(titles):
        raise FormatError(path, f"line {line_no + 1}: {values.shape[1]} values per line for "
                                f"{len(titles)} column titles {titles}")

    units = []
    names = []
    for k, title in enumerate(titles):
        words = title.split()
        factor = length_factor(words[-1]) if words else None
        if factor is None:
            raise FormatError(path, f"line {line_no}: column {title!r} names no length unit")
        units.append(factor)
        names.append(" ".join(words[:-1]) or f"column {k + 1}")
    channels = names[1:]
    if channel is None:
        pick = 0
    else:
        lowered = [c.lower() for c in channels]
        if channel.lower() not in lowered:
            raise FormatError(path, f"has channels {channels}, not {channel!r}")
        pick = lowered.index(channel.lower())

    settings = _settings(header)
    meta: dict[str, Any] = {
        "instrument": "Bruker Dektak stylus profiler",
        "channel": channels[pick], "channels": channels,
        "original_units": titles[pick + 1].split()[-1],
        "settings": settings,
    }
    radius = re.search(r"Radius:\s*([-+\d.eE]+)\s*(\S+)", settings.get("Stylus", ""))
    if radius and length_factor(radius.group(2)):
        meta["stylus_radius"] = float(radius.group(1)) * length_factor(radius.group(2))  # type: ignore[operator]

    x = values[:, 0] * units[0]
    z = values[:, pick + 1] * units[pick + 1]
    n = x.size
    length = _length(settings.get("Length"))
    if length is not None and n >= 2:
        dx = length / n
        quantum = _print_quantum(block) * units[0]
        expected = x[0] + np.arange(n) * dx
        if np.all(np.isfinite(x)) and np.max(np.abs(x - expected)) <= 0.5 * quantum + 1e-6 * dx:
            meta["spacing_source"] = "header 'Length' / number of points (lateral column agrees)"
            meta["x_offset"] = float(x[0])
            return Profile(z, dx, metadata=meta)
        meta["spacing_note"] = "header 'Length' disagrees with the lateral column; the column decides"
    meta["spacing_source"] = "lateral column"
    return profile_from_xz(path, x, z, meta, line_no + 1)


def _settings(header: list[str]) -> dict[str, str]:
    """``key,value`` pairs of the 'Scan Parameters' section and the 'Analytical Results' rows."""
    settings: dict[str, str] = {}
    section = ""
    for line in header:
        stripped = line.strip()
        if stripped.lower() in _SECTIONS:
            section = stripped.lower()
            continue
        if "," not in stripped:
            continue
        key, value = stripped.split(",", 1)
        key = key.strip()
        if section == "analytical results":
            if key == "Function":
                continue
            parts = [p.strip() for p in value.split(",")]
            settings.setdefault(f"result {key}", parts[-1] if parts else "")
        else:
            settings.setdefault(key, value.strip())
    return settings


def _length(text: str | None) -> float | None:
    if not text:
        return None
    match = _QUANTITY.match(text)
    if not match:
        return None
    factor = length_factor(match.group(2)) if match.group(2) else None
    value = float(match.group(1)) * factor if factor else None
    return value if value and value > 0 else None


def _print_quantum(block: bytes) -> float:
    """The smallest increment the lateral column is printed with (``0.1`` for ``1499.8``)."""
    first = block.split(b",", 1)[0].strip()
    last_line = block.rstrip().rsplit(b"\n", 1)[-1]
    last = last_line.split(b",", 1)[0].strip()
    decimals = 0
    for token in (first, last):
        if b"e" in token.lower():
            return 0.0
        if b"." in token:
            decimals = max(decimals, len(token.split(b".", 1)[1]))
    return 10.0 ** -decimals


def sniff_dektak(head: bytes, path: Path | None) -> bool:
    """A Dektak CSV starts with 'Scan Parameters' (or shows its 'Scan Data'/'Lateral' lines)."""
    try:
        start = head.lstrip()[:200].lower()
        return start.startswith(b"scan parameters") or (b"\nscan data" in head.lower()
                                                         and b"lateral" in head.lower())
    except Exception:  # sniffers never raise
        return False
