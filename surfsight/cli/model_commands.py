"""Commands of the deep-learning model: ``train``, ``predict``, ``evaluate``, ``export``.

torch is imported inside each command, so ``surfsight --help`` and the other commands work
without it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from .common import print_json, user_errors

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


def _need_torch() -> None:
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise InputError("the model needs PyTorch and safetensors: pip install 'surfsight[model]'") from None


def train(
    config: Path = typer.Option(..., "--config", help="Training recipe (YAML, see configs/)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: the recipe's `out`)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override train.steps."),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore an existing checkpoint instead of resuming."),
    train_data: Optional[Path] = typer.Option(None, "--train-data", help="Override data.train (a shard folder)."),
    calibration_data: Optional[Path] = typer.Option(None, "--calibration-data", help="Override data.calibration (none: skip calibration)."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Override train.time_limit_s (seconds)."),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Override train.tasks (comma-separated, e.g. "
                                                              "parameters for a single-task ablation run)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Override train.workers."),
) -> None:
    """Train a model from simulator data (resumes from the run folder's checkpoint)."""
    with user_errors():
        _need_torch()
        from ..model.train import load_recipe, train as run

        overrides: dict = {"train": {}, "data": {}}
        if steps:
            overrides["train"]["steps"] = steps
        if time_limit:
            overrides["train"]["time_limit_s"] = time_limit
        if train_data:
            overrides["data"]["train"] = str(train_data)
        if tasks:
            from ..model.config import TASKS

            chosen = [t.strip() for t in tasks.split(",") if t.strip()]
            unknown = [t for t in chosen if t not in TASKS]
            if unknown or not chosen:
                raise InputError(f"--tasks: unknown task(s) {', '.join(unknown) or '(none)'}; known: {', '.join(TASKS)}")
            overrides["train"]["tasks"] = chosen
        if workers is not None:
            overrides["train"]["workers"] = workers
        if calibration_data:
            overrides["data"]["calibration"] = None if str(calibration_data) == "none" else str(calibration_data)
        recipe = load_recipe(config, **overrides)
        _, summary = run(recipe, out, resume=not fresh)
    print_json(summary)


def _load_input(path: Path, input: str, spacing: Optional[str], channel: Optional[str]):
    """(heights, image, spacing) from a surface file, or an image file with --spacing."""
    import numpy as np

    from ..units import parse_length

    if path.suffix.lower() in IMAGE_SUFFIXES:
        if spacing is None:
            raise InputError(f"{path}: an image needs --spacing (the pixel size, e.g. 1um)")
        from PIL import Image

        try:
            with Image.open(path) as im:
                image = np.asarray(im.convert("L"), np.float32) / 255.0
        except OSError as exc:
            raise InputError(f"{path}: cannot read the image ({exc})") from None
        step = parse_length(spacing)
        return None, image, (step, step)
    from .. import io
    from ..surface import Surface

    obj = io.read(path, channel=channel)
    if not isinstance(obj, Surface):
        raise InputError(f"{path}: the model needs an areal surface, got a {type(obj).__name__}")
    sp = obj.spacing if spacing is None else (parse_length(spacing),) * 2
    image = obj.layers.get("intensity")
    if image is not None:
        image = np.asarray(image, np.float64)
        lo, hi = np.nanmin(image), np.nanmax(image)
        image = ((image - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
        image = np.nan_to_num(image)
    if input == "height":
        return obj.heights, None, sp
    if image is None:
        raise InputError(f"{path}: --input {input} needs an intensity layer, and the file has none")
    return (obj.heights if input == "both" else None), image, sp


def predict(
    path: Path = typer.Argument(..., help="A surface file (any format surfsight reads) or an image (PNG/JPEG)."),
    model: str = typer.Option("default", "--model", "-m", help="Model folder or shipped name."),
    input: str = typer.Option("height", "--input", help="height, image or both."),
    spacing: Optional[str] = typer.Option(None, "--spacing", help="Pixel size for images, e.g. 1um."),
    channel: Optional[str] = typer.Option(None, "--channel", "-c", help="Channel to read."),
    tta: bool = typer.Option(False, "--tta", help="Average the defect probabilities over the grid's symmetry "
                             "transforms (8 dense passes on a square grid, 4 otherwise)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object, SI units."),
) -> None:
    """Find defects, estimate the true-texture parameters with 90 % intervals, name the instrument."""
    with user_errors():
        _need_torch()
        if input not in ("height", "image", "both"):
            raise InputError(f"--input must be height, image or both, got {input!r}")
        from ..model import load_model
        from ..model.infer import predict as run

        heights, image, sp = _load_input(path, input, spacing, channel)
        net = load_model(model)
        result = run(net, heights, image, sp, tta=tta)
        doc = {"source": str(path), "model": model, "tta": tta, **result.as_dict()}
    if as_json:
        print_json(doc)
        return
    typer.echo(f"{path}: input {doc['input']}, instrument {result.instrument} "
               f"(p = {result.instrument_probabilities[result.instrument]:.2f})")
    for name, v in result.parameters.items():
        typer.echo(f"  {name:4s} {v['value']:.4g}  [{v['low90']:.4g}, {v['high90']:.4g}] (90 %)")
    typer.echo(f"  {len(result.defects)} defect(s)")
    for d in result.defects:
        depth = f"{d['depth_m'] * 1e6:.3g} um deep, " if d.get("depth_m") is not None else ""
        unmeasured = " (not measured: inferred from its surroundings)" if d.get("measured_points") == 0 else ""
        typer.echo(f"    {d['kind']}: {depth}{d['length_m'] * 1e6:.3g} x {d['width_m'] * 1e6:.3g} um{unmeasured}")


def evaluate(
    model: str = typer.Option("default", "--model", "-m", help="Model folder or shipped name."),
    n: int = typer.Option(100, "--n", help="Number of fresh simulated samples."),
    seed: int = typer.Option(987654, "--seed", help="Data seed (never one used in training)."),
    input: str = typer.Option("height", "--input", help="height, image or both."),
    size: Optional[int] = typer.Option(None, "--size", help="Points per side (default: the model's training size)."),
    mc: int = typer.Option(8, "--mc", help="Monte Carlo repetitions for the measurement uncertainty truth."),
    workers: int = typer.Option(1, "--workers", "-j", help="Simulation worker processes."),
    passes: int = typer.Option(16, "--passes", help="MC-dropout passes."),
    tta: bool = typer.Option(False, "--tta", help="Defect masks with test-time augmentation (see predict)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Score the model on fresh simulator samples (see surfsight.model.evaluate for the definitions)."""
    with user_errors():
        _need_torch()
        if n < 1:
            raise InputError(f"--n must be at least 1, got {n}")
        if input not in ("height", "image", "both"):
            raise InputError(f"--input must be height, image or both, got {input!r}")
        from ..model import load_model
        from ..model.evaluate import evaluate as run

        net = load_model(model)
        result = run(net, n=n, seed=seed, input=input, size=size, mc=mc, workers=workers, passes=passes,
                     tta=tta)
    if as_json:
        print_json(result)
        return
    typer.echo(f"n = {result['n']}, input {input}")
    for k, v in result["parameters"].items():
        cov = v["coverage90"]
        typer.echo(f"  {k:4s} R2 {v['r2']:.3f}  coverage90 {cov if cov is None else round(cov, 3)}")
    typer.echo(f"  instrument accuracy {result['instrument']['accuracy']:.3f}  ECE {result['instrument']['ece']:.3f}")
    typer.echo(f"  defects mIoU {result['defects']['miou']}  recall {result['defects']['recall']}")


def export(
    onnx: Path = typer.Option(..., "--onnx", help="Output .onnx file."),
    model: str = typer.Option("default", "--model", "-m", help="Model folder or shipped name."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare with PyTorch through onnxruntime."),
) -> None:
    """Export the network to ONNX and check parity with PyTorch."""
    with user_errors():
        _need_torch()
        from ..model import load_model
        from ..model.export import export_onnx, parity

        net = load_model(model)
        path = export_onnx(net, onnx)
        doc = {"onnx": str(path)}
        if check:
            diffs = parity(net, path)
            doc["max_abs_difference"] = diffs
            doc["parity"] = all(math.isfinite(v) and v < 1e-3 for v in diffs.values())
    print_json(doc)
    if check and not doc["parity"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
    app.command("export")(export)
