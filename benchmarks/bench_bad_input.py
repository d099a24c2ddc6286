"""How fast and how lean surfsight refuses bad input: every real file truncated at several
points, random bytes, a zip bomb, an XML entity-expansion attack and huge claimed grids.

Run: ``.venv/bin/python benchmarks/bench_bad_input.py``. Prints the slowest refusals and the
peak traced allocation, and writes ``benchmarks/results/bad_input.json``. The issue's bar is a
clear error within a second, without allocating the claimed size.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import surfsight  # noqa: E402
from benchmarks.common import DATA, save  # noqa: E402
from tests.io.test_bad_input import TEXT_SUFFIXES, _text_cut  # noqa: E402  (same cut rule as the tests)

NOT_DATA = re.compile(r"MANIFEST|LICENSE|COPYING|README|DESCRIPTION|\.md$|\.toml$|\.tx3$|[Ll]icen[cs]e|"
                      r"ExamplesReadMe|fdam1\.xml$|\.plux$")


def cases(folder: Path):
    topo = DATA / "topography"
    for path in sorted(p for p in topo.rglob("*") if p.is_file() and not NOT_DATA.search(str(p.relative_to(topo)))):
        data = path.read_bytes()
        for fraction in (0.03, 0.5, 0.97):
            cut = max(1, int(len(data) * fraction))
            if path.name.lower().endswith(TEXT_SUFFIXES):
                cut = _text_cut(data, cut)
            target = folder / f"cut{int(fraction * 100)}_{path.name}"
            target.write_bytes(data[:cut])
            yield f"{path.relative_to(topo)} cut at {fraction:.0%}", target, path
    rng = __import__("numpy").random.default_rng(0)
    for suffix in (".x3p", ".sur", ".gwy", ".plu", ".dat", ".txt", ".opd"):
        target = folder / f"random{suffix}"
        target.write_bytes(rng.bytes(100_000))
        yield f"random bytes {suffix}", target, None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("main.xml", b"<ISO5436_2/>")
        z.writestr("bindata/data.bin", b"\0" * (200 * 2**20))
    (folder / "bomb.x3p").write_bytes(buf.getvalue())
    yield "zip bomb (200 MiB member)", folder / "bomb.x3p", None
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
              b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)) +
              b"]><ISO5436_2>&i;</ISO5436_2>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.xml", laughs)
    (folder / "laughs.x3p").write_bytes(buf.getvalue())
    yield "XML billion laughs in x3p", folder / "laughs.x3p", None
    header = b"Gwyddion Simple Field 1.0\nXRes = 1000000\nYRes = 1000000\nXReal = 1e-3\nYReal = 1e-3\n"
    (folder / "huge.gsf").write_bytes(header + b"\0" * (4 - len(header) % 4) + b"\0" * 64)
    yield "gsf claiming 10^6 x 10^6", folder / "huge.gsf", None


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, whole in cases(Path(tmp)):
            tracemalloc.start()
            start = time.perf_counter()
            try:
                obj = surfsight.read(path)
                outcome = "READ (not refused)"
                if whole is not None and np.array_equal(obj.heights, surfsight.read(whole).heights, equal_nan=True):
                    outcome = "read: the cut removed only unused trailing bytes; heights identical to the whole file"
            except surfsight.FormatError as exc:
                outcome = str(exc)[:100]
            except Exception as exc:  # noqa: BLE001 - reported as a defect
                outcome = f"CRASH {type(exc).__name__}: {exc}"[:100]
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append({"case": label, "seconds": elapsed, "peak_bytes": peak, "outcome": outcome,
                         "file_bytes": os.path.getsize(path)})
    rows.sort(key=lambda r: -r["seconds"])
    print(f"{len(rows)} bad inputs; slowest first")
    for r in rows[:15]:
        print(f"{r['seconds'] * 1e3:8.1f} ms  {r['peak_bytes'] / 2**20:7.1f} MiB  {r['case'][:55]:55s} {r['outcome'][:60]}")
    bad = [r for r in rows if r["outcome"].startswith(("READ", "CRASH"))]
    print(f"max {max(r['seconds'] for r in rows) * 1e3:.1f} ms; max peak {max(r['peak_bytes'] for r in rows) / 2**20:.1f} MiB;"
          f" not refused or crashed: {len(bad)}")
    for r in bad:
        print("  ", r["case"], r["outcome"])
    print(f"wrote {save('bad_input', {'rows': rows})}")


if __name__ == "__main__":
    main()
