"""Read time of every real instrument file: surfsight vs SurfaceTopography, side by side.

Run: ``.venv/bin/python benchmarks/bench_read.py`` (``make bench`` installs the peers).
Prints a table and writes ``benchmarks/results/read.json``. The ratio is peer time / surfsight
time (above 1: surfsight is faster); "-" where the peer cannot open the file.
"""

from __future__ import annotations

import re
import sys
import warnings

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))

import surfsight  # noqa: E402
from benchmarks.common import DATA, best_time, save  # noqa: E402

NOT_DATA = re.compile(r"MANIFEST|LICENSE|COPYING|README|DESCRIPTION|\.md$|\.toml$|\.tx3$|[Ll]icen[cs]e|"
                      r"ExamplesReadMe|fdam1\.xml$")


def peer_reader():
    try:
        from SurfaceTopography import open_topography
    except ImportError:
        return None

    def read(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return open_topography(str(path)).topography()

    return read


def main() -> None:
    topo = DATA / "topography"
    files = sorted(p for p in topo.rglob("*") if p.is_file() and not NOT_DATA.search(str(p.relative_to(topo)))
                   and "surfcom" not in str(p))
    # one Surfcom pair stands for the 20 tiny profiles
    files += sorted(topo.glob("surfcom_stylus_profiles/GrupoI/EspeI/3.tx*"))[:2]
    peer = peer_reader()
    rows = []
    print(f"{'file':80s} {'surfsight ms':>13s} {'SurfaceTopography ms':>21s} {'ratio':>7s}")
    for path in files:
        rel = str(path.relative_to(topo))
        try:
            ours = best_time(lambda: surfsight.read(path))
        except surfsight.FormatError as exc:
            ours, note = None, str(exc)
        else:
            note = ""
        theirs = None
        if peer is not None:
            try:
                peer(path)
                theirs = best_time(lambda: peer(path))
            except Exception:  # the peer cannot open it
                theirs = None
        ratio = theirs / ours if (ours and theirs) else None
        rows.append({"file": rel, "surfsight_s": ours, "surfacetopography_s": theirs, "ratio": ratio, "note": note})
        fmt = lambda t: f"{t * 1e3:13.2f}" if t else f"{'-':>13s}"  # noqa: E731
        print(f"{rel[:80]:80s} {fmt(ours)} {fmt(theirs):>21s} {f'{ratio:7.2f}' if ratio else '      -'}")
    both = [r for r in rows if r["ratio"]]
    if both:
        import statistics

        print(f"\nfiles both read: {len(both)}; median ratio (peer/surfsight) {statistics.median(r['ratio'] for r in both):.2f}; "
              f"surfsight alone: {sum(1 for r in rows if r['surfsight_s'] and not r['surfacetopography_s'])}")
    print(f"wrote {save('read', {'peer': 'SurfaceTopography', 'rows': rows})}")


if __name__ == "__main__":
    main()
