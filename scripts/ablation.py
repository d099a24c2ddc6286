"""Multi-task vs single-task ablation in one process (sequential runs; for a CPU).

The same backbone (the recipe's model) and the same budget (steps, or wall-clock seconds) for each run: all tasks
together, then each task alone; every model is scored on the same fresh samples (seed
987654). Writes ablation.json and ablation.md into --out (scripts/train_gpu.sh does the same
with parallel runs on a GPU).

    python scripts/ablation.py --config configs/cpu_small.yaml --train-data DIR --steps 150 --n-eval 100 --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--train-data", required=True)
    ap.add_argument("--seconds", type=float, default=None, help="wall-clock budget per run")
    ap.add_argument("--steps", type=int, default=None, help="step budget per run (fairer on a shared machine)")
    ap.add_argument("--n-eval", type=int, default=100)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    from surfsight.model.config import TASKS
    from surfsight.model.evaluate import evaluate, simulate
    from surfsight.model.train import load_recipe, train

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = simulate(a.n_eval, 987654, 128, 8, 1)
    runs = {"multi": list(TASKS), **{t: [t] for t in TASKS}}
    for name, tasks in runs.items():
        recipe = load_recipe(a.config, data={"train": a.train_data, "calibration": None},
                             train={"tasks": tasks, "time_limit_s": a.seconds, "steps": a.steps or 100000})
        model, summary = train(recipe, out / name, resume=False, log=lambda m: None)
        result = {"steps": summary["steps"]}
        for mode in (("height", "image") if name in ("multi", "reconstruction") else ("height",)):
            result[mode] = evaluate(model, rows=rows, input=mode, passes=4)
        (out / f"{name}.eval.json").write_text(json.dumps(result, default=str))
        print(name, "steps", summary["steps"], flush=True)

    def get(name, mode, path):
        try:
            r = json.loads((out / f"{name}.eval.json").read_text())[mode]
            for p in path:
                r = r[p]
            return r
        except (OSError, KeyError, TypeError):
            return None

    table = [
        ("segmentation", "defect mIoU (height)", "height", ("defects", "miou")),
        ("segmentation", "defect recall (height)", "height", ("defects", "recall")),
        ("parameters", "Sa R2 (height)", "height", ("parameters", "Sa", "r2")),
        ("parameters", "Ssk R2 (height)", "height", ("parameters", "Ssk", "r2")),
        ("parameters", "Sal R2 (height)", "height", ("parameters", "Sal", "r2")),
        ("uncertainty", "u(Sa) R2 (height)", "height", ("measurement_uncertainty", "Sa", "r2")),
        ("instrument", "instrument accuracy (height)", "height", ("instrument", "accuracy")),
        ("reconstruction", "reconstruction R2 (image)", "image", ("reconstruction", "r2_median")),
    ]
    rows_out = [{"task": t, "metric": m, "multi": get("multi", mode, p), "single": get(t, mode, p)}
                for t, m, mode, p in table]
    steps = {name: json.loads((out / f"{name}.eval.json").read_text())["steps"] for name in runs}
    (out / "ablation.json").write_text(json.dumps({"seconds_per_run": a.seconds, "steps_per_run": a.steps,
                                                   "steps": steps, "rows": rows_out},
                                                  indent=1))
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    lines = ["| task | metric | multi-task | single-task |", "|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['metric']} | {fmt(r['multi'])} | {fmt(r['single'])} |" for r in rows_out]
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print("steps per run:", steps)


if __name__ == "__main__":
    main()
