"""Tokyo Seimitsu (Accretech) Surfcom stylus profile exports: ``.tx1`` / ``.tx2`` / ``.tx3``.

Layout (ASCII, one value per line)::

    10.00000      evaluation length in mm (nominal)
    28087         number of points
    10.6720       height 1 in µm
    ...

``.tx1`` holds the primary profile (P, after the lambda_s filter), ``.tx2`` the instrument's own
roughness profile (R, after its Gaussian lambda_c filter), same layout. ``.tx3`` is a tab-separated
settings sheet in Latin-1 (Spanish labels in the files we have: ``Longitud evaluación``,
``Onda de corte``, ``Longitud onda corte Ls``, ``Tipo corte``, ``Captador``, ``Fecha``...).
The ``.tx3`` is never read as data; when it lies next to the ``.tx1``/``.tx2`` its settings go to
``metadata["settings"]`` and the known ones to plain keys (``cutoff_lambda_c``, ``cutoff_lambda_s``,
``filter``, ``date``, ``stylus``, ``evaluation_length``).

Sampling interval
-----------------
``dx = L / n`` with ``L`` the evaluation length and ``n`` the point count, so the profile's
length ``n * dx`` equals the stated evaluation length (surfsight's convention, as ISO 21920's
``ln``). ``L`` comes from the ``.tx3`` ("Longitud evaluación") when present, else from line 1.
This matters: in 3 of the 10 real specimens the measurement was cut short when the stylus left
the +-128 µm range (``Cálculo corte ON``): the ``.tx1`` still says 10.00000 mm but holds 24241 or
25549 points, and the ``.tx3`` gives the true evaluation length (8.6310291 mm, 9.0967436 mm).
With it, ``L / n`` gives 0.3560509 µm in both short files, the same pitch to 1e-9, whereas
``L / (n - 1)`` gives 0.3560656 µm; a full 10 mm record gives 0.3560366 µm (``L / n``) or
0.3560493 µm (``L / (n - 1)``). Filtering ``.tx1`` with a Gaussian filter and fitting the cutoff
against ``.tx2`` confirms the pitch only to about 1 %, so the n versus n - 1 question (4e-5) is
beyond what the filter can show; ``L / n`` is chosen for the exact agreement of the short files.
Without the ``.tx3`` a cut-short record cannot be recognised and its spacing is up to 14 % too
large: ``metadata["spacing_source"]`` says which length was used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError
from ..surface import Profile
from .safety import check_grid, read_all
from .text_numbers import decode, length_factor, normalise_newlines, parse_block, refuse_binary

SUFFIX_CHANNEL = {".tx1": "primary", ".tx2": "roughness"}
CHANNEL_SUFFIX = {v: k for k, v in SUFFIX_CHANNEL.items()}

#: tx3 labels (Spanish as in the real files, English guessed from the same instrument family).
_TX3_KEYS = {
    "longitud evaluación": "evaluation_length", "evaluation length": "evaluation_length",
    "longitud medición": "measuring_length", "measuring length": "measuring_length",
    "onda de corte": "cutoff_lambda_c", "cutoff": "cutoff_lambda_c", "cut off": "cutoff_lambda_c",
    "longitud onda corte ls": "cutoff_lambda_s", "ls cutoff": "cutoff_lambda_s",
    "tipo corte": "filter", "filter type": "filter", "cutoff type": "filter",
    "captador": "stylus", "pickup": "stylus", "detector": "stylus",
    "velocidad medición": "measuring_speed", "measuring speed": "measuring_speed",
    "rango de medida": "measuring_range", "measuring range": "measuring_range",
    "estándar": "standard", "standard": "standard",
}
_LENGTH_KEYS = {"evaluation_length", "measuring_length", "cutoff_lambda_c", "cutoff_lambda_s"}
_QUANTITY = re.compile(r"^\s*\+?/?-?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµμ]+)")


def read_surfcom(path: Path, channel: str | None = None, spacing: Any = None) -> Profile:
    """Read a Surfcom ``.tx1`` (primary) or ``.tx2`` (roughness) profile; see the module notes.

    ``channel="primary"`` or ``"roughness"`` reads the sibling file of the same stem.
    """
    path = Path(path)
    if path.suffix.lower() == ".tx3":
        raise FormatError(path, "is a Surfcom settings sheet (.tx3) and holds no heights; read the .tx1 "
                                "(primary profile) or .tx2 (roughness profile) beside it")
    own = SUFFIX_CHANNEL.get(path.suffix.lower(), "primary")
    siblings = {name: path.with_suffix(suffix) for name, suffix in
                ((n, _sibling_suffix(path, s)) for n, s in CHANNEL_SUFFIX.items())}
    channels = [name for name, p in siblings.items() if p == path or p.is_file()]
    if channel is not None and channel.lower() != own:
        if channel.lower() not in channels:
            raise FormatError(path, f"has channels {channels}, not {channel!r}")
        own = channel.lower()
        path = siblings[own]
    length_mm, heights_um = _parse(path)
    n = heights_um.size
    meta: dict[str, Any] = {
        "instrument": "Tokyo Seimitsu Surfcom stylus profiler",
        "channel": own, "channels": channels, "original_units": "mm (length), µm (heights)",
        "profile_type": "primary (P)" if own == "primary" else "roughness (R, instrument Gaussian filter)",
        "nominal_length": length_mm * 1e-3,
    }
    length = length_mm * 1e-3
    meta["spacing_source"] = "line 1 of the file (nominal evaluation length) / number of points"
    tx3 = _sibling(path, ".tx3")
    if tx3 is not None:
        settings = read_tx3(tx3)
        meta["settings"] = settings["raw"]
        meta.update({k: v for k, v in settings.items() if k != "raw"})
        evaluation = settings.get("evaluation_length")
        if isinstance(evaluation, float) and evaluation > 0:
            length = evaluation
            meta["spacing_source"] = f"evaluation length in {tx3.name} / number of points"
    meta["evaluation_length"] = length
    return Profile(heights_um * 1e-6, length / n, metadata=meta)


def _sibling_suffix(path: Path, suffix: str) -> str:
    return suffix.upper() if path.suffix.isupper() else suffix


def _sibling(path: Path, suffix: str) -> Path | None:
    for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if candidate.is_file():
            return candidate
    return None


def _parse(path: Path) -> tuple[float, np.ndarray]:
    data = normalise_newlines(read_all(path))
    if not data.strip():
        raise FormatError(path, "file is empty")
    lines = data.split(b"\n", 2)
    if len(lines) < 3:
        raise FormatError(path, "needs the length (line 1), the point count (line 2) and heights: truncated")
    for number, line in enumerate(lines[:2], start=1):
        refuse_binary(path, line, number)
    try:
        length_mm = float(lines[0].strip())
    except ValueError:
        raise FormatError(path, f"line 1: {decode(lines[0][:40]).strip()!r} is not an evaluation length "
                                "in mm") from None
    if not np.isfinite(length_mm) or length_mm <= 0:
        raise FormatError(path, f"line 1: evaluation length {length_mm} mm is not positive")
    count_text = lines[1].strip()
    if not count_text.isdigit():
        raise FormatError(path, f"line 2: {decode(count_text[:40])!r} is not a point count")
    count = int(count_text)
    check_grid(path, (count,), 1, len(lines[2]), what="Surfcom profile")
    values = parse_block(path, lines[2], 3, what="Surfcom heights", columns=1)
    if values.shape[0] != count:
        raise FormatError(path, f"line 2 says {count} points but {values.shape[0]} heights follow"
                                + (" (truncated file?)" if values.shape[0] < count else ""))
    return length_mm, values[:, 0]


def read_tx3(path: Path) -> dict[str, Any]:
    """Settings of a ``.tx3`` sheet: ``{"raw": {label: text}, <known keys>: values in SI}``.

    Result rows that the instrument left unfilled (``*.*******um``) are kept as text. A line
    without a tab is ignored; nothing here raises on odd content.
    """
    try:
        text = read_all(path, limit=1 << 20).decode("latin-1")
    except (OSError, FormatError):
        return {"raw": {}}
    raw: dict[str, str] = {}
    for line in text.splitlines():
        if "\t" not in line:
            continue
        label, value = line.split("\t", 1)
        label, value = label.strip(), value.strip().replace("\t", " ")
        if label and label not in raw:
            raw[label] = value
    out: dict[str, Any] = {"raw": raw}
    for label, value in raw.items():
        key = _TX3_KEYS.get(label.lower())
        if key is None or key in out:
            continue
        if key in _LENGTH_KEYS:
            match = _QUANTITY.match(value)
            factor = length_factor(match.group(2)) if match else None
            if match and factor:
                out[key] = float(match.group(1)) * factor
        elif value:
            out[key] = value
    date, time = raw.get("Fecha") or raw.get("Date"), raw.get("Hora") or raw.get("Time")
    if date:
        match = re.match(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})$", date)
        if match:
            day, month, year = match.groups()
            out["date"] = f"{year}-{int(month):02d}-{int(day):02d}" + (f"T{time}" if time else "")
        else:
            out["date"] = date + (f" {time}" if time else "")
    return out


def sniff_surfcom(head: bytes, path: Path | None) -> bool:
    """``.tx1``/``.tx2`` suffix, a length on line 1, a whole count on line 2, a number on line 3."""
    try:
        if path is None or Path(path).suffix.lower() not in SUFFIX_CHANNEL:
            return False
        lines = normalise_newlines(head).split(b"\n")
        if len(lines) < 3:
            return False
        float(lines[0].strip())
        float(lines[2].strip())
        return lines[1].strip().isdigit()
    except Exception:  # sniffers never raise
        return False
