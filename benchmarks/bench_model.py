"""CPU inference speed of the shipped model at 256x256 and 1024x1024 (and any --sizes).

For each size it times ``surfsight.model.predict`` (levelling, tiled network pass with overlap,
16 MC-dropout passes of the head, calibration, instances) from heights, the same with test-time
augmentation of the defect masks (``tta=True``: eight dense passes), and, as the reference
measured in the same run, ``surfsight.metrology.parameters`` for the same nine parameters on the
same surface (the exact ISO route; the model additionally finds defects and gives intervals), and
the same ``predict`` with the convolution weights in the plain contiguous (NCHW) layout instead of
the channels-last layout the model keeps them in (``contiguous_over_channels_last``).
Prints one JSON object; writes it to benchmarks/results/model.json with --save.

    .venv/bin/python benchmarks/bench_model.py --sizes 256 1024 --repeat 3
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import min_time  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args()

    import torch

    from surfsight.metrology import parameters
    from surfsight.model import load_model, predict
    from surfsight.surface import Surface
    from surfsight.synth import sample

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    names = list(model.config.parameter_names)
    result = {"model": args.model, "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
              "machine": platform.machine(), "tile": model.config.tile, "sizes": {}}
    for size in args.sizes:
        s = sample("ground", size, seed=1)
        z, sp = s.measured.heights, s.measured.spacing
        predict(model, z, None, sp, passes=16)  # warm-up
        t_model = min_time(lambda: predict(model, z, None, sp, passes=16), args.repeat)
        t_tta = min_time(lambda: predict(model, z, None, sp, passes=16, tta=True), args.repeat)
        plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
        predict(plain, z, None, sp, passes=16)  # warm-up
        t_plain = min_time(lambda: predict(plain, z, None, sp, passes=16), args.repeat)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            surface = Surface(np.nan_to_num(z, nan=float(np.nanmean(z))), sp)
            t_iso = min_time(lambda: parameters(surface, names=names, on_error="nan"), args.repeat)
        result["sizes"][str(size)] = {"model_s": round(t_model, 4), "model_tta_s": round(t_tta, 4),
                                      "metrology_s": round(t_iso, 4),
                                      "model_over_metrology": round(t_model / t_iso, 3),
                                      "tta_over_model": round(t_tta / t_model, 3),
                                      "model_contiguous_s": round(t_plain, 4),
                                      "contiguous_over_channels_last": round(t_plain / t_model, 3)}
        print(f"{size}x{size}: model {t_model * 1e3:.0f} ms (with TTA {t_tta * 1e3:.0f} ms), ISO parameters "
              f"{t_iso * 1e3:.0f} ms (ratio {t_model / t_iso:.2f}); contiguous weights {t_plain * 1e3:.0f} ms", flush=True)
    print(json.dumps(result, indent=1))
    if args.save:
        out = Path(__file__).parent / "results" / "model.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
