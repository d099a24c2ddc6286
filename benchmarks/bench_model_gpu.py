"""Network throughput of a surfsight model on a CUDA GPU, with the same machine's CPU beside it.

Times one full forward pass of the network (encoder, both dense outputs, pooled moments, global
head: ``SurfsightModel.forward``) on batches of ``tile x tile`` inputs (heights and image, the
costlier input mode), in float32 and under bf16 autocast on the GPU, and in float32 on the CPU of
the same machine (all its cores) as the reference measured in the same run. GPU times come from
CUDA events around ``--repeat`` passes after ``--warmup`` passes (median of ``--rounds`` rounds);
CPU times are the best of ``--rounds`` rounds of wall-clock time. Prints one JSON object (tiles per
second, and the speed-up over the CPU as a ratio) and writes it to ``--out`` (or, with ``--save``,
to ``benchmarks/results/model_gpu.json``).

    python3 benchmarks/bench_model_gpu.py --batches 1 16 64 256 --out bench_gpu.json

Without a GPU it measures the CPU alone (``"gpu": null``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, min_time, save  # noqa: E402


def _inputs(model, batch: int, device):
    import torch

    from surfsight.model.data import prepare_batch

    g = torch.Generator().manual_seed(batch)
    size = model.config.tile
    heights = torch.randn(batch, size, size, generator=g, dtype=torch.float64) * 1e-6
    image = torch.rand(batch, size, size, generator=g)
    x, scale = prepare_batch(heights, image, torch.full((batch,), 1e-6, dtype=torch.float64))
    return x.to(device), scale.to(device)


def gpu_rate(model, batch: int, bf16: bool, warmup: int, repeat: int, rounds: int) -> float:
    """Tiles per second on the GPU (median over rounds of CUDA-event times)."""
    import torch

    x, scale = _inputs(model, batch, "cuda")
    times = []
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
        for _ in range(warmup):
            model(x, scale)
        for _ in range(rounds):
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(repeat):
                out = model(x, scale)
            stop.record()
            torch.cuda.synchronize()
            if not all(bool(torch.isfinite(v.float()).all()) for v in out.values() if torch.is_tensor(v)):
                raise RuntimeError(f"non-finite network output at batch {batch} (bf16={bf16})")
            times.append(start.elapsed_time(stop) / 1000 / repeat)
    return batch / statistics.median(times)


def cpu_rate(model, batch: int, rounds: int) -> float:
    """Tiles per second on the CPU (best of rounds, one pass each after one warm-up pass)."""
    import torch

    x, scale = _inputs(model, batch, "cpu")
    with torch.no_grad():
        model(x, scale)
        best = min_time(lambda: model(x, scale), rounds)
    return batch / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256])
    ap.add_argument("--cpu-batch", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", help="result file (default with --save: benchmarks/results/model_gpu.json)")
    ap.add_argument("--save", action="store_true")
    a = ap.parse_args()

    import torch

    from surfsight.model import load_model

    model = load_model(a.model).eval()
    result = {"machine": machine(), "model": a.model, "tile": model.config.tile, "input": "heights and image",
              "parameters": int(sum(p.numel() for p in model.parameters())), "torch": torch.__version__, "gpu": None}
    cpu = cpu_rate(model, a.cpu_batch, a.rounds)
    result["cpu"] = {"batch": a.cpu_batch, "threads": torch.get_num_threads(), "tiles_per_s": round(cpu, 1)}
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        model = model.cuda()
        result["gpu"] = torch.cuda.get_device_name(0)
        rows = []
        for batch in a.batches:
            for bf16 in (False, True):
                rate = gpu_rate(model, batch, bf16, a.warmup, a.repeat, a.rounds)
                rows.append({"batch": batch, "precision": "bf16 autocast" if bf16 else "float32",
                             "tiles_per_s": round(rate, 1), "ms_per_batch": round(1000 * batch / rate, 3),
                             "speedup_over_cpu": round(rate / cpu, 1)})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        result["rows"] = rows
        result["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    print(json.dumps(result, indent=1))
    if a.out or a.save:
        save("model_gpu", result, a.out)


if __name__ == "__main__":
    main()
