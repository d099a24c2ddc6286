"""Decoder refit: the per-pixel heads retrained on a frozen encoder.

In the joint stage the decoder shares every step with the global tasks, and the learned task
weights (Kendall, Gal & Cipolla 2018) settle where the sum of all losses is lowest, not where
segmentation is best. This stage freezes the encoder (its weights and its batch-norm running
statistics, so the features are exactly those seen at prediction) and trains only the decoder
and the two dense heads (defect segmentation, height reconstruction) for a number of steps on
the same kind of batches as the joint stage, with their own losses
(:func:`surfsight.model.losses.dense_task_losses`, summed).

Because the global head reads only the encoder's pooled moments (:meth:`SurfsightModel.head`),
the parameter estimates, measurement uncertainties, instrument probabilities and their
calibration are unchanged bit for bit; only the dense outputs change. The same idea, training
new task heads on a frozen shared representation, is the "linear probe" stage of Kumar et al.,
"Fine-tuning can distort pretrained features", ICLR 2022, here with the whole decoder as probe.

A held-out tenth of the rows (at most 256) is never trained on; the dense losses on it are
measured before and after in every input mode, and if the refitted decoder is worse on their
sum weighted as the batches weigh the input modes (:func:`held_out_score`), the original decoder
is put back (``kept`` in the summary says which).

:func:`with_height_decoder` gives a one-decoder model a second decoder for height maps alone
(``ModelConfig.height_decoder``), a copy of the first; a refit weighted to height input then
trains that copy alone, and inputs with an image keep the decoder they had.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch

from .data import collate
from .losses import dense_task_losses
from .network import SurfsightModel
from .refit import rebuilt

DENSE_TASKS = ("segmentation", "reconstruction")


def decoder_modules(model: SurfsightModel) -> list[torch.nn.Module]:
    """The modules :func:`refit_decoder` trains: decoder blocks and the two dense heads (of both
    decoders when the model has a height decoder; each learns from its own inputs only)."""
    return model.decoders()


@torch.no_grad()
def with_height_decoder(model: SurfsightModel) -> SurfsightModel:
    """A copy of ``model`` with a height decoder (for inputs without an image) that starts as a
    copy of its decoder; every output is unchanged until one of the two is refitted. A model
    that has one already is returned as it is."""
    if model.config.height_decoder:
        return model
    out = rebuilt(model, height_decoder=True)
    missing, unexpected = set(out.state_dict()) - set(model.state_dict()), set(model.state_dict()) - set(out.state_dict())
    assert not unexpected and all(k.startswith("height_") for k in missing), (missing, unexpected)
    for general, heights in zip(model.decoder(), out.decoder(heights=True)):
        heights.load_state_dict(general.state_dict())
    return out


@torch.no_grad()
def dense_losses(model: SurfsightModel, rows: Sequence[dict[str, Any]], modes: Sequence[str], tasks: Sequence[str],
                 batch: int = 32, device: str | torch.device = "cpu") -> dict[str, float]:
    """Mean dense losses of ``rows`` (no augmentation, inference mode), per ``mode/task``."""
    was = model.training
    model.eval()
    out: dict[str, float] = {}
    for mode in modes:
        sums = {t: 0.0 for t in tasks}
        for i in range(0, len(rows), batch):
            b = collate(rows[i:i + batch], model.config, mode)
            b = {k: v.to(device) for k, v in b.items()}
            pred = model.decode(model.encode(b["x"]), model.has_image(b["x"]))
            losses = dense_task_losses(pred, b)
            for t in tasks:
                sums[t] += float(losses[t]) * b["x"].shape[0]
        for t in tasks:
            out[f"{mode}/{t}"] = sums[t] / max(1, len(rows))
    model.train(was)
    return out


def held_out_score(losses: dict[str, float], modes: dict[str, float]) -> float:
    """The held-out dense losses (``"mode/task"`` keys, :func:`dense_losses`) summed over tasks and
    averaged over input modes with the batches' mode weights: what decides whether a refitted
    decoder is kept. An unweighted sum would let a gain on a rarely drawn mode (image only, a
    quarter of the batches) hide a loss on the height maps, which weigh half."""
    total = sum(w for m, w in modes.items() if w > 0)
    if not losses or total <= 0:
        return 0.0
    return float(sum(modes.get(key.split("/", 1)[0], 0.0) / total * v for key, v in losses.items()))


def refit_decoder(model: SurfsightModel, rows: Sequence[dict[str, Any]], modes: dict[str, float], *, steps: int,
                  lr: float = 1e-3, batch: int = 12, weight_decay: float = 1e-4, warmup: float = 0.03,
                  seed: int = 0, device: str | torch.device = "cpu", tasks: Sequence[str] | None = None,
                  log: Callable[[str], None] | None = None, log_every: int = 100, workers: int = 0,
                  time_limit_s: float | None = None, batch_on: str = "auto") -> dict[str, Any]:
    """Retrain the decoder of ``model`` in place on ``rows`` (see the module docs).

    ``modes``: input-mode weights of the batches, as in the training recipe. ``tasks``: the
    dense tasks to train (default: those of the model's configuration); ``workers``: DataLoader
    workers building the batches (0: in this process); ``time_limit_s``: stop after this many
    seconds, the learning rate annealed over the share of steps or of the time used, whichever
    is further along (as in the joint stage; such a run is not bit-reproducible); ``batch_on``:
    where batches are finished (as the joint stage's ``train.batch_on``). Returns a summary with
    the held-out losses before and after and whether the refitted decoder was kept.
    """
    from .train import Batches, batch_stream, batches_on_device, lr_factor, progress, to_device  # the joint stage's (lazily: train imports this module)

    log = log or (lambda msg: None)
    if steps < 1:
        raise ValueError(f"refit_decoder: steps must be >= 1, got {steps}")
    wanted = model.config.tasks if tasks is None else tasks
    tasks = [t for t in DENSE_TASKS if t in wanted]
    if not tasks:
        return {"skipped": "no dense task"}
    unknown = sorted(set(modes) - {"height", "image", "both"})
    if unknown or not any(w > 0 for w in modes.values()):
        raise ValueError(f"refit_decoder: modes must weigh height, image or both, got {modes!r}")
    modes = {m: float(w) for m, w in modes.items() if w > 0}
    order = np.random.default_rng([seed, 7]).permutation(len(rows))
    n_val = min(256, max(1, len(rows) // 10)) if len(rows) > 1 else 0
    val = [rows[i] for i in order[:n_val]]
    fit = [rows[i] for i in order[n_val:]] or list(rows)

    trained = [p for m in decoder_modules(model) for p in m.parameters()]
    ids = {id(p) for p in trained}
    frozen = [p for p in model.parameters() if id(p) not in ids]
    flags = [p.requires_grad for p in frozen]
    before_state = copy.deepcopy([m.state_dict() for m in decoder_modules(model)])
    before = dense_losses(model, val, list(modes), tasks, device=device) if val else {}
    opt = torch.optim.AdamW(trained, lr=lr, weight_decay=weight_decay)
    dev = torch.device(device)
    on_device = batches_on_device(batch_on, dev)
    batches = Batches(fit, model.config, seed, batch, modes, raw=on_device)
    t0 = time.perf_counter()
    running: dict[str, torch.Tensor] = {}
    bf16 = dev.type == "cuda"  # as the joint stage
    done = 0
    try:
        for p in frozen:
            p.requires_grad_(False)
        model.eval()
        for m in decoder_modules(model):
            m.train()
        for step, raw in enumerate(batch_stream(batches, 0, steps, workers)):
            frac = progress(step, steps, time.perf_counter() - t0, time_limit_s)
            for group in opt.param_groups:
                group["lr"] = lr * lr_factor(frac, warmup, floor=0.0)
            b = to_device(raw, dev, model.config, on_device)
            with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=bf16):
                with torch.no_grad():
                    feats = model.encode(b["x"])
                losses = dense_task_losses(model.decode(feats, model.has_image(b["x"])), b)
            loss = sum(losses[t] for t in tasks)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trained, 5.0)
            opt.step()
            # running means stay on the device: reading them back every step would stall the GPU
            for t in tasks:
                v = losses[t].detach().float()
                running[t] = v if t not in running else 0.98 * running[t] + 0.02 * v
            done = step + 1
            over = time_limit_s is not None and time.perf_counter() - t0 > float(time_limit_s)
            if done % log_every == 0 or done == steps or over:
                rate = done / max(1e-9, time.perf_counter() - t0)
                log(f"decoder refit step {done}/{steps}  " + "  ".join(f"{t[:4]} {float(v):.3f}" for t, v in running.items())
                    + f"  {rate:.2f} it/s")
            if over:
                log(f"decoder refit: time limit reached at step {done}")
                break
    finally:
        for p, flag in zip(frozen, flags):
            p.requires_grad_(flag)
        model.eval()
    after = dense_losses(model, val, list(modes), tasks, device=device) if val else {}
    kept = not val or held_out_score(after, modes) <= held_out_score(before, modes)
    if not kept:
        for m, state in zip(decoder_modules(model), before_state):
            m.load_state_dict(state)
        log("decoder refit: held-out loss did not improve; the original decoder is kept")
    return {"steps": int(done), "steps_planned": int(steps), "time_limit_s": time_limit_s, "lr": lr, "batch": batch,
            "seed": seed, "modes": modes, "tasks": tasks,
            "held_out_rows": len(val), "held_out_before": before, "held_out_after": after,
            "held_out_score_before": held_out_score(before, modes), "held_out_score_after": held_out_score(after, modes),
            "kept": bool(kept),
            "seconds": round(time.perf_counter() - t0, 1)}
