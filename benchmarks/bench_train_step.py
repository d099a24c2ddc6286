"""Where the time of one joint training step goes, stage by stage, on a GPU or the CPU.

The joint stage of ``surfsight train`` reached 18-19 steps/s of batch 64 on an H100 and an H200,
about 55 ms a step, while one forward pass of the same network on a batch of 64 takes about 7 ms
(``bench_model_gpu.py``), and finishing the batches on the GPU instead of in the loader's workers
(``train.batch_on``) did not change the rate. This benchmark splits the step the way
:func:`surfsight.model.train.train` runs it, with the device synchronised between stages:

* ``load``: waiting for the next batch from the DataLoader workers;
* ``to_device``: copying it to the device and, with ``batch_on`` device, finishing it there
  (levelling, scale features, signatures, targets: :func:`surfsight.model.data.finish`);
* ``forward``: the network under bf16 autocast (on CUDA);
* ``loss``: the task losses and their learned weighting;
* ``backward``; ``optimiser``: gradient clipping and the AdamW step.

It also times whole steps without the synchronisations (``step_ms``), which is what training
sees, and counts the ATen operations each stage dispatches (``aten_ops``, one step): on a GPU
each is at least one kernel launch, so a step of a network this narrow can be bound by their
number rather than by arithmetic. Rows for each ``--batch`` and ``--batch-on``; one JSON object printed and written to
``--out`` (default ``benchmarks/results/train_step.json``).

    python3 benchmarks/bench_train_step.py --batch 64 256 --workers 14 --steps 60
    .venv/bin/python benchmarks/bench_train_step.py --batch 16 --workers 1 --steps 8 --rows 64   # the CPU
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import save  # noqa: E402

STAGES = ("load", "to_device", "forward", "loss", "backward", "optimiser")


def op_counter():
    """A dispatch mode that counts the ATen operations dispatched while active, per ``.stage``
    (torch is imported lazily, so the class is made here)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class OpCounter(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.stage, self.counts = None, {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.counts[self.stage] = self.counts.get(self.stage, 0) + 1
            return func(*args, **(kwargs or {}))

    return OpCounter()


def measure(rows, config_path: str, batch: int, batch_on: str, workers: int, steps: int, warmup: int,
            device) -> dict:
    import numpy as np
    import torch

    from surfsight.model.data import statistics, target_statistics
    from surfsight.model.losses import MultiTaskLoss, task_losses
    from surfsight.model.network import SurfsightModel
    from surfsight.model.train import Batches, batch_stream, batches_on_device, load_recipe, recipe_config, to_device

    recipe = load_recipe(config_path)
    tr = recipe["train"]
    config = recipe_config(recipe, rows)
    for k, v in target_statistics(rows[:256], config).items():
        setattr(config, k, v)
    torch.manual_seed(0)
    model = SurfsightModel(config).to(device).train()
    loss_fn = MultiTaskLoss(config.tasks).to(device)
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    on_device = batches_on_device(batch_on, device)
    bf16 = device.type == "cuda"
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step(batch, clock=None, counter=None):
        """One training step; ``clock`` collects synchronised stage times, ``counter`` ATen operations."""

        def begin(stage):
            if counter is not None:
                counter.stage = stage
            if clock is not None:
                sync()
                now = time.perf_counter()
                if clock["_stage"] is not None:
                    clock[clock["_stage"]].append(now - clock["_t"])
                clock["_stage"], clock["_t"] = stage, now

        begin("to_device")
        batch = to_device(batch, device, config, on_device)
        begin("forward")
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(batch["x"], batch["scale"])
        begin("loss")
        pm, ps = statistics(config, batch["scale"], "parameters")
        um, us = statistics(config, batch["scale"], "uncertainty")
        losses = task_losses(outputs, batch, pm, ps, um, us)
        total = loss_fn({t: losses[t] for t in config.tasks})
        begin("backward")
        opt.zero_grad(set_to_none=True)
        total.backward()
        begin("optimiser")
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        begin(None)

    batches = Batches(rows, config, 0, batch, tr["modes"], raw=on_device)
    stream = batch_stream(batches, 0, warmup + 2 * steps + 1, workers)
    for _ in range(warmup):
        step(next(stream))
    # the operations of one step
    counter = op_counter()
    b = next(stream)
    with counter:
        step(b, counter=counter)
    # stage by stage, synchronised
    clock = {s: [] for s in STAGES}
    clock["_stage"], clock["_t"] = "load", time.perf_counter()
    for _ in range(steps):
        b = next(stream)
        step(b, clock)
        clock["_stage"] = "load"
    # whole steps as training runs them (one synchronisation at the end)
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        step(next(stream))
    sync()
    step_s = (time.perf_counter() - t) / steps
    ms = {s: round(1e3 * float(np.median(clock[s])), 2) for s in STAGES}
    return {"batch": batch, "batch_on": "device" if on_device else "workers", "workers": workers,
            "stage_ms": ms, "aten_ops": {k: v for k, v in counter.counts.items() if k},
            "sum_of_stages_ms": round(sum(ms.values()), 2), "step_ms": round(1e3 * step_s, 2),
            "steps_per_s": round(1 / step_s, 2), "samples_per_s": round(batch / step_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/gpu_small.yaml", help="training recipe (its network and tasks)")
    ap.add_argument("--data", help="shard folder of training rows (default: simulate --rows of them)")
    ap.add_argument("--rows", type=int, default=1024)
    ap.add_argument("--batch", type=int, nargs="+", default=[64])
    ap.add_argument("--batch-on", nargs="+", default=["device", "workers"], choices=["device", "workers"])
    ap.add_argument("--workers", type=int, default=14)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    import torch

    from surfsight.model.train import _device, load_folders, stream_rows

    if a.threads:
        torch.set_num_threads(a.threads)
    device = _device(a.device)
    t0 = time.perf_counter()
    rows = load_folders(a.data, a.rows) if a.data else stream_rows(a.rows, 128, 4321, 2, max(a.workers, 1))
    print(f"{len(rows)} rows in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    out = []
    for batch in a.batch:
        for batch_on in a.batch_on:
            row = measure(rows, a.config, batch, batch_on, a.workers, a.steps, a.warmup, device)
            print(row, file=sys.stderr)
            out.append(row)
    payload = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
               "torch": torch.__version__, "config": a.config, "rows": out}
    path = save("train_step", payload, a.out)
    print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
