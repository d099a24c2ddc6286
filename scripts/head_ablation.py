"""Multi-task vs single-task global heads on one trained trunk.

The global head (parameters, measurement uncertainty, instrument) is re-initialised and
refitted on the frozen trunk of MODEL_DIR with the same data, epochs and seed: with the three
tasks together, once for each ``--shared`` K (how many of the head's two hidden layers the
tasks share, ``ModelConfig.head_shared``; the rest are a hidden layer per task), and with each
task alone (:func:`surfsight.model.refit.refit_head`; a task alone has the same two hidden
layers whatever K). Each variant is calibrated on the same held-out shards and scored on the
same fresh samples, so the only difference is what the head's hidden layers share.

Usage:
    python scripts/head_ablation.py MODEL_DIR --train data/train data/train2 --calib data/calib \
        --n-eval 500 --seed 987654 --epochs 150 --shared 2 1 --seeds 0 1 2 --out runs/head_ablation.json

Prints a Markdown table and writes the full results as JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

TASKS = ("parameters", "uncertainty", "instrument")
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


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _multi(shared: int) -> str:
    return "multi-task" if shared == 2 else f"multi-task, {shared} shared"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--train", nargs="+", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--seed", type=int, default=987654)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--shared", type=int, nargs="*", default=[2], choices=(0, 1, 2),
                    help="multi-task heads sharing this many of the two hidden layers (one variant each)")
    ap.add_argument("--groups", nargs="*", default=[],
                    help="heads for a group of tasks only, e.g. uncertainty+instrument (one variant each)")
    ap.add_argument("--single", action=argparse.BooleanOptionalAction, default=True,
                    help="the single-task heads")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="head seeds (fresh weights, held-out split, batch order, dropout masks); with more than "
                         "one the table gives mean and standard deviation over them")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/head_ablation.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model
    from surfsight.model.calibration import calibrate
    from surfsight.model.evaluate import evaluate, simulate
    from surfsight.model.refit import concat_features, folder_features, refit_head, with_head_shared
    from surfsight.model.train import load_shards

    groups = {g: tuple(g.split("+")) for g in args.groups}
    unknown = [t for tasks in groups.values() for t in tasks if t not in TASKS]
    if unknown:
        ap.error(f"--groups: unknown task(s) {', '.join(unknown)} (known: {', '.join(TASKS)})")
    base = load_model(args.model)
    cal_rows = load_shards(args.calib)
    size = int(base.metadata.get("size", base.config.tile))
    eval_rows = simulate(args.n_eval, args.seed, size, 8, 2)
    t = time.perf_counter()
    feats = concat_features(folder_features(base, args.train, ["height"]))   # one folder in memory at a time
    n_rows = int(feats["m1"].shape[0])
    print(f"pooled features of {n_rows} samples in {time.perf_counter() - t:.0f} s")
    # name -> (head sharing, tasks); a task alone reads the same two hidden layers whatever the sharing
    variants = {**{_multi(k): (k, TASKS) for k in args.shared},
                **{g: (base.config.head_shared, tasks) for g, tasks in groups.items()},
                **({task: (base.config.head_shared, (task,)) for task in TASKS} if args.single else {})}
    results: dict[str, dict[int, dict]] = {name: {} for name in variants}
    for seed in args.seeds:
        for name, (shared, tasks) in variants.items():
            t = time.perf_counter()
            # every variant starts from freshly initialised head weights (reinit, the seed)
            model = with_head_shared(base, shared, seed)
            summary = refit_head(model, [], ["height"], epochs=args.epochs, tasks=tasks, features=feats, seed=seed,
                                 reinit=True)
            calibrate(model, cal_rows, 0.1, 16, ["height"])  # stored in model.metadata["calibration"]
            ev = evaluate(model, seed=args.seed, input="height", size=size, rows=eval_rows)
            results[name][seed] = {"refit": summary, "evaluation": ev}
            print(f"{name}, seed {seed}: refit {time.perf_counter() - t:.0f} s, best epoch {summary['best_epoch']}",
                  flush=True)
    seeds = ", ".join(map(str, args.seeds))
    lines = [f"Head-level ablation on the trunk of `{args.model}`: {n_rows} training samples (height input), "
             f"{args.epochs} epochs, scored on {args.n_eval} fresh samples (seed {args.seed}); head seeds {seeds}"
             + (" (mean ± standard deviation)." if len(args.seeds) > 1 else "."), ""]
    columns = [_multi(k) for k in args.shared] + list(groups) + (["single-task head"] if args.single else [])
    lines += ["| task | metric | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for task, metrics in METRICS.items():
        for label, path in metrics:
            def cell(variant: str) -> str:   # the metric over the seeds of one variant
                return _cell([_get(r["evaluation"], path) for r in results[variant].values()])

            cells = [cell(_multi(k)) for k in args.shared]
            cells += [cell(g) if task in tasks else "-" for g, tasks in groups.items()]
            if args.single:
                cells.append(cell(task))
            lines.append(f"| {task} | {label} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"table": table, "results": results}, indent=1))


if __name__ == "__main__":
    main()
