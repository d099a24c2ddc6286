"""Simulator benchmark: ``synth generate`` throughput, where ``sample()`` spends its time, the
measured parameter ranges of every preset, and twins of real scans.

Usage::

    .venv/bin/python benchmarks/bench_synth.py [--quick] [--tables] [--twins]

Prints samples/s for 256 x 256 with two workers (and 512 x 512), a cProfile split of
``sample()`` by stage, and with ``--tables`` / ``--twins`` the Markdown tables of
``docs/synth.md`` (``--twins`` also writes the side-by-side pictures to ``docs/images/synth``).
Timings depend on the load of the machine: run it on an idle machine for figures to quote.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DATA, ROOT, save  # noqa: E402
from surfsight.synth import PRESETS, sample  # noqa: E402
from surfsight.synth.dataset import generate  # noqa: E402

STAGES = {
    "texture": "processes.py",
    "defects": "defects.py",
    "instrument": "instruments.py",
    "render": "render.py",
    "labels": "_parameters",
}

TWINS = ["surfacetopography_examples/x3p-2.x3p", "opengps_x3p/KautschukInfiniteFocus.x3p",
         "surfacetopography_examples/plu-1.plu", "surfacetopography_examples/sur-2.sur",
         "surfacetopography_examples/matrix-3.txt", "afmreader_gwy/sample_0.gwy"]


def throughput(n: int, size: int, workers: int) -> float:
    out = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    try:
        generate(out, min(8, n), size=size, seed=99, workers=workers, shard_size=4, progress=False)  # warm up
        start = time.perf_counter()
        generate(out, n, size=size, seed=0, workers=workers, shard_size=max(4, n // (4 * workers)), progress=False)
        return n / (time.perf_counter() - start)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def stage_profile(n: int = 27, size: int = 256) -> dict[str, float]:
    """Share of ``sample()`` time per stage (cProfile cumulative time, presets cycled)."""
    names = list(PRESETS)
    sample(names[0], size, seed=123)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        sample(names[i % len(names)], size, seed=i)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = next(v[3] for k, v in stats.items() if k[2] == "sample" and k[0].endswith("sample.py"))
    shares = {}
    for stage, key in STAGES.items():
        if stage == "labels":
            t = sum(v[3] for k, v in stats.items() if k[2] == key)
        elif stage == "texture":
            t = sum(v[3] for k, v in stats.items() if k[0].endswith("sample.py") is False and k[2] == "build"
                    and k[0].endswith("processes.py")) or sum(v[3] for k, v in stats.items()
                                                             if k[0].endswith("processes.py") and k[2].startswith("_")
                                                             and k[2] in ("_ground", "_turned", "_milled", "_honed",
                                                                          "_dimpled", "_polished", "_random_abrasive",
                                                                          "_additive"))
        elif stage == "defects":
            t = sum(v[3] for k, v in stats.items() if k[0].endswith(key) and k[2] == "add_defects")
        elif stage == "instrument":
            t = sum(v[3] for k, v in stats.items() if k[0].endswith(key) and k[2] == "measure")
        else:
            t = sum(v[3] for k, v in stats.items() if k[0].endswith(key) and k[2] == "render")
        shares[stage] = t / total
    shares["per_sample_ms"] = 1e3 * total / n
    return shares


def preset_table(seeds: int, size: int = 256) -> list[dict]:
    rows = []
    for name, preset in PRESETS.items():
        vals = {k: [] for k in ("Sa", "Sq", "Sal", "Str")}
        for seed in range(seeds):
            s = sample(name, size, seed=seed, defects=[], instrument="csi")
            for k in vals:
                vals[k].append(s.labels[k])
        row = {"preset": name, "spacing_um": preset.spacing * 1e6, "n": seeds}
        for k, v in vals.items():
            a = np.array(v, float)
            ok = a[np.isfinite(a)]
            row[k] = (float(ok.min()), float(ok.max())) if ok.size else None
            row[f"{k}_undefined"] = int((~np.isfinite(a)).sum())
        rows.append(row)
    return rows


def texture_tolerances(seeds: int = 30) -> list[dict]:
    from surfsight.metrology import parameters
    from surfsight.synth import texture

    um = 1e-6
    cases = [("gaussian", dict(Sal=5 * um)), ("gaussian", dict(Sal=4 * um, Str=0.2, Std=2.5)),
             ("exponential", dict(Sal=5 * um, Str=0.6, Std=1.0)), ("gaussian", dict(Sal=5 * um, Ssk=1.5, Sku=8.0, Str=0.5)),
             ("exponential", dict(Sal=5 * um, Ssk=-0.8, Sku=4.5, Str=0.3)), ("gaussian", dict(Sal=5 * um, Ssk=0.8, Sku=2.0))]
    rows = []
    for kind, t in cases:
        err = {k: 0.0 for k in ("Sq", "Sal", "Str", "Ssk", "Sku")}
        for seed in range(seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = parameters(texture(128, um, seed, kind, Sq=um, **t), list(err))
            err["Sq"] = max(err["Sq"], abs(p["Sq"] / um - 1))
            err["Sal"] = max(err["Sal"], abs(p["Sal"] / t["Sal"] - 1))
            err["Str"] = max(err["Str"], abs(p["Str"] - t.get("Str", 1)))
            err["Ssk"] = max(err["Ssk"], abs(p["Ssk"] - t.get("Ssk", 0)))
            err["Sku"] = max(err["Sku"], abs(p["Sku"] - t.get("Sku", 3)))
        rows.append({"kind": kind, "targets": {k: v for k, v in t.items()}, "worst": err})
    return rows


def twins_table(images: Path) -> list[dict]:
    from surfsight import io
    from surfsight.metrology import parameters
    from surfsight.synth.fit import fit_texture, side_by_side, twin

    images.mkdir(parents=True, exist_ok=True)
    rows = []
    for rel in TWINS:
        path = DATA / "topography" / rel
        if not path.exists():
            continue
        real = io.read(path)
        f = fit_texture(real)
        t = twin(real, 0, f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = parameters(t, ["Sq", "Sal", "Str", "Std", "Ssk", "Sku"], on_error="nan")
        picture = images / f"twin-{path.stem}.png"
        side_by_side(real, t, picture)
        rows.append({"file": path.name, "shape": list(real.shape), "fit": f.as_dict(), "twin": p,
                     "picture": str(picture.relative_to(ROOT))})
    return rows


def _fmt(v, scale=1e6, digits=3):
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v * scale:.{digits}g}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    ap.add_argument("--tables", action="store_true", help="preset ranges and texture tolerances")
    ap.add_argument("--twins", action="store_true", help="fit real scans, write pictures")
    args = ap.parse_args()
    result: dict = {}
    n256, n512 = (48, 8) if args.quick else (160, 24)
    result["samples_per_s_256_w2"] = throughput(n256, 256, 2)
    result["samples_per_s_256_w1"] = throughput(n256 // 2, 256, 1)
    result["samples_per_s_512_w2"] = throughput(n512, 512, 2)
    print(f"synth generate 256x256, 2 workers: {result['samples_per_s_256_w2']:.1f} samples/s "
          f"(1 worker: {result['samples_per_s_256_w1']:.1f}); 512x512, 2 workers: {result['samples_per_s_512_w2']:.1f}")
    result["stages"] = stage_profile(18 if args.quick else 45)
    print("sample() time by stage:", {k: round(v, 3) for k, v in result["stages"].items()})
    if args.tables:
        result["presets"] = preset_table(6 if args.quick else 20)
        print("\n| preset | spacing (µm) | Sa (µm) | Sq (µm) | Sal (µm) | Str |\n|---|---|---|---|---|---|")
        for r in result["presets"]:
            rng = lambda k, s=1e6: "n/a" if r[k] is None else f"{_fmt(r[k][0], s)} – {_fmt(r[k][1], s)}"  # noqa: E731
            und = f" ({r['Str_undefined']}/{r['n']} undefined)" if r["Str_undefined"] else ""
            print(f"| {r['preset']} | {r['spacing_um']:g} | {rng('Sa')} | {rng('Sq')} | {rng('Sal')} | {rng('Str', 1)}{und} |")
        result["texture"] = texture_tolerances(10 if args.quick else 30)
        print("\n| kind | targets | worst Sq | worst Sal | worst Str | worst Ssk | worst Sku |\n|---|---|---|---|---|---|---|")
        for r in result["texture"]:
            w = r["worst"]
            print(f"| {r['kind']} | {r['targets']} | {w['Sq'] * 100:.2g} % | {w['Sal'] * 100:.3g} % | {w['Str']:.3f} | "
                  f"{w['Ssk']:.3f} | {w['Sku']:.3f} |")
    if args.twins:
        result["twins"] = twins_table(ROOT / "docs" / "images" / "synth")
        print("\n| scan | grid | model | Sq real / twin (µm) | Sal real / twin (µm) | Str real / twin | Ssk real / twin | "
              "Sku real / twin | PSD slope, H |\n|---|---|---|---|---|---|---|---|---|")
        for r in result["twins"]:
            f, t, m = r["fit"], r["twin"], r["fit"]["measured"]
            print(f"| {r['file']} | {r['shape'][0]}×{r['shape'][1]} | {f['kind']} | {_fmt(m['Sq'])} / {_fmt(t['Sq'])} | "
                  f"{_fmt(m['Sal'])} / {_fmt(t['Sal'])} | {_fmt(m['Str'], 1, 2)} / {_fmt(t['Str'], 1, 2)} | "
                  f"{m['Ssk']:.2f} / {t['Ssk']:.2f} | {m['Sku']:.2f} / {t['Sku']:.2f} | {f['psd_slope']:.2f}, {f['hurst']:.2f} |")
    print("results:", save("synth", result))


if __name__ == "__main__":
    main()
