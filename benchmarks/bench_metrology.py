"""Benchmark: the whole ISO 25178-2 areal parameter set, surfsight vs surfalize, side by side.

Run from the project root::

    .venv/bin/python benchmarks/bench_metrology.py                 # 512, 1024, 2048
    .venv/bin/python benchmarks/bench_metrology.py --sizes 512 1024 --repeat 3

What is timed (best of ``--repeat`` runs, wall clock, both on the same seeded surface in the same
process, limited to 2 threads):

* ``areal``: surfsight ``parameters(surface, names)`` for every non-feature parameter the two
  packages share (height, hybrid, spatial incl. Std/Ssw, material ratio and volume) against surfalize
  ``Surface.roughness_parameters(names)`` plus ``Std()`` on a *fresh* surfalize object each run (its
  per-object cache would otherwise return stored values). surfsight also computes the whole default
  set without features (``parameters(surface, names)``, a few more parameters than surfalize).
* ``features``: the feature parameters the two share (Spd, Spc, S5p, S5v, S10z), each package
  computing its own watershed segmentation with 5 % Wolf pruning.
* ``filters``: an areal Gaussian S-filter (low-pass) and L-filter (high-pass) of the surface,
  surfsight ``s_filter``/``l_filter`` vs surfalize ``GaussianFilter``.

Results go to ``benchmarks/results/metrology.json`` and a table is printed with the time ratio
surfalize / surfsight and the growth of each time from one size to the next (4x the points).
surfalize is a benchmark-only peer (the ``bench`` extra); it is never imported by surfsight.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from surfsight import Surface  # noqa: E402
from surfsight.metrology import DEFAULT_NAMES, PARAMETERS, filters, parameters  # noqa: E402

SHARED_AREAL = ["Sa", "Sq", "Sp", "Sv", "Sz", "Ssk", "Sku", "Sdr", "Sdq", "Sal", "Str", "Ssw", "Sk", "Spk", "Svk",
                "Spkx", "Svkx", "Smr1", "Smr2", "Sxp", "Vmp", "Vmc", "Vvc", "Vvv"]
SHARED_FEATURES = ["Spd", "Spc", "S5p", "S5v", "S10z"]
ALL_AREAL = [n for n in DEFAULT_NAMES if PARAMETERS[n].family != "feature"]
STEP_UM = 0.5
S_CUT_UM, L_CUT_UM = 2.5, 80.0


def seeded_surface(n: int, seed: int = 12345) -> np.ndarray:
    """A rough, slightly anisotropic test surface in micrometres (Sq about 1 um)."""
    rng = np.random.default_rng(seed)
    z = gaussian_filter(rng.standard_normal((n, n)), (3, 6))
    y, x = np.mgrid[0:n, 0:n]
    z = z / z.std() + 0.3 * np.sin(2 * np.pi * (x + 0.3 * y) / 64)
    return z




def best_of(fn, repeat: int) -> tuple[float, object]:
    """Best wall-clock time of ``repeat`` runs; the process CPU time of that run goes to CPU_TIMES
    (less sensitive to other programs sharing the cores, but it adds the time of all threads)."""
    best, result, cpu = float("inf"), None, float("nan")
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, cpu = wall, used
    best_of.last_cpu = cpu
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--repeat", type=int, default=2, help="runs per measurement (best is kept)")
    parser.add_argument("--skip-features", action="store_true", help="skip the feature-parameter timing")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "metrology.json")
    args = parser.parse_args(argv)

    try:
        import surfalize
        from surfalize import Surface as PeerSurface
        from surfalize.filter import GaussianFilter
        peer_version = getattr(surfalize, "__version__", "?")
    except ImportError:
        PeerSurface = None
        peer_version = None
        print("surfalize is not installed (pip install surfalize==0.19.2): timing surfsight alone")

    warnings.simplefilter("ignore")
    rows = []
    for n in args.sizes:
        z_um = seeded_surface(n)
        ours = Surface(z_um * 1e-6, spacing=STEP_UM * 1e-6)
        row: dict[str, object] = {"size": n, "points": n * n}

        t, _ = best_of(lambda: parameters(ours, SHARED_AREAL + ["Std"]), args.repeat)
        row["surfsight_areal_s"] = t
        row["surfsight_areal_cpu_s"] = best_of.last_cpu
        t, _ = best_of(lambda: parameters(ours, ALL_AREAL), args.repeat)
        row["surfsight_all_areal_s"] = t
        row["surfsight_all_areal_cpu_s"] = best_of.last_cpu
        t, _ = best_of(lambda: filters.l_filter(filters.s_filter(ours, S_CUT_UM * 1e-6), L_CUT_UM * 1e-6),
                       args.repeat)
        row["surfsight_filters_s"] = t
        row["surfsight_filters_cpu_s"] = best_of.last_cpu
        if not args.skip_features:
            t, _ = best_of(lambda: parameters(ours, SHARED_FEATURES), 1)
            row["surfsight_features_s"] = t
            row["surfsight_features_cpu_s"] = best_of.last_cpu
            # the whole default set, feature parameters included (more names than surfalize's)
            t, _ = best_of(lambda: parameters(ours, DEFAULT_NAMES, on_error="nan"), args.repeat)
            row["surfsight_whole_s"] = t
            row["surfsight_whole_cpu_s"] = best_of.last_cpu

        if PeerSurface is not None:
            def peer_areal():
                peer = PeerSurface(z_um, STEP_UM, STEP_UM)
                values = peer.roughness_parameters(SHARED_AREAL)
                values["Std"] = peer.Std()
                return values

            def peer_filters():
                peer = PeerSurface(z_um, STEP_UM, STEP_UM)
                return GaussianFilter(L_CUT_UM, "highpass")(GaussianFilter(S_CUT_UM, "lowpass")(peer))

            def peer_features():
                peer = PeerSurface(z_um, STEP_UM, STEP_UM)
                return peer.roughness_parameters(SHARED_FEATURES)

            t, _ = best_of(peer_areal, args.repeat)
            row["surfalize_areal_s"] = t
            row["surfalize_areal_cpu_s"] = best_of.last_cpu
            t, _ = best_of(peer_filters, args.repeat)
            row["surfalize_filters_s"] = t
            row["surfalize_filters_cpu_s"] = best_of.last_cpu
            if not args.skip_features:
                t, _ = best_of(peer_features, 1)
                row["surfalize_features_s"] = t
                row["surfalize_features_cpu_s"] = best_of.last_cpu
                t, _ = best_of(lambda: PeerSurface(z_um, STEP_UM, STEP_UM).roughness_parameters(), args.repeat)
                row["surfalize_whole_s"] = t
                row["surfalize_whole_cpu_s"] = best_of.last_cpu
        rows.append(row)
        print(f"  {n} x {n} done", flush=True)

    def ratio(row, what):
        a, b = row.get(f"surfalize_{what}_s"), row.get(f"surfsight_{what}_s")
        return None if a is None or b is None else a / b

    for row in rows:
        for what in ("areal", "filters", "features", "whole"):
            row[f"ratio_{what}"] = ratio(row, what)

    header = (f"{'size':>6} | {'areal: ours':>11} {'peer':>8} {'ratio':>6} | {'all areal':>9} | "
              f"{'filters: ours':>13} {'peer':>8} {'ratio':>6} | {'features: ours':>14} {'peer':>8} {'ratio':>6}")
    print()
    print(f"surfsight vs surfalize {peer_version}, seconds (best of {args.repeat}), "
          f"{os.cpu_count()} CPUs visible, 2 threads")
    print(header)
    print("-" * len(header))

    def fmt(value, width, spec=".3f"):
        return f"{value:{width}{spec}}" if isinstance(value, float) else f"{'-':>{width}}"

    for row in rows:
        print(f"{row['size']:>6} | {fmt(row['surfsight_areal_s'], 11)} {fmt(row.get('surfalize_areal_s'), 8)} "
              f"{fmt(row['ratio_areal'], 6, '.1f')} | {fmt(row['surfsight_all_areal_s'], 9)} | "
              f"{fmt(row['surfsight_filters_s'], 13)} {fmt(row.get('surfalize_filters_s'), 8)} "
              f"{fmt(row['ratio_filters'], 6, '.1f')} | {fmt(row.get('surfsight_features_s'), 14)} "
              f"{fmt(row.get('surfalize_features_s'), 8)} {fmt(row['ratio_features'], 6, '.1f')}")
    print()
    print("whole set, everything each computes by default (surfsight parameters(DEFAULT_NAMES) vs surfalize "
          "roughness_parameters()), features included:")
    for row in rows:
        print(f"  {row['size']}: ours {fmt(row.get('surfsight_whole_s'), 7)} s, peer "
              f"{fmt(row.get('surfalize_whole_s'), 7)} s, ratio {fmt(row.get('ratio_whole'), 5, '.1f')}")
    print()
    print("process CPU time of the same runs (all threads), surfalize / surfsight:")
    for row in rows:
        parts = []
        for what in ("areal", "filters", "features", "whole"):
            a, b = row.get(f"surfalize_{what}_cpu_s"), row.get(f"surfsight_{what}_cpu_s")
            if isinstance(a, float) and isinstance(b, float) and b > 0:
                row[f"cpu_ratio_{what}"] = a / b
                parts.append(f"{what} {b:.3f} s vs {a:.3f} s (x{a / b:.1f})")
        print(f"  {row['size']}: " + "; ".join(parts))
    print()
    print("time growth per 4x points (size n / size n/2):")
    for prev, row in zip(rows, rows[1:]):
        parts = []
        for key in ("surfsight_areal_s", "surfalize_areal_s", "surfsight_features_s", "surfalize_features_s"):
            if isinstance(row.get(key), float) and isinstance(prev.get(key), float):
                parts.append(f"{key[:-2]} x{row[key] / prev[key]:.2f}")
        print(f"  {prev['size']} -> {row['size']}: " + ", ".join(parts))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "bench_metrology",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "surfalize": peer_version,
        "cpus_visible": os.cpu_count(),
        "repeat": args.repeat,
        "shared_areal": SHARED_AREAL + ["Std"],
        "shared_features": SHARED_FEATURES,
        "rows": rows,
    }
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(args.out)
    print(f"\nwritten {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
