"""Benchmark: anomaly detection learnt from defect-free images only, on real data.

Run from the project root::

    .venv/bin/python benchmarks/bench_anomaly.py                     # both data sets, default + scratch encoder
    .venv/bin/python benchmarks/bench_anomaly.py --sets magnetic_tile --backbones default
    .venv/bin/python benchmarks/bench_anomaly.py --device cuda

* **magnetic_tile**: fit on the MT_Free images of the fixed train split only (no defect is ever
  seen); score the whole test split (163 images: the MT_Free test images and the four empty
  Uneven masks are the negatives). Images and masks at 256 x 256 as in the fixed rule.
* **kolektorsdd**: fit on the defect-free images of items kos01 to kos03; score every other image
  (kos04 and kos05 complete, and every defective image). Images 500 x ~1260 px resized to
  640 x 256 (rows x cols), masks > 0 then nearest.

The detector is PaDiM (a Gaussian per position cell; ``--method patchcore`` for the memory bank),
see :mod:`surfsight.realdata.anomaly`. For each backbone (``default``: the shipped model's encoder; ``scratch``: the same network with
random weights, a control that shows what pre-training on simulated surfaces adds) the image AUROC
(score = maximum of the map) and the pixel AUROC (every pixel of the test split) are reported, with
fit time (with the ``--folds`` cross-fits that calibrate the threshold), scoring time per image and
peak resident memory. Decisions are reported too: the share of defect-free test images flagged
(false alarms) and of defective ones flagged (detections) at the conformal threshold for
``--alpha`` and at the old in-sample threshold, and the share of defect-free test images whose
p-value is at most 0.05, 0.1, 0.2. Results go to ``benchmarks/results/anomaly.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, save  # noqa: E402

SIZES = {"magnetic_tile": (256, 256), "kolektorsdd": (640, 256)}


def sets(name: str, data):
    from surfsight.realdata import splits

    if name == "magnetic_tile":
        split = splits.magnetic_tile(data)
        good = [p for p in split["train"] if p.extra["kind"] == "Free"]
        return good, split["test"], splits.MAGNETIC_TILE_THRESHOLD
    if name == "kolektorsdd":
        split = splits.kolektor_anomaly(data)
        return split["fit"], split["test"], splits.KOLEKTOR_THRESHOLD
    raise SystemExit(f"unknown set {name!r}")


def run(args) -> list[dict]:
    import numpy as np
    import torch

    from surfsight.realdata import anomaly
    from surfsight.realdata.finetune import build_model
    from surfsight.realdata.inputs import load_set
    from surfsight.realdata.metrics import image_auroc, pixel_auroc

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.sets:
        good, test, threshold = sets(name, args.data)
        size = SIZES[name]
        fit_data = load_set(good, size, threshold)
        test_data = load_set(test, size, threshold)
        truths = [m[0].numpy() > 0.5 for m in test_data.masks]
        print(f"{name}: fit on {len(good)} good images, score {len(test)} "
              f"({sum(t.any() for t in truths)} defective)", flush=True)
        for backbone in args.backbones:
            try:
                model = build_model(backbone if backbone != "scratch" else "scratch")
            except Exception as exc:  # noqa: BLE001 - no shipped weights yet
                rows.append({"set": name, "backbone": backbone, "skipped": str(exc)})
                print(f"  skip {backbone}: {exc}", flush=True)
                continue
            settings = anomaly.AnomalySettings(size=size, method=args.method, cell=args.cell, bank=args.bank,
                                               device=args.device, alpha=args.alpha, folds=args.folds)
            t0 = time.perf_counter()
            detector = anomaly.fit(model, fit_data.images, fit_data.kind, float(np.mean(fit_data.spacing)), settings)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            maps, scores = detector.score(test_data.images)
            score_s = time.perf_counter() - t0
            row = {"set": name, "backbone": backbone, "good_images": len(good), "test_images": len(test),
                   "defective": int(sum(t.any() for t in truths)), "size": list(size), "method": args.method,
                   "bank": detector.info.get("bank"), "cells": detector.info.get("cells"),
                   "image_auroc": image_auroc(list(scores), truths), "pixel_auroc": pixel_auroc(list(maps), truths),
                   **decisions(scores, truths, detector),
                   "fit_s": round(fit_s, 2), "score_ms_per_image": round(1000 * score_s / len(test), 1),
                   "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
            rows.append(row)
            print("  " + json.dumps(row), flush=True)
    return rows


def decisions(scores, truths, detector) -> dict:
    """Image decisions at the detector's threshold (conformal, from out-of-fold scores of the good
    images) and at the in-sample one (the largest score of up to 32 fit images): the share of the
    defect-free test images flagged (false alarms) and of the defective ones (detections)."""
    import numpy as np

    defective = np.array([t.any() for t in truths])
    scores = np.asarray(scores)
    calibration = detector.info["threshold"]

    def rates(threshold):
        flagged = scores > threshold
        return {"false_alarm_rate": float(flagged[~defective].mean()), "detection_rate": float(flagged[defective].mean())}

    out = {"threshold": {**calibration, "value": detector.threshold, **rates(detector.threshold)},
           "in_sample_threshold": {"value": detector.info["good_score_max"], **rates(detector.info["good_score_max"])}}
    p = detector.p_values(scores)
    if p is not None:     # super-uniform on good parts: the share with p <= a stays near or under a
        out["good_p_value_at_most"] = {str(a): float((p[~defective] <= a).mean()) for a in (0.05, 0.1, 0.2)}
    return out


def table(rows: list[dict]) -> str:
    lines = ["| data set | method | backbone | good images | test (defective) | image AUROC | pixel AUROC | "
             "false alarms / detections at the threshold (alpha) | the same, in-sample threshold | fit s | "
             "score ms/image |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['set']} | | {r['backbone']} | skipped: {r['skipped'][:60]} | | | | | | | |")
            continue
        at, ins = r["threshold"], r["in_sample_threshold"]
        alpha = "in-sample" if at.get("guaranteed_alpha") is None else f"{at['guaranteed_alpha']:.3g}"
        lines.append(f"| {r['set']} | {r.get('method', 'patchcore')} | {r['backbone']} | {r['good_images']} | "
                     f"{r['test_images']} ({r['defective']}) | "
                     f"{r['image_auroc']:.3f} | {r['pixel_auroc']:.3f} | "
                     f"{at['false_alarm_rate']:.2f} / {at['detection_rate']:.2f} ({alpha}) | "
                     f"{ins['false_alarm_rate']:.2f} / {ins['detection_rate']:.2f} | "
                     f"{r['fit_s']:.0f} | {r['score_ms_per_image']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="magnetic_tile,kolektorsdd")
    parser.add_argument("--backbones", default="default,scratch")
    parser.add_argument("--method", default="padim", help="padim (a Gaussian per position cell) or patchcore")
    parser.add_argument("--cell", type=int, default=2, help="padim: positions per side sharing one Gaussian")
    parser.add_argument("--bank", type=int, default=6000, help="patchcore: coreset size")
    parser.add_argument("--alpha", type=float, default=0.05, help="false-alarm rate the threshold is set for")
    parser.add_argument("--folds", type=int, default=5, help="cross-fits for the out-of-fold scores (0: in-sample)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default=None, help="result file (default: benchmarks/results/anomaly.json)")
    args = parser.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",")]
    args.backbones = [s.strip() for s in args.backbones.split(",")]
    rows = run(args)
    payload = {"device": args.device, "threads": args.threads, "rows": rows, "table": table(rows)}
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
    else:
        out = save("anomaly", payload)
    print(payload["table"])
    print(f"results: {out}")


if __name__ == "__main__":
    main()
