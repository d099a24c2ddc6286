"""Multi-task vs single-task table from the ablation runs of scripts/train_gpu.sh.

Usage: python scripts/ablation_table.py ABLATION_DIR OUT_DIR  (writes ablation.json, ablation.md)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = [  # (task, metric label, file, getter)
    ("segmentation", "defect mIoU (height)", "{run}.eval.json", lambda r: r["defects"]["miou"]),
    ("segmentation", "defect recall (height)", "{run}.eval.json", lambda r: r["defects"]["recall"]),
    ("parameters", "Sa R2 (height)", "{run}.eval.json", lambda r: r["parameters"]["Sa"]["r2"]),
    ("parameters", "Sal R2 (height)", "{run}.eval.json", lambda r: r["parameters"]["Sal"]["r2"]),
    ("parameters", "Ssk R2 (height)", "{run}.eval.json", lambda r: r["parameters"]["Ssk"]["r2"]),
    ("uncertainty", "u(Sa) R2 (height)", "{run}.eval.json", lambda r: r["measurement_uncertainty"]["Sa"]["r2"]),
    ("instrument", "instrument accuracy (height)", "{run}.eval.json", lambda r: r["instrument"]["accuracy"]),
    ("reconstruction", "reconstruction R2 (image)", "{image}", lambda r: r.get("reconstruction", {}).get("r2_median")),
]


def main(src: Path, out: Path) -> None:
    table = []
    for task, label, pattern, get in ROWS:
        def value(run: str):
            name = pattern.format(run=run, image="multi.image.eval.json" if run == "multi" else f"{run}.eval.json")
            path = src / name
            try:
                return get(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                return None
        table.append({"task": task, "metric": label, "multi": value("multi"), "single": value(task)})
    (out / "ablation.json").write_text(json.dumps(table, indent=1))
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    lines = ["| task | metric | multi-task | single-task |", "|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['metric']} | {fmt(r['multi'])} | {fmt(r['single'])} |" for r in table]
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
