"""Areal parameters of the real scans in ``$SURFSIGHT_DATA/topography`` (with their invalid points).

Prints a Markdown table for ``docs/metrology/areal.md``. Each scan is read with
``surfsight.read``, levelled by a least-squares plane over the valid points (F-operator), and
measured with ``surfsight.metrology.parameters`` (``on_error="nan"``: an undefined parameter shows as
``n/a`` and its reason is listed under the table). No S- or L-filter is applied.

    .venv/bin/python benchmarks/areal_real_scans.py
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surfsight import read  # noqa: E402
from surfsight.metrology import parameters, prepare  # noqa: E402
from surfsight.metrology.areal import ParameterWarning  # noqa: E402

DATA = Path(os.environ.get("SURFSIGHT_DATA", ROOT.parent / "shared" / "data")) / "topography"
SCANS = [
    "surfacetopography_examples/x3p-2.x3p",
    "x3ptools/sample-land.x3p",
    "opengps_x3p/KautschukInfiniteFocus.x3p",
    "opengps_x3p/SkiInfiniteFocus.x3p",
    "surfacetopography_examples/sur-2.sur",
    "surfacetopography_examples/sur-3.sur",
    "surfacetopography_examples/plu-1.plu",
]
COLUMNS = [("Sq", "µm", 1e-6), ("Ssk", "", 1), ("Sku", "", 1), ("Sz", "µm", 1e-6), ("Sdq", "", 1),
           ("Sdr", "%", 1), ("Sal", "µm", 1e-6), ("Str", "", 1), ("Std", "°", math.pi / 180),
           ("Sk", "µm", 1e-6), ("Spk", "µm", 1e-6), ("Svk", "µm", 1e-6), ("Smr1", "%", 1), ("Smr2", "%", 1),
           ("Vmc", "µm³/µm²", 1e-6), ("Vvv", "µm³/µm²", 1e-6), ("Spd", "1/mm²", 1e6), ("S10z", "µm", 1e-6)]


def main() -> int:
    header = "| scan | grid (rows x cols) | invalid | " + " | ".join(
        f"{n} ({u})" if u else n for n, u, _ in COLUMNS) + " | time (s) |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 4)]
    notes = []
    for rel in SCANS:
        path = DATA / rel
        if not path.exists():
            notes.append(f"{rel}: not found")
            continue
        try:
            surface = read(path)
        except Exception as exc:  # noqa: BLE001 - reported in the table notes
            notes.append(f"{rel}: not read ({type(exc).__name__}: {exc})")
            continue
        levelled = prepare.level_plane(surface)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ParameterWarning)
            values = parameters(levelled, [n for n, _, _ in COLUMNS], on_error="nan")
        elapsed = time.perf_counter() - t0
        for w in caught:
            if issubclass(w.category, ParameterWarning):
                notes.append(f"{rel}: {str(w.message).replace(str(path) + ': ', '')}")
        cells = []
        for name, _, scale in COLUMNS:
            v = values[name]
            if not math.isfinite(v):
                cells.append("n/a")
            elif name == "Std":  # degrees in [0, 180): one decimal, no exponent for a lay along an axis
                cells.append(f"{v / scale:.1f}")
            else:
                cells.append(f"{v / scale:.4g}")
        rows, cols = surface.shape
        lines.append(f"| {rel.split('/')[-1]} | {rows} x {cols} | {surface.invalid_fraction:.1%} | "
                     + " | ".join(cells) + f" | {elapsed:.2f} |")
    print("\n".join(lines))
    if notes:
        print()
        for note in notes:
            print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
