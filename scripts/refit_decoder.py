"""Refit the decoder of a trained model on a frozen encoder (surfsight.model.dense_refit).

The global outputs (parameters, uncertainties, instrument) and their calibration are unchanged;
the defect segmentation and the height reconstruction are retrained. The evaluation recorded in
model.json describes the old decoder, so it is dropped: rerun scripts/record_evaluation.py.

Usage (how the shipped model's decoder was refitted, see docs/MODEL_CARD.md):
    python scripts/refit_decoder.py surfsight/data/models/default --data data/train data/train2 \
        --steps 5000 --out runs/decoder_refit/model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="model folder or name")
    ap.add_argument("--data", nargs="+", required=True, help="shard folders (surfsight synth generate)")
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default=None, help='JSON weights, default: the recipe\'s, e.g. {"height": 0.5, "image": 0.25, "both": 0.25}')
    ap.add_argument("--height-decoder", action="store_true",
                    help="first give the model a height decoder (a copy of its decoder) for inputs without an "
                         "image; with --modes '{\"height\": 1.0}' only that copy is refitted")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="folder for the refitted model")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model, save_model
    from surfsight.model.dense_refit import refit_decoder, with_height_decoder
    from surfsight.model.train import load_folders

    model = load_model(args.model)
    if args.height_decoder:
        model = with_height_decoder(model)
    recipe = model.metadata.get("recipe", {})
    modes = json.loads(args.modes) if args.modes else recipe.get("train", {}).get("modes", {"height": 1.0})
    rows = load_folders(args.data)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"{len(rows)} rows; refitting the decoder for {args.steps} steps, modes {modes}")
    summary = refit_decoder(model, rows, modes, steps=args.steps, lr=args.lr, batch=args.batch, seed=args.seed,
                            log=log)
    summary["data"] = list(args.data)
    summary["height_decoder"] = bool(args.height_decoder)
    metadata = {k: v for k, v in model.metadata.items() if k != "evaluation"}
    metadata.setdefault("training", {})["decoder_refit"] = summary
    model.metadata = metadata
    save_model(model, args.out)
    print(json.dumps({k: summary[k] for k in ("held_out_before", "held_out_after", "kept", "seconds")}, indent=1))


if __name__ == "__main__":
    main()
