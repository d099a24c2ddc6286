"""Decoder-level multi- vs single-task ablation on a trained encoder.

The decoder and dense heads of MODEL are re-initialised and refitted on the frozen encoder
(surfsight.model.dense_refit) three times with the same data, steps and seed: segmentation and
reconstruction together (as the shipped model), segmentation alone, reconstruction alone. Each
variant is scored on the same fresh samples: defect mIoU and recall from heights, reconstruction
R2 from images and from both inputs (surfsight.model.evaluate), and its held-out dense losses.

Usage:
    python scripts/decoder_ablation.py surfsight/data/models/default --data data/train data/train2 \
        --steps 1200 --n-eval 300 --out runs/decoder_ablation.json

``--reconstruction-block`` gives every variant's reconstruction a residual block of its own
(a task-specific tower on the shared decoder), to see whether it removes the negative transfer
towards the reconstruction.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch

VARIANTS = {"multi-task (segmentation + reconstruction)": ["segmentation", "reconstruction"],
            "segmentation alone": ["segmentation"], "reconstruction alone": ["reconstruction"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--n-eval", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--eval-seed", type=int, default=987654)
    ap.add_argument("--reconstruction-block", action="store_true",
                    help="every variant with a residual block of its own before the reconstruction head "
                         "(ModelConfig.reconstruction_block)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("runs/decoder_ablation.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model
    from surfsight.model.dense_refit import decoder_modules, refit_decoder
    from surfsight.model.evaluate import evaluate, simulate
    from surfsight.model.refit import reinitialise
    from surfsight.model.train import load_folders

    base = load_model(args.model)
    if args.reconstruction_block:
        from surfsight.model.refit import rebuilt

        base = rebuilt(base, reconstruction_block=True)   # the decoders are drawn afresh below anyway
    modes = base.metadata.get("recipe", {}).get("train", {}).get("modes", {"height": 0.5, "image": 0.25, "both": 0.25})
    rows = load_folders(args.data)
    size = int(base.metadata.get("size", base.config.tile))
    fresh = simulate(args.n_eval, args.eval_seed, size, 8, 2)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    results = {}
    for name, tasks in VARIANTS.items():
        model = copy.deepcopy(base)
        reinitialise(decoder_modules(model), args.seed)
        log(f"{name}: {args.steps} steps")
        summary = refit_decoder(model, rows, modes, steps=args.steps, seed=args.seed, tasks=tasks, log=log,
                                log_every=max(1, args.steps // 5))
        h = evaluate(model, seed=args.eval_seed, input="height", rows=fresh, passes=1)
        im = evaluate(model, seed=args.eval_seed, input="image", rows=fresh, passes=1)
        both = evaluate(model, seed=args.eval_seed, input="both", rows=fresh, passes=1)
        results[name] = {"tasks": tasks, "miou": h["defects"]["miou"], "recall": h["defects"]["recall"],
                         "iou": h["defects"]["iou"], "miou_both": both["defects"]["miou"],
                         "reconstruction_r2_image": im["reconstruction"]["r2_median"],
                         "reconstruction_r2_both": both["reconstruction"]["r2_median"],
                         "held_out_after": summary["held_out_after"], "seconds": summary["seconds"]}
        print(json.dumps({name: results[name]}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": str(args.model), "steps": args.steps, "n_eval": args.n_eval,
                                    "eval_seed": args.eval_seed, "seed": args.seed,
                                    "reconstruction_block": args.reconstruction_block, "results": results}, indent=1))
    print("| metric | " + " | ".join(VARIANTS) + " |\n|---|" + "---|" * len(VARIANTS))
    for key, label, task in (("miou", "defect mIoU (heights)", "segmentation"),
                             ("recall", "defect recall (heights)", "segmentation"),
                             ("miou_both", "defect mIoU (both inputs)", "segmentation"),
                             ("reconstruction_r2_both", "reconstruction R2, median (both inputs)", "reconstruction"),
                             ("reconstruction_r2_image", "reconstruction R2, median (image)", "reconstruction")):
        # a metric of a task the variant did not train is meaningless: shown as "-"
        cells = [f"{results[v][key]:.3f}" if task in tasks and results[v][key] is not None else "-"
                 for v, tasks in VARIANTS.items()]
        print(f"| {label} | " + " | ".join(cells) + " |")

if __name__ == "__main__":
    main()
