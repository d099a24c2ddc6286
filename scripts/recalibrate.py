"""Calibrate a trained model again on held-out shard folders (surfsight.model.calibration).

Fits the temperature of the instrument classifier and the split-conformal factors (per input
mode x predicted instrument) anew; the weights are unchanged. Calibration is the last stage of
``surfsight train`` and depends only on the final weights and the held-out rows (its MC-dropout
passes are seeded), so this gives what the recipe gives with ``data.calibration`` set to the same
folders. The evaluation recorded in model.json described the old intervals, so it is dropped:
rerun scripts/record_evaluation.py.

Usage (the shipped model, see docs/MODEL_CARD.md):
    python scripts/recalibrate.py runs/height_decoder/model --calibration data/calib data/calib2 data/calib3 \
        --out runs/recalibrated/model
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="model folder or name")
    ap.add_argument("--calibration", nargs="+", required=True, help="held-out shard folder(s)")
    ap.add_argument("--alpha", type=float, default=None, help="miscoverage (default: the model's recipe, else 0.1)")
    ap.add_argument("--passes", type=int, default=None, help="MC-dropout passes (default: the recipe's, else 16)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="folder for the recalibrated model")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model, save_model
    from surfsight.model.calibration import calibrate
    from surfsight.model.train import active_modes, load_folders

    model = load_model(args.model)
    recipe = model.metadata.get("recipe", {})
    cal = recipe.get("calibration", {})
    alpha = args.alpha if args.alpha is not None else float(cal.get("alpha", 0.1))
    passes = args.passes if args.passes is not None else int(cal.get("passes", 16))
    modes = active_modes(recipe.get("train", {}).get("modes", {"height": 1}))
    rows = load_folders(args.calibration)
    t0 = time.perf_counter()
    calibration = calibrate(model, rows, alpha, passes, modes)
    print(f"calibrated on {len(rows)} samples x {len(modes)} input modes in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    model.metadata = {k: v for k, v in model.metadata.items() if k != "evaluation"}
    model.metadata["calibration"] = {**calibration, "folders": [str(f) for f in args.calibration]}
    save_model(model, args.out)
    print(json.dumps({"n": calibration["n"], "temperature": calibration["temperature"]}, indent=1))


if __name__ == "__main__":
    main()
