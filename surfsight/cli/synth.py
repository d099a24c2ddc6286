"""``surfsight synth``: simulated training data and look-alikes of real scans.

* ``surfsight synth generate --n N --size 256 --seed S --workers K --out DIR`` writes shards
  (see :mod:`surfsight.synth.dataset` and ``docs/synth.md`` for the format);
* ``surfsight synth fit PATH [--out DIR]`` estimates the texture targets of a real scan (plane
  levelled) and generates a twin: ``DIR/<name>-twin.x3p`` and ``DIR/<name>-twin.png`` (real and
  synthetic side by side).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Optional

import typer

from .common import print_json, user_errors

synth_app = typer.Typer(help="Simulated surfaces: training data sets and twins of real scans.",
                        no_args_is_help=True)


@synth_app.command("generate")
def generate(
    n: int = typer.Option(..., "--n", help="Number of samples."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (shards + index.json)."),
    size: int = typer.Option(256, "--size", help="Points per side."),
    seed: int = typer.Option(0, "--seed", help="Data set seed S; sample i uses a seed derived from (S, i)."),
    workers: int = typer.Option(1, "--workers", "-j", help="Worker processes."),
    shard_size: int = typer.Option(64, "--shard-size", help="Samples per shard."),
    preset: Optional[list[str]] = typer.Option(None, "--preset", help="Process preset(s) to draw from (default: all)."),
    instrument: Optional[str] = typer.Option(None, "--instrument", help="Instrument model (default: drawn per sample)."),
    mc: int = typer.Option(0, "--mc", help="Monte Carlo repetitions per sample for the uncertainty (0: none)."),
) -> None:
    """Write a labelled data set of simulated samples as uncompressed .npz shards (no pickle)."""
    from ..synth.dataset import generate as run

    with user_errors():
        start = time.perf_counter()
        index = run(out, n, size=size, seed=seed, workers=workers, shard_size=shard_size, presets=preset,
                    instrument=instrument, mc=mc)
        elapsed = time.perf_counter() - start
    typer.echo(f"{n} samples in {elapsed:.1f} s ({n / elapsed:.1f} samples/s); index: {index}", err=True)


@synth_app.command("fit")
def fit(
    path: Path = typer.Argument(..., help="A real scan (any format surfsight reads)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the twin (.x3p) and a side-by-side PNG."),
    seed: int = typer.Option(0, "--seed", help="Seed of the twin."),
    channel: Optional[str] = typer.Option(None, "--channel", help="Channel to read."),
) -> None:
    """Estimate texture targets (Sq, Sal, Str, Std, Ssk, Sku, PSD slope / Hurst) of a scan and
    make a synthetic look-alike; prints the fit as JSON."""
    from .. import io
    from ..metrology import parameters
    from ..synth.fit import fit_texture, side_by_side, twin

    with user_errors():
        real = io.read(path, channel=channel)
        fitted = fit_texture(real)
        result = {"source": str(path), "fit": fitted.as_dict()}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            synthetic = twin(real, seed, fitted)
            stem = path.stem
            result["twin"] = str(io.write(synthetic, out / f"{stem}-twin.x3p"))
            result["picture"] = str(side_by_side(real, synthetic, out / f"{stem}-twin.png"))
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = parameters(synthetic, ["Sq", "Ssk", "Sku", "Sal", "Str", "Std"], on_error="nan")
            result["twin_parameters"] = {k: (v if math.isfinite(v) else None) for k, v in values.items()}
    print_json(result)


def register(app: typer.Typer) -> None:
    app.add_typer(synth_app, name="synth")
