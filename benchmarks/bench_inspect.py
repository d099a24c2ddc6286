"""Benchmark: ``surfsight inspect``, the whole pipeline per part and a batch with 1 and 2 workers.

Run from the project root::

    .venv/bin/python benchmarks/bench_inspect.py                   # 512 and 2048, batch of 8 at 512
    .venv/bin/python benchmarks/bench_inspect.py --sizes 512 --batch 4

What is timed (wall clock, limited to 2 threads per process, on simulated ground parts with a
deep scratch measured by the CSI model, written as x3p and read back like a real file):

* ``per_part``: :func:`surfsight.inspect.inspect_file` on one part (read, level, despike, S-filter,
  defect detection, ISO parameters with the 2 x 2 quarter uncertainty, roughness notch factor,
  fatigue Monte Carlo with 20 000 samples, verdict), best of ``--repeat``, plus the report's pictures
  (:func:`surfsight.report.html.part_figures`) timed apart; and the stages one by one.
* ``batch``: :func:`surfsight.inspect.run_batch` of ``--batch`` parts with ``--workers`` 1 and 2,
  pictures and report included, and the speed-up.

There is no peer that does the whole job; the stage timings say where the time goes. Results go
to ``benchmarks/results/inspect.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, save  # noqa: E402

SPEC = {"name": "bench: ground seat", "parameters": {"Sa": {"max": "3um"}, "Sq": {"max": "4um"}},
        "filters": {"S": "2.5um"}, "defects": {"any": {"max_depth": "6um", "max_count": 3}},
        "decision_rule": "guarded",
        "failure": {"material": "steel_42CrMo4_QT", "stress_amplitude": "250MPa", "min_safety_factor": 1.2}}


def _part(folder: Path, size: int, seed: int) -> Path:
    from surfsight import io
    from surfsight.synth import sample

    scale = size / 256  # the scratch keeps its share of the field
    part = sample("ground", size=size, seed=seed, defects=["scratch"], instrument="csi", defect_depth=12e-6,
                  defect_width=40e-6 * scale, defect_length=200e-6 * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return io.write(part.measured, folder / f"part-{size}-{seed}.x3p")


def _timed(function, repeat: int = 1):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def per_part(folder: Path, size: int, repeat: int) -> dict:
    from surfsight import io
    from surfsight.inspect import pipeline
    from surfsight.inspect.model_step import detect
    from surfsight.report.html import part_figures
    from surfsight.spec import evaluate, load_spec

    spec = load_spec(SPEC)
    path = _part(folder, size, seed=3)
    total, inspection = _timed(lambda: pipeline.inspect_file(path, spec), repeat)
    figures, _ = _timed(lambda: part_figures(inspection))
    stages = {}
    stages["read"], surface = _timed(lambda: io.read(path))
    stages["prepare"], prepared = _timed(lambda: pipeline.prepare(surface, spec))
    stages["model"], found = _timed(lambda: detect(prepared.surface))
    names = pipeline._names(spec)
    stages["measure"], table = _timed(lambda: pipeline.measure(prepared.surface, found.mask, names, found.estimates))
    stages["failure"], (entry, failure) = _timed(lambda: pipeline.assess_failure(spec.failure, prepared.surface,
                                                                                found.mask, found.defects))
    measurements = {"parameters": {n: {"value": p["measured"], "u": p["u"] or 0.0} for n, p in table.items()},
                    "defects": found.defects, "failure": failure}
    stages["verdict"], verdict = _timed(lambda: evaluate(spec, measurements))
    return {"size": size, "inspect_file_s": total, "figures_s": figures, "stages_s": stages,
            "verdict": inspection.row["verdict"], "detector": inspection.row["detector"],
            "defects": len(inspection.row["defects"])}


def batch(folder: Path, size: int, count: int, workers: int) -> dict:
    from surfsight.inspect import run_batch

    paths = [_part(folder, size, seed) for seed in range(count)]
    out = folder / f"out-{workers}"
    start = time.perf_counter()
    result = run_batch(paths, SPEC, out, workers=workers)
    seconds = time.perf_counter() - start
    return {"size": size, "parts": count, "workers": workers, "seconds": seconds, "per_part_s": seconds / count,
            "exit_status": result.exit_status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="parts in the batch test (512 x 512 each)")
    args = parser.parse_args(argv)
    results: dict = {"machine": machine(), "per_part": [], "batch": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in args.sizes:
            r = per_part(folder, size, args.repeat)
            results["per_part"].append(r)
            stages = ", ".join(f"{k} {v:.2f}" for k, v in r["stages_s"].items())
            print(f"{size:>5}^2: inspect_file {r['inspect_file_s']:.2f} s (+ report pictures {r['figures_s']:.2f} s)"
                  f" [{stages}] -> {r['verdict']}, {r['defects']} defect(s)")
        for workers in (1, 2):
            r = batch(folder, 512, args.batch, workers)
            results["batch"].append(r)
            print(f"batch of {r['parts']} at 512^2, --workers {workers}: {r['seconds']:.1f} s "
                  f"({r['per_part_s']:.2f} s per part)")
    one, two = results["batch"][0]["seconds"], results["batch"][1]["seconds"]
    results["batch_speedup_2_workers"] = one / two
    print(f"speed-up with 2 workers: {one / two:.2f}x")
    print(f"saved {save('inspect', results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
