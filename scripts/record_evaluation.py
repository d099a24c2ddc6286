"""Evaluate a model on fresh simulator samples and record the result in its model.json.

The inspection pipeline reads ``metadata.evaluation.height.defects.miou`` to decide whether the
model's defect masks may decide verdicts (``surfsight.inspect.model_step.DEFECT_QUALITY_GATE``),
and the model card quotes the same numbers; this script is how they get there.

Usage:
    python scripts/record_evaluation.py MODEL_DIR --n-height 1000 --n-image 1000 --seed 987654 \
        --out-dir runs/eval

Writes ``eval_height.json``, ``eval_height_tta.json`` (the same samples, defect masks with
test-time augmentation; ``--no-tta`` skips it) and ``eval_image.json`` into ``--out-dir`` (the
same objects ``surfsight evaluate --json [--tta]`` prints) and rewrites MODEL_DIR/model.json
atomically with ``metadata.evaluation = {"height": ..., "height_tta": ..., "image": ...}`` (the
weights are written back unchanged).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--n-height", type=int, default=1000)
    ap.add_argument("--n-image", type=int, default=1000)   # about 60 per instrument at 300: coverage too noisy
    ap.add_argument("--seed", type=int, default=987654)
    ap.add_argument("--mc", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tta", action=argparse.BooleanOptionalAction, default=True,
                    help="also evaluate the height input with test-time augmentation")
    ap.add_argument("--out-dir", type=Path, default=Path("runs/eval"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model, save_model
    from surfsight.model.evaluate import evaluate, simulate

    model = load_model(args.model)
    size = int(model.metadata.get("size", model.config.tile))
    n = max(args.n_height, args.n_image)
    rows = simulate(n, args.seed, size, args.mc, args.workers)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    result = {}
    runs = [("height", "height", args.n_height, False), ("image", "image", args.n_image, False)]
    if args.tta:
        runs.insert(1, ("height_tta", "height", args.n_height, True))
    for mode, input_, count, tta in runs:
        if count <= 0:
            continue
        result[mode] = evaluate(model, seed=args.seed, input=input_, size=size, mc=args.mc, rows=rows[:count], tta=tta)
        (args.out_dir / f"eval_{mode}.json").write_text(json.dumps(result[mode], indent=1))
        d = result[mode]
        print(f"{mode}: n {d['n']}  Sa r2 {d['parameters']['Sa']['r2']:.4f}  "
              f"u(Sa) r2 {d['measurement_uncertainty']['Sa']['r2']:.3f}  instrument {d['instrument']['accuracy']:.3f} "
              f"(ece {d['instrument']['ece']:.3f})  mIoU {d['defects']['miou']:.3f}  recall {d['defects']['recall']:.3f}")
    save_model(model, args.model, {"evaluation": result})
    print(f"recorded in {args.model / 'model.json'}")


if __name__ == "__main__":
    main()
