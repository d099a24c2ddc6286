"""Does the fine-tuning recipe fit its own labelled images? A diagnostic on the magnetic tiles.

Fine-tunes the shipped model (or a random start) on ``--labels`` evenly spread training images of
the fixed magnetic-tile split for ``--steps`` steps at ``--size``, once per augmentation variant,
and prints the pooled defect IoU on those same training images and on every third test image.
A recipe that cannot reach a high IoU on the images it was trained on underfits; one that does
but stays low on the test images overfits.

Usage:
    python scripts/finetune_fit_check.py --labels 16 --steps 200 --size 128 \
        --variants default,none,geometric,photometric,scratch
    python scripts/finetune_fit_check.py --labels 16 --steps 200 --size 128 \
        --variants flips,crop,gamma,blur,noise,lr1e-3,lr1e-2
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OFF = dict(flip=False, crop=0.0, brightness=0.0, contrast=0.0, gamma=0.0, blur=0.0, noise=0.0)


def only(*names: str) -> dict:
    """Every augmentation off except ``names`` (at their default strength)."""
    return {k: v for k, v in OFF.items() if k not in names}


#: variant -> (augmentation overrides, recipe overrides, start)
VARIANTS = {
    "default": ({}, {}, "default"),                          # the recipe's augmentations
    "none": (OFF, {}, "default"),                            # no augmentation
    "geometric": (only("flip", "crop"), {}, "default"),      # flips and crops only
    "photometric": ({"flip": False, "crop": 0.0}, {}, "default"),   # lighting, blur, noise only
    "scratch": ({}, {}, "scratch"),                          # random start, default augmentations
    # one augmentation at a time
    "flips": (only("flip"), {}, "default"),
    "crop": (only("crop"), {}, "default"),
    "gamma": (only("gamma"), {}, "default"),
    "blur": (only("blur"), {}, "default"),
    "noise": (only("noise"), {}, "default"),
    # the learning rate (peak of the one-cycle schedule; the recipe's is 3e-3)
    "lr1e-3": ({}, {"lr": 1e-3}, "default"),
    "lr1e-2": ({}, {"lr": 1e-2}, "default"),
    "flips-lr1e-3": (only("flip"), {"lr": 1e-3}, "default"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--variants", default="default,none,geometric,photometric,scratch")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from surfsight.realdata import splits
    from surfsight.realdata.augment import Augment
    from surfsight.realdata.finetune import Settings, build_model, finetune
    from surfsight.realdata.inputs import load_set, predict
    from surfsight.realdata.metrics import pooled_iou

    size = (args.size, args.size)
    split = splits.magnetic_tile()
    train = load_set(split["train"], size, splits.MAGNETIC_TILE_THRESHOLD)
    test = load_set(split["test"][::3], size, splits.MAGNETIC_TILE_THRESHOLD)
    index = np.floor(np.linspace(0, len(train.paths) - 1, args.labels)).astype(int)
    data = type(train)(train.images[index], train.masks[index], [train.paths[i] for i in index], train.kind,
                       [train.spacing[i] for i in index], [])

    def iou(model, s):
        probs = predict(model, s.images, s.kind, s.spacing, batch=16)
        return pooled_iou([p > 0.5 for p in probs], [m[0].numpy() > 0.5 for m in s.masks])

    print(f"{args.labels} labelled images, {args.steps} steps, {args.size} px, seed {args.seed}")
    print("| variant | train s | fit IoU (training images) | test IoU |\n|---|---|---|---|")
    for name in args.variants.split(","):
        if name not in VARIANTS:
            raise SystemExit(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
        augment, recipe, start = VARIANTS[name]
        settings = Settings(steps=args.steps, size=size, seed=args.seed,
                            augment=dataclasses.replace(Augment(), **augment), **recipe)
        model = build_model(start, seed=args.seed)
        t0 = time.perf_counter()
        finetune(model, data, settings)
        print(f"| {name} | {time.perf_counter() - t0:.0f} | {iou(model, data):.3f} | {iou(model, test):.3f} |",
              flush=True)


if __name__ == "__main__":
    main()
