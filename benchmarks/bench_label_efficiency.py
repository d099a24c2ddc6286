"""Benchmark: label efficiency on real magnetic-tile images, fine-tuned vs from scratch.

Run from the project root::

    .venv/bin/python benchmarks/bench_label_efficiency.py                       # 20, 50, all; 3 seeds; CPU
    .venv/bin/python benchmarks/bench_label_efficiency.py --labels 50 --seeds 0 --starts default
    .venv/bin/python benchmarks/bench_label_efficiency.py --device cuda         # a GPU: minutes
    bash scripts/label_efficiency_gpu.sh                                        # whole study, one H100

The fixed split of ``shared/data/README.md`` (429 train / 163 test, images resized to 256 x 256
bilinear, masks > 127 then nearest, defect vs background). For each number of labelled training
images N (the evenly spread ones: indices ``floor(linspace(0, 428, N))``), each start (``default``:
the shipped model pre-trained on simulated surfaces; ``scratch``: the same network randomly
initialised) and each seed (the seed drives crops, augmentations and batch order; the labelled
images are the same), the model is fine-tuned with the recipe of :mod:`surfsight.realdata.finetune`
(same steps for both starts) and evaluated on the whole test split: pooled defect IoU, mean
per-image F1, image AUROC (max probability), pixel AUROC, with the test-time flips of
:func:`surfsight.realdata.inputs.predict` (the default) and, under ``single_view``, read once (as
every run before those flips were added), under ``uncorrected`` the same weights before the
prior correction of the head (the finetune module's docstring), and pixel counts and IoU per defect kind (``by_category``,
the image's folder; ``MT_Free`` shows the false alarms on good tiles). Training time and peak
memory are recorded. ``--copy-paste P`` sets the probability of pasting labelled defects onto a
training tile (:mod:`surfsight.realdata.copypaste`; the recipe's 0.5 by default, 0 for the recipe
before it; result files without a ``copy_paste`` record were made without it);
``--freeze-fraction`` and ``--encoder-lr-factor`` change the schedule of a pre-trained start (result
files without ``encoder_lr_factor`` were made with the recipe before: the encoder frozen for 30 % of
the steps up to 100 labels, then at a third of the rate). With ``--unlabelled`` the train images
outside the labelled subset teach too,
without their masks (semi-supervised, :mod:`surfsight.realdata.semisupervised`).

Results go to ``benchmarks/results/label_efficiency[_<tag>].json``; a table is printed with the
plain U-Net reference figures of the README beside ours.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, save  # noqa: E402

#: Plain U-Net from scratch, same split and metrics (shared/data/README.md): IoU / mean F1 / image AUROC.
REFERENCE = {
    "20": {"iou": [0.07], "mean_f1": [0.40], "image_auroc": [0.86]},
    "50": {"iou": [0.25, 0.20, 0.17], "mean_f1": [0.42, 0.34, 0.36], "image_auroc": [0.89, 0.79, 0.82]},
    "all": {"iou": [0.74, 0.73, 0.72], "mean_f1": [0.68, 0.62, 0.69], "image_auroc": [0.96, 0.92, 0.96]},
}


#: The metrics recorded per run (with test-time flips, the default of ``predict``, and read once).
METRICS = ("iou", "mean_f1", "image_auroc", "pixel_auroc")


def peak_memory_mb(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def subset(images, index, masks: bool = True):
    """The images (an ImageSet) at ``index``; with ``masks=False`` their masks replaced by zeros."""
    import torch

    kept = images.masks[index]
    return type(images)(images.images[index], kept if masks else torch.zeros_like(kept),
                        [images.paths[i] for i in index], images.kind, [images.spacing[i] for i in index], [])


def run(args) -> dict:
    import torch

    from surfsight.realdata import splits
    from surfsight.realdata.finetune import (Settings, build_model, correct_prior, finetune, parse_dilations,
                                             recipe_steps)
    from surfsight.realdata.inputs import load_set, predict, tta_views
    from surfsight.realdata.metrics import by_group, segmentation_report

    if args.threads:
        torch.set_num_threads(args.threads)
    split = splits.magnetic_tile(args.data)
    start = time.perf_counter()
    train_all = load_set(split["train"], (256, 256), splits.MAGNETIC_TILE_THRESHOLD)
    test = load_set(split["test"], (256, 256), splits.MAGNETIC_TILE_THRESHOLD)
    truths = [m[0].numpy() > 0.5 for m in test.masks]
    categories = [p.parent.parent.name for p in test.paths]     # MT_<kind>/Imgs/<name>.jpg
    load_s = time.perf_counter() - start
    print(f"loaded {len(split['train'])} train / {len(split['test'])} test images in {load_s:.1f} s", flush=True)
    if args.device.startswith("cuda"):
        train_all.images, train_all.masks = train_all.images.to(args.device), train_all.masks.to(args.device)

    runs = []
    for labels in args.labels:
        n = len(split["train"]) if labels == "all" else int(labels)
        index = splits.evenly_spread_index(len(split["train"]), n)
        data = subset(train_all, index)
        steps = args.steps or int(round(args.steps_scale * recipe_steps(n, Settings(crop=args.crop), (256, 256))))
        unlabelled = None
        if args.unlabelled:          # the rest of the train split, its masks dropped
            rest = np.setdiff1d(np.arange(len(split["train"])), index)
            if len(rest) == 0:
                print(f"{labels} labels: no unlabelled train images left; supervised only", flush=True)
            else:
                unlabelled = subset(train_all, rest, masks=False)
        for start_name in args.starts:
            for seed in args.seeds:
                try:
                    model = build_model(args.model if start_name == "default" else "scratch", seed=seed)
                except Exception as exc:  # noqa: BLE001 - e.g. no shipped weights yet
                    print(f"skip {start_name}: {exc}", flush=True)
                    runs.append({"labels": labels, "start": start_name, "seed": seed, "skipped": str(exc)})
                    break
                if args.device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats()
                settings = Settings(steps=steps, batch=args.batch, seed=seed, device=args.device, amp=not args.no_amp,
                                    time_limit_s=args.time_limit, crop=args.crop,
                                    prior_correction=not args.no_prior_correction,
                                    **({} if args.copy_paste is None else {"copy_paste": args.copy_paste}),
                                    copy_paste_good=not args.copy_paste_defective_only,
                                    **({} if args.dice_pool is None else {"dice_pool": args.dice_pool}),
                                    **({} if args.context is None else {"context": parse_dilations(args.context, "--context")}),
                                    **{name: value for name, value in (("lr", args.lr), ("weight_decay", args.weight_decay),
                                                                       ("copy_paste_most", args.copy_paste_most))
                                       if value is not None},
                                    **({} if args.freeze_fraction is None else {"freeze_fraction": args.freeze_fraction}),
                                    **({} if args.encoder_lr_factor is None else {"encoder_lr_factor": args.encoder_lr_factor}))
                record = finetune(model, data, settings, unlabelled=unlabelled)
                t0 = time.perf_counter()
                probs = predict(model.to(args.device), test.images, test.kind, test.spacing, batch=16,
                                device=args.device)
                predict_s = round(time.perf_counter() - t0, 2)
                single = predict(model, test.images, test.kind, test.spacing, batch=16, device=args.device,
                                 tta=False)
                model.to("cpu")
                report = segmentation_report(list(probs), truths)
                report_single = segmentation_report(list(single), truths)
                uncorrected = None
                if record["prior"]["applied"]:     # the same weights before the prior correction, for comparison
                    shift = record["prior"]["logit_shift"]
                    correct_prior(model, test.kind, -shift)
                    raw = predict(model.to(args.device), test.images, test.kind, test.spacing, batch=16,
                                  device=args.device)
                    correct_prior(model.to("cpu"), test.kind, shift)
                    uncorrected = {k: segmentation_report(list(raw), truths)[k] for k in METRICS}
                row = {"labels": labels, "n": n, "start": start_name, "seed": seed, "steps": record["steps"],
                       "crop": record["crop"], "prior": record["prior"],
                       "copy_paste": record["copy_paste"], "freeze_steps": record["freeze_steps"],
                       "encoder_lr_factor": record["encoder_lr_factor"], "settings": record["settings"],
                       "semi_supervised": record.get("semi_supervised"),
                       "steps_planned": steps, "bf16": record["bf16"], "train_s": record["seconds"], "predict_s": predict_s,
                       "peak_memory_mb": round(peak_memory_mb(args.device), 1),
                       **{k: report[k] for k in METRICS}, "tta_views": [list(v) for v in tta_views(model, tuple(test.images.shape[-2:]))],
                       "single_view": {k: report_single[k] for k in METRICS}, "uncorrected": uncorrected,
                       "by_category": by_group([p > 0.5 for p in probs], truths, categories)}
                runs.append(row)
                print(json.dumps(row), flush=True)
                if args.checkpoint:        # keep what is done if the run is cut short
                    args.checkpoint({"device": args.device, "runs": runs, "partial": True})
                if args.save_models:
                    from surfsight.model import save_model

                    save_model(model, Path(args.save_models) / f"{start_name}_{labels}_{seed}", {})
    return {"device": args.device, "threads": args.threads, "batch": args.batch, "load_s": round(load_s, 2),
            "model": args.model, "runs": runs}


def table(runs: list[dict]) -> str:
    lines = ["| labels | start | seeds | IoU (mean ± sd) | mean F1 | image AUROC | pixel AUROC | train s / run | "
             "U-Net ref. IoU |",
             "|---|---|---|---|---|---|---|---|---|"]
    def start_of(r):      # the start, and whether unlabelled images taught too
        return r["start"] + (f" + {r['semi_supervised']['unlabelled']} unlabelled" if r.get("semi_supervised") else "")

    keys = sorted({(r["labels"], start_of(r)) for r in runs if "iou" in r},
                  key=lambda k: (999 if k[0] == "all" else int(k[0]), k[1]))
    for labels, start in keys:
        rows = [r for r in runs if r["labels"] == labels and start_of(r) == start and "iou" in r]

        def ms(key):
            v = np.array([r[key] for r in rows if r.get(key) is not None], float)
            return "n/a" if v.size == 0 else f"{v.mean():.3f} ± {v.std():.3f}" if v.size > 1 else f"{v[0]:.3f}"

        ref = REFERENCE.get(str(labels), {}).get("iou")
        lines.append(f"| {labels} | {start} | {len(rows)} | {ms('iou')} | {ms('mean_f1')} | {ms('image_auroc')} | "
                     f"{ms('pixel_auroc')} | {np.mean([r['train_s'] for r in rows]):.0f} | "
                     f"{' / '.join(f'{x:.2f}' for x in ref) if ref else ''} |")
    return "\n".join(lines)


def write(args, payload: dict) -> Path:
    """The result file: ``--out`` or ``benchmarks/results/label_efficiency[_tag].json``."""
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
        tmp.replace(out)
        return out
    return save(f"label_efficiency{'_' + args.tag if args.tag else ''}", payload)


def main(argv=None) -> None:
    from surfsight.realdata.finetune import DICE_POOLS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", default="20,50,all", help="comma-separated numbers of labels, or 'all'")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--starts", default="default,scratch")
    parser.add_argument("--model", default="default", help="pre-trained model (shipped name or folder)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest on a busy 2-core machine; 0: torch's default)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=None, help="fixed steps (default: the recipe's, x --steps-scale)")
    parser.add_argument("--steps-scale", type=float, default=1.0)
    parser.add_argument("--crop", type=int, default=None,
                        help="training crop side in pixels of the 256 x 256 tiles (0: whole tiles; default: the recipe's, 192)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds of training per run; the schedule runs over the time (see finetune)")
    parser.add_argument("--no-prior-correction", action="store_true",
                        help="keep the segmentation head as trained (no shift to the tiles' defect share)")
    parser.add_argument("--unlabelled", action="store_true",
                        help="semi-supervised: the train images outside the labelled subset, without their masks, "
                             "teach through a mean teacher (see surfsight.realdata.semisupervised)")
    parser.add_argument("--copy-paste", type=float, default=None,
                        help="probability that a training tile gets labelled defects of other tiles pasted (default: the recipe's)")
    parser.add_argument("--copy-paste-defective-only", action="store_true",
                        help="paste only onto tiles that have a defect (good tiles stay pure negatives)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (the recipe's 3e-3)")
    parser.add_argument("--weight-decay", type=float, default=None, help="AdamW weight decay (the recipe's 1e-4)")
    parser.add_argument("--copy-paste-most", type=int, default=None, help="most defects pasted onto a tile (2)")
    parser.add_argument("--context", default=None,
                        help="dilations of the context block added before fine-tuning, comma-separated, or 'none' "
                        "(default: the recipe's 2,4,8)")
    parser.add_argument("--dice-pool", choices=DICE_POOLS, default=None,
                        help="soft Dice per image (the recipe) or over the whole batch")
    parser.add_argument("--freeze-fraction", type=float, default=None,
                        help="share of the steps with the encoder of a pre-trained start frozen (default: the recipe's, 0)")
    parser.add_argument("--encoder-lr-factor", type=float, default=None,
                        help="encoder learning rate relative to the decoder's from a pre-trained start (default: the recipe's, 1 up to 100 labels, 1/3 above)")
    parser.add_argument("--no-amp", action="store_true",
                        help="float32 throughout (default: bf16 autocast where the device computes it natively)")
    parser.add_argument("--data", default=None, help="shared data folder (default: $SURFSIGHT_DATA or ../shared/data)")
    parser.add_argument("--tag", default="", help="suffix of the result file")
    parser.add_argument("--out", default=None, help="result file (default: benchmarks/results/label_efficiency[_tag].json)")
    parser.add_argument("--save-models", default=None, help="folder to keep every fine-tuned model in")
    parser.add_argument("--merge", nargs="*", default=None, help="only merge these result files and print the table")
    args = parser.parse_args(argv)

    if args.merge is not None:
        runs, meta = [], {}
        for path in args.merge:
            doc = json.loads(Path(path).read_text())
            runs.extend(doc["runs"])
            meta = {k: v for k, v in doc.items() if k != "runs"}
        payload = {**meta, "runs": runs, "merged_from": [str(p) for p in args.merge]}
    else:
        args.labels = [x.strip() for x in args.labels.split(",")]
        args.seeds = [int(x) for x in args.seeds.split(",")]
        args.starts = [x.strip() for x in args.starts.split(",")]
        args.checkpoint = lambda partial: write(args, partial)
        payload = run(args)
    payload["table"] = table(payload["runs"])
    payload["reference_unet"] = REFERENCE
    out = write(args, payload)
    print(payload["table"])
    print(f"results: {out}")


if __name__ == "__main__":
    main()
