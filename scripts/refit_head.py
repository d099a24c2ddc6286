"""Refit the global head of a trained model on its frozen trunk, then recalibrate (surfsight.model.refit).

The encoder and decoder are unchanged, so the defect masks and the reconstruction stay the same
bit for bit; the parameter estimates, the measurement uncertainty and the instrument class are
retrained, and the temperatures and conformal factors are fitted again on ``--calibration``
(they belong to the head). The evaluation recorded in model.json describes the old head, so it is
dropped: rerun scripts/record_evaluation.py.

``--data`` are the folders the run trained on (the recipe's ``data.train``), ``--extra`` further
folders read by this stage only (the recipe's ``train.head_refit.data``); features are computed
one folder at a time. This is what ``surfsight train`` does after its joint stage with
``train.head_refit: {epochs, lr, batch, reinit, data}``: with ``--reinit`` the result does not
depend on the head it starts from, so applying this script to a trained model gives the head that
the full recipe gives.

Usage (how the shipped model's head was refitted, see docs/MODEL_CARD.md):
    python scripts/refit_head.py surfsight/data/models/default --data data/train data/train2 \
        --extra data/train3 data/train4 --epochs 300 --reinit --calibration data/calib data/calib2 data/calib3 \
        --out runs/head_refit/model

``--shared K`` changes how much of the head the tasks share (with ``--reinit``; see
scripts/head_ablation.py for the measurement).
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
    ap.add_argument("--data", nargs="+", required=True, help="the shard folders the model trained on")
    ap.add_argument("--extra", nargs="*", default=[], help="more shard folders, for this stage only")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--reinit", action="store_true", help="start from fresh head weights (seeded)")
    ap.add_argument("--shared", type=int, choices=(0, 1, 2), default=None,
                    help="how many of the head's two hidden layers the tasks share (ModelConfig.head_shared); "
                         "default: the model's own. A change draws the head afresh, so it needs --reinit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--calibration", nargs="+", required=True, help="held-out shard folder(s) for the calibration")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True, help="folder for the refitted model")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from surfsight.model import load_model, save_model
    from surfsight.model.calibration import calibrate
    from surfsight.model.refit import concat_features, folder_features, refit_head, with_head_shared
    from surfsight.model.train import active_modes, describe_folder, load_folders

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    model = load_model(args.model)
    if args.shared is not None and args.shared != model.config.head_shared:
        if not args.reinit:
            ap.error(f"--shared {args.shared}: the model's head shares {model.config.head_shared} layers; "
                     "a new sharing starts from fresh weights, add --reinit")
        model = with_head_shared(model, args.shared, args.seed)
    recipe = model.metadata.get("recipe", {})
    modes = active_modes(recipe.get("train", {}).get("modes", {"height": 1}))
    t0 = time.perf_counter()
    features = concat_features(folder_features(model, [*args.data, *args.extra], modes))
    log(f"{features['m1'].shape[0]} pooled feature rows ({len(modes)} input modes), {time.perf_counter() - t0:.0f} s")
    summary = refit_head(model, [], modes, epochs=args.epochs, lr=args.lr, batch=args.batch, seed=args.seed,
                         features=features, reinit=args.reinit, log=log)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["extra_data"] = [describe_folder(f) for f in args.extra]
    cal = recipe.get("calibration", {"alpha": 0.1, "passes": 16})
    log("recalibrating ...")
    cal_rows = load_folders(args.calibration)
    calibration = calibrate(model, cal_rows, float(cal["alpha"]), int(cal["passes"]), modes)
    metadata = {k: v for k, v in model.metadata.items() if k != "evaluation"}
    metadata.setdefault("training", {})["head_refit"] = summary
    metadata["calibration"] = calibration
    model.metadata = metadata
    save_model(model, args.out)
    print(json.dumps({k: summary[k] for k in ("samples", "best_epoch", "held_out_loss", "seconds")}, indent=1))


if __name__ == "__main__":
    main()
