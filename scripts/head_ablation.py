"""Multi-task vs single-task global heads on one trained trunk.

The global head (parameters, measurement uncertainty, instrument) is re-initialised and
refitted on the frozen trunk of MODEL_DIR four times with the same data, epochs and seed: once
with the three tasks together, once with each task alone (:func:`surfsight.model.refit.refit_head`). Each variant is
calibrated on the same held-out shards and scored on the same fresh samples, so the only
difference is whether the head's hidden layers are shared between the tasks.

Usage:
    python scripts/head_ablation.py MODEL_DIR --train data/train data/train2 --calib data/calib \
        --n-eval 500 --seed 987654 --epochs 150 --out runs/head_ablation.json

Prints a Markdown table and writes the full results as JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

VARIANTS = {"multi-task": ("parameters", "uncertainty", "instrument"), "parameters": ("parameters",),
            "uncertainty": ("uncertainty",), "instrument": ("instrument",)}
METRICS = {  # task -> (label, path into the evaluate() result)
    "parameters": [("Sa R2", ("parameters", "Sa", "r2")), ("Sq R2", ("parameters", "Sq", "r2")),
                   ("Sz R2", ("parameters", "Sz", "r2")), ("Ssk R2", ("parameters", "Ssk", "r2")),
                   ("Sku R2", ("parameters", "Sku", "r2")), ("Sdq R2", ("parameters", "Sdq", "r2")),
                   ("Sal R2", ("parameters", "Sal", "r2")), ("Str R2", ("parameters", "Str", "r2")),
                   ("Sa coverage90", ("parameters", "Sa", "coverage90"))],
    "uncertainty": [("u(Sa) R2", ("measurement_uncertainty", "Sa", "r2")),
                    ("u(Sq) R2", ("measurement_uncertainty", "Sq", "r2"))],
    "instrument": [("accuracy", ("instrument", "accuracy")), ("ECE", ("instrument", "ece"))],
}


def _get(d, path):
    for p in path:
        d = d[p]
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--seed", type=int, default=987654)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/head_ablation.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model
    from surfsight.model.calibration import calibrate
    from surfsight.model.evaluate import evaluate, simulate
    from surfsight.model.refit import concat_features, folder_features, refit_head
    from surfsight.model.train import load_shards

    base = load_model(args.model)
    cal_rows = load_shards(args.calib)
    size = int(base.metadata.get("size", base.config.tile))
    eval_rows = simulate(args.n_eval, args.seed, size, 8, 2)
    t = time.perf_counter()
    feats = concat_features(folder_features(base, args.train, ["height"]))   # one folder in memory at a time
    n_rows = int(feats["m1"].shape[0])
    print(f"pooled features of {n_rows} samples in {time.perf_counter() - t:.0f} s")
    results = {}
    for name, tasks in VARIANTS.items():
        model = copy.deepcopy(base)
        t = time.perf_counter()
        # every variant starts from the same freshly initialised head (reinit, seed 0)
        summary = refit_head(model, [], ["height"], epochs=args.epochs, tasks=tasks, features=feats, seed=0,
                             reinit=True)
        calibrate(model, cal_rows, 0.1, 16, ["height"])  # stored in model.metadata["calibration"]
        ev = evaluate(model, seed=args.seed, input="height", size=size, rows=eval_rows)
        results[name] = {"refit": summary, "evaluation": ev}
        print(f"{name}: refit {time.perf_counter() - t:.0f} s, best epoch {summary['best_epoch']}")
    lines = [f"Head-level ablation on the trunk of `{args.model}`: {n_rows} training samples (height input), "
             f"{args.epochs} epochs, scored on {args.n_eval} fresh samples (seed {args.seed}).", "",
             "| task | metric | multi-task head | single-task head |", "|---|---|---|---|"]
    for task, metrics in METRICS.items():
        for label, path in metrics:
            multi = _get(results["multi-task"]["evaluation"], path)
            single = _get(results[task]["evaluation"], path)
            lines.append(f"| {task} | {label} | {multi:.3f} | {single:.3f} |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"table": table, "results": results}, indent=1))


if __name__ == "__main__":
    main()
