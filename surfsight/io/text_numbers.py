"""Fast, bounded parsing of numeric text blocks shared by the text readers.

A block is the data part of a text file (rows of numbers separated by blanks, tabs, commas or
semicolons). Parsing is vectorised: the bytes are scanned once with NumPy to count the values on
every line (so a ragged row is found and named by its line number), then all tokens are converted
in one call. Only when that conversion fails is the slow path taken, to map the tokens that mean
"not measured" (``NaN``, ``-``, ``***``, ``BAD``, ...) to NaN or to name the offending token.

Also here: decoding of header text (UTF-8, falling back to Latin-1), detection of binary bytes,
line-ending normalisation and the cheap checks that the ``sniff`` functions share.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from .safety import MAX_POINTS

#: Tokens that mean "no value here" in instrument text exports; they become NaN.
NAN_TOKENS = frozenset({
    b"nan", b"NaN", b"NAN", b"-nan", b"+nan", b"-NaN", b"nan(ind)", b"-nan(ind)",
    b"-", b"--", b"---", b"*", b"**", b"***", b"****", b"*****",
    b"BAD", b"bad", b"Bad", b"N/A", b"n/a", b"NA", b"na", b"#N/A", b"invalid", b"INVALID",
    b"1.#QNAN", b"-1.#IND", b"1.#IND", b"-1.#QNAN",
})

#: Bytes that never occur in a text export: NUL and the C0 controls other than tab, LF, CR
#: (and form feed / vertical tab, which some old exporters emit between blocks).
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
#: Separators turned into blanks before tokenising.
_TO_BLANK = bytes.maketrans(b",;\t\v\f", b"     ")

#: A number as text exporters write it (also accepts a leading "+" and "1." / ".5").
NUMBER = re.compile(rb"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def normalise_newlines(data: bytes) -> bytes:
    """CR LF and lone CR become LF, so that line numbers count what an editor shows."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def decode(text: bytes) -> str:
    """Header text: UTF-8 when valid, else Latin-1 (older Windows exporters), never raises."""
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def binary_at(data: bytes) -> int | None:
    """Offset of the first byte that cannot be part of a text export, or ``None``."""
    match = _BINARY.search(data)
    return None if match is None else match.start()


def line_of(data: bytes, offset: int, first_line: int = 1) -> int:
    """1-based line number of byte ``offset`` in ``data`` whose first line is ``first_line``."""
    return first_line + data.count(b"\n", 0, offset)


def refuse_binary(source: Any, data: bytes, first_line: int = 1) -> None:
    """Raise a :class:`FormatError` naming the line if ``data`` holds binary bytes."""
    at = binary_at(data)
    if at is not None:
        raise FormatError(source, f"line {line_of(data, at, first_line)}: binary byte 0x{data[at]:02x} "
                                  "in a text file (not a text export, or corrupt)")


def is_number(token: bytes) -> bool:
    """True for a token that reads as a number or as a not-measured marker."""
    return bool(NUMBER.match(token)) or token in NAN_TOKENS


def numeric_line(line: bytes) -> list[bytes] | None:
    """The tokens of a line made only of numbers (or NaN markers), else ``None``."""
    tokens = line.translate(_TO_BLANK).split()
    if tokens and all(is_number(t) for t in tokens):
        return tokens
    return None


def head_lines(head: bytes) -> list[bytes]:
    """Complete lines of a detection head (a line cut by the 4 KiB limit is kept: it is
    still useful to count the values of a very long first row)."""
    return normalise_newlines(head).split(b"\n")


def suffix_of(path: Path | None) -> str:
    """Lower-case last suffix, ``""`` when unknown."""
    if path is None:
        return ""
    try:
        return Path(path).suffix.lower()
    except (TypeError, ValueError):
        return ""


def split_header(source: Any, data: bytes, *, max_header_lines: int = 1000) -> tuple[list[str], bytes, int]:
    """Split text into its header lines and its numeric data block.

    The header is every line before the first line made only of numbers: ``#`` comments,
    ``key: value`` / ``key=value`` lines, column titles, blank lines.

    Returns
    -------
    header, block, first_line
        Decoded header lines (without line ends), the data bytes, and the 1-based line
        number where the data starts.
    """
    data = normalise_newlines(data)
    header: list[str] = []
    position = 0
    for number in range(1, max_header_lines + 1):
        end = data.find(b"\n", position)
        line = data[position:] if end < 0 else data[position:end]
        stripped = line.strip()
        if stripped and not stripped.startswith(b"#") and numeric_line(stripped) is not None:
            return header, data[position:], number
        refuse_binary(source, line, number)
        header.append(decode(line))
        if end < 0:
            break
        position = end + 1
    else:
        raise FormatError(source, f"no numeric data in the first {max_header_lines} lines")
    raise FormatError(source, "no numeric data found (header only, or an empty file)")


def parse_block(source: Any, block: bytes, first_line: int, *, what: str = "data",
                columns: int | None = None, max_points: int = MAX_POINTS) -> np.ndarray:
    """Parse rows of numbers into a 2-D float64 array ``(rows, columns)``.

    Parameters
    ----------
    source
        File name for messages.
    block
        The data lines (newlines already normalised to LF).
    first_line
        1-based line number of the first line of ``block`` in the file, for messages.
    what
        What the block is, for messages (``"height matrix"``, ``"x, z columns"``).
    columns
        Required number of values per row; ``None`` takes the count of the first row.
    max_points
        Refuse blocks with more values than this (before converting anything).

    Returns
    -------
    numpy.ndarray
        ``float64``, one row per non-empty line; not-measured markers and infinities are NaN.

    Raises
    ------
    FormatError
        Empty block, binary bytes, a row with another count of values (its line number and
        both counts), too many values, or a token that is not a number (line and token).
    """
    refuse_binary(source, block, first_line)
    block = block.translate(_TO_BLANK)
    raw = np.frombuffer(block, dtype=np.uint8)
    if raw.size == 0:
        raise FormatError(source, f"{what}: no numbers found (empty data section)")
    blank = (raw == 32) | (raw == 10) | (raw == 13)
    starts = ~blank
    starts[1:] &= blank[:-1]
    n_tokens = int(np.count_nonzero(starts))
    if n_tokens == 0:
        raise FormatError(source, f"{what}: no numbers found (empty data section)")
    if n_tokens > max_points:
        raise FormatError(source, f"{what}: {n_tokens} values, more than the {max_points:.3g} surfsight accepts")
    # 0-based line of each token: the number of newlines before its first byte
    token_lines = np.searchsorted(np.flatnonzero(raw == 10), np.flatnonzero(starts))
    counts = np.bincount(token_lines)
    used = np.flatnonzero(counts)
    row_counts = counts[used]
    expected = int(row_counts[0]) if columns is None else int(columns)
    bad = np.flatnonzero(row_counts != expected)
    if bad.size:
        i = int(bad[0])
        line = first_line + int(used[i])
        reference = (f"the first data row (line {first_line + int(used[0])}) has {expected}"
                     if columns is None else f"{expected} expected")
        hint = " (truncated file?)" if i == used.size - 1 else ""
        raise FormatError(source, f"{what}: line {line} has {int(row_counts[i])} values, {reference}{hint}")
    tokens = block.split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        values = _slow_convert(source, tokens, used, row_counts, first_line, what)
    if b"_" in block:  # Python's float() accepts "1_000"; a text export never writes it
        _refuse_token(source, tokens, next(k for k, t in enumerate(tokens) if b"_" in t),
                      used, row_counts, first_line, what)
    values[np.isinf(values)] = np.nan
    return values.reshape(used.size, expected)


def _slow_convert(source: Any, tokens: list[bytes], used: np.ndarray, row_counts: np.ndarray,
                  first_line: int, what: str) -> np.ndarray:
    """Second pass: not-measured markers to NaN; name the first token that is not a number."""
    mapped = [b"nan" if t in NAN_TOKENS else t for t in tokens]
    try:
        return np.array(mapped, dtype=np.float64)
    except ValueError:
        pass
    for k, token in enumerate(mapped):
        try:
            float(token)
        except ValueError:
            _refuse_token(source, tokens, k, used, row_counts, first_line, what)
    raise FormatError(source, f"{what}: values could not be converted to numbers")  # pragma: no cover


def _refuse_token(source: Any, tokens: list[bytes], k: int, used: np.ndarray, row_counts: np.ndarray,
                  first_line: int, what: str) -> None:
    row = int(np.searchsorted(np.cumsum(row_counts), k, side="right"))
    line = first_line + int(used[min(row, used.size - 1)])
    shown = decode(tokens[k][:40])
    raise FormatError(source, f"{what}: line {line}: {shown!r} is not a number")


# --- units ---------------------------------------------------------------------------------

#: Unit words that instrument exports write, beyond the symbols of :data:`LENGTH_UNITS`.
_UNIT_WORDS = {
    "meter": "m", "meters": "m", "metre": "m", "metres": "m",
    "millimeter": "mm", "millimeters": "mm", "millimetre": "mm", "millimetres": "mm",
    "micrometer": "um", "micrometers": "um", "micrometre": "um", "micrometres": "um",
    "micron": "um", "microns": "um", "mum": "um", "µ": "um", "u": "um",
    "nanometer": "nm", "nanometers": "nm", "nanometre": "nm", "nanometres": "nm",
    "angstrom": "A", "angstroms": "A", "ang": "A", "å": "A",
}


def length_factor(unit: str | None) -> float | None:
    """Metres per ``unit`` for a length unit as exporters write it (``"µm"``, ``"um"``,
    ``"Micrometer"``, ``"[mm]"``, ``"Angstrom"``), or ``None`` when it is not a length unit."""
    from ..units import LENGTH_UNITS

    if unit is None:
        return None
    text = unit.strip().strip("[]()").strip()
    if not text:
        return None
    if text in LENGTH_UNITS:
        return LENGTH_UNITS[text]
    low = text.lower().replace("μ", "µ")
    if low in _UNIT_WORDS:
        return LENGTH_UNITS[_UNIT_WORDS[low]]
    if low in LENGTH_UNITS:
        return LENGTH_UNITS[low]
    return None


#: What the text readers assume for numbers whose file states no unit (see docs/formats/text.md).
UNITLESS_RULE = ("no unit in the file: numbers taken as metres when every coordinate is within "
                 "+-1 (they look like SI values), otherwise as micrometres (the usual unit of "
                 "instrument text exports)")


def unitless_factor(*arrays: np.ndarray) -> tuple[float, str]:
    """Scale for numbers given without a unit: ``(1.0, "m")`` when every finite value lies in
    [-1, 1], else ``(1e-6, "µm")``. The choice is recorded in metadata by the caller."""
    biggest = 0.0
    for array in arrays:
        finite = array[np.isfinite(array)]
        if finite.size:
            biggest = max(biggest, float(np.max(np.abs(finite))))
    return (1.0, "m") if biggest <= 1.0 else (1e-6, "µm")
