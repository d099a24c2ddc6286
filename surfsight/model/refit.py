"""Second training stage: the global head refitted on the pooled features of the whole set.

In the joint stage every task shares small batches, so the global head (an MLP on the pooled
encoder moments and the scale features, :meth:`SurfsightModel.head`) sees each training sample
only a handful of times, through gradients dominated by the dense tasks. Once the trunk is
trained it is frozen, the pooled moments of every training sample are computed once per input
mode with the network in inference mode (batch-norm running statistics, as at prediction), and
the head alone is trained on them with full passes over the data: the same heteroscedastic
Gaussian NLL for the parameters and the measurement uncertainty, cross-entropy for the
instrument. A tenth of the samples is held out and the epoch with the lowest held-out loss is
kept (early stopping). Training a network's head on frozen features after (or instead of)
end-to-end training is the standard "linear probe" practice (Kumar et al., "Fine-tuning can
distort pretrained features", ICLR 2022); here the probe is the model's own MLP head and its
dropout stays in use, so MC dropout at inference is unchanged.

The head can start from fresh weights (``reinit``) and read more samples than the joint stage
(:func:`folder_features`, one shard folder in memory at a time): on the shipped trunk, 6000,
18000 and 30000 samples gave instrument accuracy 0.928, 0.963 and 0.975 (see docs/model.md), so
the head is limited by data long before the trunk is.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Sequence

import torch

from .data import collate, statistics
from .losses import global_task_losses
from .network import SurfsightModel
from .seeding import seeded


@torch.no_grad()
def pooled_features(model: SurfsightModel, rows: Sequence[dict[str, Any]], modes: Sequence[str], batch: int = 64,
                    device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Pooled moments, scale features and standardised targets of ``rows`` for each input mode,
    concatenated (tensors on the CPU): ``m1``, ``m2``, ``scale``, ``parameters``, ``uncertainty``,
    ``instrument``."""
    was = model.training
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("m1", "m2", "scale", "parameters", "uncertainty",
                                                            "instrument")}
    for mode in modes:
        for i in range(0, len(rows), batch):
            b = collate(rows[i:i + batch], model.config, mode)
            feats = model.encode(b["x"].to(device))
            m1, m2 = model.moments(feats)
            scale = b["scale"]
            pm, ps = statistics(model.config, scale, "parameters")
            um, us = statistics(model.config, scale, "uncertainty")
            parts["m1"].append(m1.float().cpu())
            parts["m2"].append(m2.float().cpu())
            parts["scale"].append(scale)
            parts["parameters"].append((b["parameters"] - pm) / ps)
            parts["uncertainty"].append((b["uncertainty"] - um) / us)
            parts["instrument"].append(b["instrument"])
    model.train(was)
    return {k: torch.cat(v) for k, v in parts.items()}


def _head_loss(model: SurfsightModel, d: dict[str, torch.Tensor], idx: torch.Tensor,
               tasks: Sequence[str]) -> torch.Tensor:
    out = model.head(d["m1"][idx], d["m2"][idx], d["scale"][idx])
    losses = global_task_losses(out, d["parameters"][idx], d["uncertainty"][idx], d["instrument"][idx])
    return sum(losses[t] for t in tasks)


def head_modules(model: SurfsightModel) -> list[torch.nn.Module]:
    """The modules of the global head (what :func:`refit_head` trains)."""
    return model.global_head_modules()


def with_head_shared(model: SurfsightModel, shared: int, seed: int = 0) -> SurfsightModel:
    """A copy of ``model`` whose global head shares ``shared`` of its two hidden layers between the
    tasks (``ModelConfig.head_shared``), on the same encoder and decoders. The head's weights are
    drawn afresh (:func:`reinitialise_head`, seeded) unless the sharing is the model's own, in
    which case it is a plain copy; either way the head is meant to be refitted
    (:func:`refit_head`)."""
    if shared == model.config.head_shared:
        return copy.deepcopy(model)
    new = rebuilt(model, head_shared=shared)
    reinitialise_head(new, seed)
    return new


def rebuilt(model: SurfsightModel, **changes: Any) -> SurfsightModel:
    """A new model with ``changes`` to the configuration of ``model`` (e.g. ``head_shared``,
    ``reconstruction_block``), holding the weights and batch-norm statistics of ``model`` wherever
    a name and shape are the same in both; the rest keep PyTorch's initialisation, to be drawn
    afresh (seeded) and trained by the caller."""
    config = copy.deepcopy(model.config)
    for key, value in changes.items():
        if not hasattr(config, key):
            raise ValueError(f"rebuilt: ModelConfig has no field {key!r}")
        setattr(config, key, value)
    new = SurfsightModel(config, copy.deepcopy(model.metadata))
    mine = new.state_dict()
    new.load_state_dict({k: v for k, v in model.state_dict().items() if k in mine and mine[k].shape == v.shape},
                        strict=False)
    new.train(model.training)
    return new


def reinitialise(modules: Sequence[torch.nn.Module], seed: int = 0) -> None:
    """Draw the weights of ``modules`` afresh (PyTorch's default initialisation of every layer that
    has one, batch-norm statistics included), seeded, leaving the global random state as it was."""
    with seeded(seed, *modules):
        for module in modules:
            for layer in module.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()


def reinitialise_head(model: SurfsightModel, seed: int = 0) -> None:
    """Draw the global head's weights afresh (:func:`reinitialise`): a refit from here does not
    depend on what the joint stage left in the head."""
    reinitialise(head_modules(model), seed)


def folder_features(model: SurfsightModel, folders: Sequence[str], modes: Sequence[str], batch: int = 64,
                    device: str | torch.device = "cpu") -> list[dict[str, torch.Tensor]]:
    """:func:`pooled_features` of the samples of each shard folder, one folder in memory at a time
    (the pooled features are a few kilobytes per sample, the samples themselves hundreds)."""
    from .train import load_shards

    return [pooled_features(model, load_shards(folder), modes, batch=batch, device=device) for folder in folders]


def concat_features(parts: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Several :func:`pooled_features` results as one."""
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def refit_head(model: SurfsightModel, rows: Sequence[dict[str, Any]], modes: Sequence[str], *, epochs: int = 200,
               lr: float = 2e-3, batch: int = 256, weight_decay: float = 1e-4, holdout: float = 0.1, seed: int = 0,
               device: str | torch.device = "cpu", tasks: Sequence[str] | None = None,
               features: dict[str, torch.Tensor] | None = None, reinit: bool = False,
               log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Refit the global head of ``model`` in place on ``rows`` (see the module docs).

    ``tasks`` restricts the loss to some of the global tasks (default: those of the model's
    configuration); ``features`` reuses the output of :func:`pooled_features` for the same
    trunk, rows and modes (``rows`` is then not read); ``reinit`` starts from fresh weights
    (:func:`reinitialise_head`, seeded by ``seed``) instead of the head as it came in. Returns a
    summary: samples, epochs run, the best epoch and its held-out loss (and the held-out loss of
    the head as it came in, for comparison).
    """
    log = log or (lambda msg: None)
    if epochs < 1:
        raise ValueError(f"refit_head: epochs must be >= 1, got {epochs}")
    wanted = model.config.tasks if tasks is None else tasks
    tasks = [t for t in ("parameters", "uncertainty", "instrument") if t in wanted]
    if not tasks:
        return {"skipped": "no global task"}
    d = features if features is not None else pooled_features(model, rows, modes, device=device)
    n = d["m1"].shape[0]
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    n_val = max(1, int(round(holdout * n)))
    val, fit = order[:n_val], order[n_val:]
    params = [p for m in head_modules(model) for p in m.parameters()]
    trained = {id(p) for p in params}
    others = [p for p in model.parameters() if id(p) not in trained]
    for p in others:
        p.requires_grad_(False)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    model.eval()

    def held_out() -> float:
        with torch.no_grad():
            return float(_head_loss(model, d, val, tasks))

    start_loss = held_out()
    if reinit:
        reinitialise_head(model, seed)
    best, best_epoch = (held_out() if reinit else start_loss), 0
    best_state = copy.deepcopy([m.state_dict() for m in head_modules(model)])
    # dropout masks from the seed, not from the process's random state: the same call gives the
    # same head bit for bit, and the caller's random state is left as it was
    with seeded(seed, model):
        try:
            for epoch in range(1, epochs + 1):
                model.set_mc_dropout(True)
                perm = fit[torch.randperm(fit.numel(), generator=g)]
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / epochs))
                for i in range(0, perm.numel(), batch):
                    loss = _head_loss(model, d, perm[i:i + batch], tasks)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, 5.0)
                    opt.step()
                model.set_mc_dropout(False)
                v = held_out()
                if v < best:
                    best, best_epoch = v, epoch
                    best_state = copy.deepcopy([m.state_dict() for m in head_modules(model)])
                if epoch % max(1, epochs // 10) == 0 or epoch == epochs:
                    log(f"head refit epoch {epoch}/{epochs}  held-out loss {v:.4f}  (best {best:.4f} at {best_epoch})")
        finally:
            model.set_mc_dropout(False)
            for p in others:
                p.requires_grad_(True)
    for m, state in zip(head_modules(model), best_state):
        m.load_state_dict(state)
    return {"samples": int(n), "modes": list(modes), "tasks": tasks, "epochs": int(epochs), "best_epoch": int(best_epoch),
            "held_out_loss": float(best), "held_out_loss_before": float(start_loss),
            "lr": lr, "batch": batch, "seed": seed, "reinit": bool(reinit)}

