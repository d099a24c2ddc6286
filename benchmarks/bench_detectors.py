"""Benchmark: defect detection on fresh simulated scans, the learnt model against the rule-based
height detector, side by side on the same samples.

Run from the project root::

    .venv/bin/python benchmarks/bench_detectors.py --n 300            # seed 987654, 128 x 128

``surfsight inspect`` lets the model's masks decide verdicts only when its recorded defect mIoU
reaches :data:`surfsight.inspect.model_step.DEFECT_QUALITY_GATE`; otherwise the rule-based detector
(:func:`surfsight.inspect.model_step.rule_based_detection`) finds the defects. This benchmark says
how the two compare where the truth is known. Both see the measured heights (instrument noise,
not-measured points) of the same samples. The rule-based detector names kinds by shape only, so
the comparison is on defect vs background:

* ``iou``: defect IoU pooled over all pixels of all samples;
* ``precision``, ``pixel_recall``: of the predicted and of the true defect pixels;
* ``recall``: share of the true defects deeper than 3x the instrument noise with at least half
  their pixels found (the definition of ``surfsight evaluate``);
* ``seconds_per_sample``.

The model is scored with and without test-time augmentation. Results go to
``benchmarks/results/detectors.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from benchmarks.common import save  # noqa: E402
from surfsight.model.evaluate import counts_for_recall, is_found  # noqa: E402


class Score:
    """Pooled pixel counts and per-defect recall of one detector."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.found = self.deep = 0
        self.seconds = 0.0
        self.n = 0

    def add(self, predicted: np.ndarray, truth: np.ndarray, defects: list[np.ndarray], seconds: float) -> None:
        self.tp += int((predicted & truth).sum())
        self.fp += int((predicted & ~truth).sum())
        self.fn += int((~predicted & truth).sum())
        for mask in defects:
            self.deep += 1
            self.found += int(is_found(predicted, mask))
        self.seconds += seconds
        self.n += 1

    def result(self) -> dict[str, float]:
        return {"iou": self.tp / max(1, self.tp + self.fp + self.fn),
                "precision": self.tp / max(1, self.tp + self.fp),
                "pixel_recall": self.tp / max(1, self.tp + self.fn),
                "recall": self.found / max(1, self.deep), "n_deep_defects": self.deep,
                "seconds_per_sample": self.seconds / max(1, self.n)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=987654)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--model", default="default")
    ap.add_argument("--save", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()

    import torch

    from surfsight.inspect.model_step import rule_based_detection
    from surfsight.model import load_model, predict
    from surfsight.surface import Surface
    from surfsight.synth.dataset import Settings
    from surfsight.synth.instruments import INSTRUMENTS

    torch.set_num_threads(2)
    model = load_model(args.model)
    settings = Settings(args.size, args.seed)
    scores = {"model": Score(), "model_tta": Score(), "rule_based": Score()}
    for i in range(args.n):
        s = settings.make(i)
        z, spacing = s.measured.heights, s.measured.spacing
        truth = s.label_map > 0
        noise = INSTRUMENTS[s.instrument].noise
        deep = [d.mask for d in s.defects if counts_for_recall(d.depth_m, noise, d.mask)]
        for name, tta in (("model", False), ("model_tta", True)):
            t = time.perf_counter()
            p = predict(model, z, None, spacing, passes=1, tta=tta)
            scores[name].add(p.classes > 0, truth, deep, time.perf_counter() - t)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = rule_based_detection(Surface(z, spacing))
        scores["rule_based"].add(found.mask, truth, deep, time.perf_counter() - t)
    result = {"n": args.n, "seed": args.seed, "size": args.size, "model": args.model,
              "recorded_miou": (model.metadata.get("evaluation", {}).get("height", {}).get("defects", {})
                                .get("miou")),
              "detectors": {k: v.result() for k, v in scores.items()}}
    for name, r in result["detectors"].items():
        print(f"{name:11s} IoU {r['iou']:.3f}  precision {r['precision']:.3f}  pixel recall {r['pixel_recall']:.3f}  "
              f"recall {r['recall']:.3f}  {r['seconds_per_sample'] * 1e3:.0f} ms/sample", flush=True)
    if args.save:
        print(f"saved {save('detectors', result)}")


if __name__ == "__main__":
    main()
