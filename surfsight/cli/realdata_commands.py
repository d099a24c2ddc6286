"""Real labelled images: ``surfsight finetune``, ``segment``, ``evaluate-seg`` and ``anomaly fit|score``.

* ``surfsight finetune --pairs PAIRS.csv --out MODEL_DIR [--model default|scratch|DIR] [--epochs N]
  [--steps N] [--crop PX] [--mask-threshold T] [--device cpu|cuda] [--time-limit S] [--fp32]`` adapts the model to defect-vs-background on
  real images (see :mod:`surfsight.realdata.finetune` for the recipe, ``docs/realdata.md`` for the
  figures);
* ``surfsight segment --model MODEL_DIR PATHS... --out DIR`` writes ``<name>_mask.png`` and
  ``<name>_overlay.png`` per image;
* ``surfsight evaluate-seg --model MODEL_DIR --pairs PAIRS.csv [--json]`` prints pooled defect IoU,
  mean per-image F1, image AUROC (max probability) and pixel AUROC;
* ``surfsight anomaly fit --good DIR --out MODEL_DIR`` learns from defect-free images only;
  ``surfsight anomaly score --model MODEL_DIR PATHS... --out DIR`` writes ``<name>_anomaly.png``
  (map, 8-bit, scaled to the fit threshold), ``scores.csv`` and ``scores.json``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Optional

import typer

from .common import print_json, user_errors

anomaly_app = typer.Typer(help="Anomaly detection learnt from defect-free images only.", no_args_is_help=True)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _progress(step: int, steps: int, loss: float) -> None:
    if step % 50 == 0 or step == steps - 1:
        typer.echo(f"step {step + 1}/{steps}  loss {loss:.4f}", err=True)


def finetune(
    pairs: Path = typer.Option(..., "--pairs", help="PAIRS.csv: columns image,mask (paths relative to the CSV)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the fine-tuned model."),
    model: str = typer.Option("default", "--model", help="Start: 'default' (shipped), 'scratch' or a model folder."),
    epochs: Optional[float] = typer.Option(None, "--epochs", help="Passes over the set (default: steps from the set size)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimisation steps (overrides --epochs)."),
    mask_threshold: float = typer.Option(0.0, "--mask-threshold", help="Defect = mask value > T (127 for soft 8-bit masks)."),
    size: int = typer.Option(256, "--size", help="Working size: images are resized to SIZE x SIZE."),
    batch: int = typer.Option(8, "--batch", help="Crops per step."),
    crop: Optional[int] = typer.Option(
        None, "--crop", help="Training crop side in pixels of the working size (default: three quarters of the side; 0: whole "
        "tiles). The network still predicts whole tiles."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    all_orientations: bool = typer.Option(
        False, "--all-orientations", help="Also up-down flips and 90-degree rotations (orientation-free surfaces)."),
    threads: int = typer.Option(0, "--threads", help="CPU threads for torch (0: its default; 1 is fastest on a busy machine)."),
    time_limit: Optional[float] = typer.Option(
        None, "--time-limit", help="Stop training after this many seconds; the schedule runs over the time. "
        "Default: 840 on a CPU for up to 100 images when the recipe picks the steps (the 15-minute budget), "
        "none otherwise; 0: no limit."),
    fp32: bool = typer.Option(False, "--fp32", help="Float32 throughout (default: bfloat16 autocast where the "
                              "device computes it natively: a GPU, or a CPU with AMX or AVX512-BF16)."),
    no_prior_correction: bool = typer.Option(
        False, "--no-prior-correction", help="Keep the head as trained (default: shift it so the probabilities "
        "refer to whole tiles, not to the defect-centred crops it was trained on)."),
    copy_paste: Optional[float] = typer.Option(
        None, "--copy-paste", help="Probability that a training tile gets labelled defects of other tiles pasted "
        "onto it, blended and matched in brightness (default: the recipe's; 0: off)."),
    context: Optional[str] = typer.Option(
        None, "--context", help="Dilations of the context block added to a network without one, comma-separated "
        "(default: the recipe's 2,4,8; 'none': no block)."),
    unlabelled: Optional[list[Path]] = typer.Option(
        None, "--unlabelled", help="Unlabelled images of the same parts (files or folders; repeat the option): "
        "a mean teacher learns from them too (semi-supervised; about twice the time per step)."),
) -> None:
    """Fine-tune the model on labelled real images (defect vs background) and save it."""
    from ..realdata.augment import Augment
    from ..realdata.finetune import Settings, default_time_limit, parse_dilations, train_pairs
    from ..realdata.inputs import model_api
    from ..realdata.pairs import read_pairs

    with user_errors():
        if size < 16 or size % 8:
            raise _input_error(f"--size must be a multiple of 8 and at least 16, got {size}")
        if crop is not None and crop < 0:
            raise _input_error(f"--crop must be 0 (whole tiles) or a side in pixels, got {crop}")
        if time_limit is not None and time_limit < 0:
            raise _input_error(f"--time-limit must be 0 (none) or a number of seconds, got {time_limit}")
        dilations = None if context is None else parse_dilations(context, "--context")
        listed = read_pairs(pairs)
        if threads:
            import torch

            torch.set_num_threads(threads)
        augment = Augment(vflip=True, rotate90=True) if all_orientations else Augment()
        settings = Settings(steps=steps, epochs=epochs, size=(size, size), batch=batch, seed=seed, device=device,
                            augment=augment, amp=not fp32, time_limit_s=time_limit or None, crop=crop,
                            prior_correction=not no_prior_correction,
                            **({} if copy_paste is None else {"copy_paste": copy_paste}),
                            **({} if dilations is None else {"context": dilations}))
        if time_limit is None:
            settings.time_limit_s = default_time_limit(len(listed), settings)
            if settings.time_limit_s is not None:
                typer.echo(f"training bounded to {settings.time_limit_s:g} s on the CPU (--time-limit 0 lifts it)",
                           err=True)
        extra = _expand(list(unlabelled)) if unlabelled else []
        if unlabelled and not extra:
            raise _input_error(f"--unlabelled: no images found in {', '.join(map(str, unlabelled))}")
        net, record = train_pairs(listed, model, settings, mask_threshold, _progress, unlabelled=extra)
        model_api().save_model(net, out, {"realdata": record})
    precision = "bf16" if record.get("bf16") else "float32"
    cut = f" of {record['steps_planned']} (time limit)" if record["steps"] < record["steps_planned"] else ""
    taught = record.get("semi_supervised")
    if taught:
        typer.echo(f"semi-supervised: {taught['unlabelled']} unlabelled images, {100 * taught['taught_share']:.0f} % "
                   "of their pixels taught; the mean teacher's weights are kept", err=True)
    typer.echo(f"fine-tuned on {record['images']} images, {record['steps']} steps{cut} ({precision}) in {record['seconds']:.0f} s; "
               f"model: {out}", err=True)


def segment(
    paths: list[Path] = typer.Argument(..., help="Images (jpg/png/tif) or height maps."),
    model: str = typer.Option("default", "--model", help="Model folder or shipped name."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for masks and overlays."),
    threshold: float = typer.Option(0.5, "--threshold", help="Defect where probability > threshold."),
    no_tta: bool = typer.Option(False, "--no-tta", help="Read each image once (default: the mean over the flips "
                                "the model was trained with)."),
    json_out: bool = typer.Option(False, "--json", help="Print one summary row per image as JSON."),
) -> None:
    """Write defect masks and overlays (PNG) for images."""
    from ..realdata.inputs import model_api
    from ..realdata.segment import segment_paths

    with user_errors():
        net = model_api().load_model(model)
        rows = segment_paths(net, _expand(paths), out, threshold, tta=not no_tta)
    if json_out:
        print_json(rows)
    else:
        for row in rows:
            typer.echo(f"{row['image']}: max p {row['max_probability']:.3f}, defect area "
                       f"{100 * row['defect_fraction']:.2f} %")


def evaluate_seg(
    model: str = typer.Option("default", "--model", help="Model folder or shipped name."),
    pairs: Path = typer.Option(..., "--pairs", help="PAIRS.csv with ground-truth masks."),
    mask_threshold: Optional[float] = typer.Option(
        None, "--mask-threshold", help="Defect = mask value > T (default: the model's fine-tuning threshold, else 0)."),
    threshold: float = typer.Option(0.5, "--threshold", help="Defect where probability > threshold."),
    no_tta: bool = typer.Option(False, "--no-tta", help="Read each image once (default: the mean over the flips "
                                "the model was trained with)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pooled defect IoU, mean per-image F1, image and pixel AUROC on labelled pairs."""
    from ..realdata.inputs import model_api
    from ..realdata.pairs import read_pairs
    from ..realdata.segment import evaluate

    with user_errors():
        net = model_api().load_model(model)
        if mask_threshold is None:
            mask_threshold = float(net.metadata.get("realdata", {}).get("mask_threshold", 0.0))
        report = evaluate(net, read_pairs(pairs), mask_threshold, threshold, tta=not no_tta)
    report["mask_threshold"] = mask_threshold
    if json_out:
        print_json(report)
        return
    for key in ("images", "iou", "mean_f1", "image_auroc", "pixel_auroc"):
        value = report.get(key)
        typer.echo(f"{key:12s} {value if value is None or isinstance(value, int) else f'{value:.4f}'}")


@anomaly_app.command("fit")
def anomaly_fit(
    good: Path = typer.Option(..., "--good", help="Folder of defect-free images (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the anomaly model."),
    model: str = typer.Option("default", "--model", help="Encoder: shipped name, model folder or 'scratch'."),
    size: int = typer.Option(256, "--size", help="Working size: images are resized to SIZE x SIZE."),
    method: str = typer.Option(
        "padim", "--method", help="padim: a Gaussian per image position (parts photographed in a fixture); "
        "patchcore: a memory bank of patches, position-free (parts at any place and angle)."),
    cell: int = typer.Option(2, "--cell", help="padim: neighbouring feature positions per side sharing one Gaussian."),
    bank: int = typer.Option(6000, "--bank", help="patchcore: patches kept in the memory bank."),
    alpha: float = typer.Option(
        0.05, "--alpha", help="False-alarm rate on good parts the threshold is set for (conformal, from "
        "out-of-fold scores of the good images)."),
    folds: int = typer.Option(
        5, "--folds", help="Cross-fits that score each good image with a density fitted without it "
        "(0: no calibration, an in-sample threshold and no p-values)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Learn what good looks like from defect-free images only, and how high good parts score."""
    from ..realdata.anomaly import METHODS, AnomalySettings, fit_paths

    with user_errors():
        if method not in METHODS:
            raise _input_error(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
        if cell < 1:
            raise _input_error(f"--cell must be at least 1, got {cell}")
        if not 0.0 < alpha < 1.0:
            raise _input_error(f"--alpha must be in (0, 1), got {alpha}")
        if folds < 0 or folds == 1:
            raise _input_error(f"--folds must be 0 (no calibration) or at least 2, got {folds}")
        paths = _expand([good])
        if not paths:
            raise _input_error(f"--good {good}: no images found")
        settings = AnomalySettings(size=(size, size), method=method, cell=cell, bank=bank, seed=seed, device=device,
                                   alpha=alpha, folds=folds)
        detector = fit_paths(paths, model, settings)
        detector.save(out)
    what = (f"{detector.info['cells']} position cells" if method == "padim" else f"{detector.info['bank']} patches")
    calibration = detector.info["threshold"]
    if calibration["source"] == "cross-fitted":
        rate = calibration["guaranteed_alpha"]
        how = f"false alarms on good parts at most {rate:.3g}, from {calibration['folds']} cross-fits"
        if rate > alpha:
            how += f"; {len(paths)} good images cannot guarantee {alpha:g}, at least {math.ceil(round(1 / alpha - 1, 9))} can"
    else:
        how = "in-sample, optimistic"
    typer.echo(f"fitted on {len(paths)} good images ({method}, {what}); threshold {detector.threshold:.3g} "
               f"({how}); model: {out}", err=True)


@anomaly_app.command("score")
def anomaly_score(
    paths: list[Path] = typer.Argument(..., help="Images or folders to score."),
    model: Path = typer.Option(..., "--model", help="Folder written by 'surfsight anomaly fit'."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for maps, scores.csv and scores.json."),
    json_out: bool = typer.Option(False, "--json", help="Also print the scores as JSON."),
) -> None:
    """Anomaly maps (PNG) and image scores (CSV and JSON; score = maximum of the map)."""
    import numpy as np

    from ..realdata.anomaly import load
    from ..realdata.inputs import load_set, resize
    from ..realdata.pairs import Pair
    from ..realdata.segment import _write_png

    with user_errors():
        detector = load(model)
        files = _expand(paths)
        if not files:
            raise _input_error("no images to score")
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for path in files:
            data = load_set([Pair(path, None)], detector.settings.size)
            maps, scores = detector.score(data.images)
            full = resize(maps[0], data.original_shapes[0])
            scaled = np.clip(full / (2 * detector.threshold if detector.threshold > 0 else 1.0), 0, 1)
            _write_png((255 * scaled).astype(np.uint8), out / f"{path.stem}_anomaly.png")
            p = detector.p_values(scores)
            rows.append({"image": str(path), "score": float(scores[0]),
                         "p_value": None if p is None else round(float(p[0]), 6),
                         "anomalous": bool(scores[0] > detector.threshold),
                         "map": str(out / f"{path.stem}_anomaly.png")})
        _write_scores(rows, out, detector.threshold, _alpha(detector))
    if json_out:
        print_json({"threshold": detector.threshold, "alpha": _alpha(detector), "images": rows})
    else:
        for row in rows:
            p = "" if row["p_value"] is None else f", p {row['p_value']:.3g}"
            typer.echo(f"{row['image']}: score {row['score']:.4g}{p}{'  ANOMALOUS' if row['anomalous'] else ''}")


def _alpha(detector) -> float | None:
    """The false-alarm rate a detector's threshold guarantees (None: an in-sample threshold)."""
    return detector.info.get("threshold", {}).get("guaranteed_alpha")


def _write_scores(rows: list[dict], out: Path, threshold: float, alpha: float | None) -> None:
    tmp = out / f".scores.csv.{os.getpid()}.tmp"
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "score", "p_value", "anomalous", "map"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, out / "scores.csv")
    tmp = out / f".scores.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"threshold": threshold, "alpha": alpha, "images": rows}, indent=1))
    os.replace(tmp, out / "scores.json")


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; folders searched recursively for images. In a folder, files named like masks
    (``*_label``, ``*_mask``, ``*_overlay``, ``*_anomaly``) and a ``.png`` beside a ``.jpg`` of the same
    name (the magnetic-tile layout) are taken as masks, not images."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            for q in sorted(p.rglob("*")):
                if q.suffix.lower() not in IMAGE_SUFFIXES or q.stem.endswith(("_label", "_mask", "_overlay", "_anomaly")):
                    continue
                if q.suffix.lower() == ".png" and any(q.with_suffix(s).exists() for s in (".jpg", ".jpeg")):
                    continue
                files.append(q)
        else:
            files.append(p)
    return files


def _input_error(message: str):
    from ..errors import InputError

    return InputError(message)


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune)
    app.command("segment")(segment)
    app.command("evaluate-seg")(evaluate_seg)
    app.add_typer(anomaly_app, name="anomaly")
