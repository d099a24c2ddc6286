"""The stages of scripts/train_gpu.sh without the `surfsight` CLI.

The GPU machine has PyTorch, NumPy, SciPy, PyYAML and safetensors but not every dependency of
the command-line front end (the file readers need defusedxml, the spec module pydantic), so the
training script calls the library directly:

    python3 scripts/gpu_pipeline.py generate --n 9000 --seed 1000 --mc 4 --workers 16 --out DIR
    python3 scripts/gpu_pipeline.py train --config configs/gpu_default.yaml --out RUN [--train-data DIR]
        [--calibration-data DIR|none] [--head-refit-data DIR[,DIR...]] [--time-limit S] [--decoder-time-limit S]
        [--tasks a,b] [--workers N] [--init MODEL_DIR] [--lr LR] [--batch B] [--batch-on auto|device|workers]
    python3 scripts/gpu_pipeline.py evaluate --model RUN/model --n 400 --seed 987654 --input height --workers 4
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _xml_stub() -> None:
    """``import surfsight`` loads the file readers, which import defusedxml at the top. The GPU
    image lacks it (it can be carried as a wheel, .whl/); if it is absent, stand in a stub that
    refuses any XML parsing: these stages read no instrument files."""
    try:
        import defusedxml  # noqa: F401
        return
    except ImportError:
        pass
    import types

    def _refuse(*args, **kwargs):
        raise ImportError("defusedxml is not installed here: XML-based file formats are unavailable")

    pkg = types.ModuleType("defusedxml")
    et = types.ModuleType("defusedxml.ElementTree")
    et.fromstring = et.parse = et.XMLParser = _refuse  # type: ignore[attr-defined]

    class DefusedXmlException(ValueError):
        pass

    pkg.DefusedXmlException = DefusedXmlException  # type: ignore[attr-defined]
    pkg.ElementTree = et  # type: ignore[attr-defined]
    sys.modules["defusedxml"], sys.modules["defusedxml.ElementTree"] = pkg, et


_xml_stub()


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="stage", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--seed", type=int, required=True)
    g.add_argument("--mc", type=int, default=0)
    g.add_argument("--size", type=int, default=128)
    g.add_argument("--workers", type=int, default=1)
    g.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--config", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--train-data")
    t.add_argument("--calibration-data")
    t.add_argument("--head-refit-data", help="comma-separated shard folders read only by the head refit")
    t.add_argument("--time-limit", type=float)
    t.add_argument("--decoder-time-limit", type=float, help="time limit of the decoder refit, seconds")
    t.add_argument("--tasks")
    t.add_argument("--workers", type=int)
    t.add_argument("--init", help="a saved model folder whose weights start the network (train.init)")
    t.add_argument("--lr", type=float, help="peak learning rate of the joint stage")
    t.add_argument("--batch", type=int, help="batch of the joint stage and the decoder refit")
    t.add_argument("--batch-on", choices=["auto", "device", "workers"], help="where batches are finished (train.batch_on)")
    e = sub.add_parser("evaluate")
    e.add_argument("--model", required=True)
    e.add_argument("--n", type=int, default=400)
    e.add_argument("--seed", type=int, default=987654)
    e.add_argument("--input", default="height")
    e.add_argument("--workers", type=int, default=1)
    e.add_argument("--passes", type=int, default=16)
    e.add_argument("--mc", type=int, default=8)
    a = ap.parse_args()

    if a.stage == "generate":
        from surfsight.synth.dataset import generate

        t0 = time.perf_counter()
        generate(a.out, a.n, size=a.size, seed=a.seed, workers=a.workers, mc=a.mc, shard_size=100, progress=False)
        print(f"{a.n} samples in {time.perf_counter() - t0:.1f} s -> {a.out}", file=sys.stderr)
    elif a.stage == "train":
        from surfsight.model.train import load_recipe, train

        over: dict = {"train": {}, "data": {}}
        if a.train_data:
            over["data"]["train"] = a.train_data
        if a.calibration_data:
            over["data"]["calibration"] = None if a.calibration_data == "none" else a.calibration_data
        if a.head_refit_data:
            over["train"]["head_refit"] = {"data": a.head_refit_data.split(",")}
        if a.time_limit:
            over["train"]["time_limit_s"] = a.time_limit
        if a.decoder_time_limit:
            over["train"]["decoder_refit"] = {"time_limit_s": a.decoder_time_limit}
        if a.tasks:
            over["train"]["tasks"] = a.tasks.split(",")
        if a.workers is not None:
            over["train"]["workers"] = a.workers
        if a.init:
            over["train"]["init"] = a.init
        if a.lr:
            over["train"]["lr"] = a.lr
        if a.batch:
            over["train"]["batch"] = a.batch
            over["train"].setdefault("decoder_refit", {})["batch"] = a.batch
        if a.batch_on:
            over["train"]["batch_on"] = a.batch_on
        _, summary = train(load_recipe(a.config, **over), a.out, resume=False)
        print(json.dumps(summary))
    else:
        from surfsight.model import load_model
        from surfsight.model.evaluate import evaluate

        result = evaluate(load_model(a.model), n=a.n, seed=a.seed, input=a.input, mc=a.mc, workers=a.workers,
                          passes=a.passes)
        print(json.dumps(_plain(result), indent=1))


if __name__ == "__main__":
    main()
