"""Multi-task loss with learned task weighting.

Each task ``t`` has a loss ``L_t`` and a learnable log-variance ``s_t``; the total is
``sum_t exp(-s_t) L_t + s_t`` (Kendall, Gal & Cipolla, "Multi-task learning using uncertainty to
weigh losses", CVPR 2018, eq. 7 with the 1/2 folded into ``s_t``). The regression heads are
themselves heteroscedastic: Gaussian negative log-likelihood with a predicted log-variance per
sample and parameter (Kendall & Gal, NeurIPS 2017), NaN targets (parameters undefined for a
surface, uncertainty not simulated) masked out. Segmentation is cross-entropy plus a soft Dice
term over the defect classes (defects are a small share of the pixels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import TASKS


def gaussian_nll(mean: torch.Tensor, logvar: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean Gaussian NLL over finite targets (0 if there are none)."""
    ok = torch.isfinite(target)
    if not ok.any():
        return mean.sum() * 0.0
    t = torch.where(ok, target, mean.detach())
    nll = 0.5 * (torch.exp(-logvar) * (t - mean) ** 2 + logvar)
    return (nll * ok).sum() / ok.sum()


def dice_loss(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice over the foreground classes present in the batch or predicted."""
    prob = logits.softmax(dim=1)[:, 1:]
    onehot = F.one_hot(classes, logits.shape[1]).permute(0, 3, 1, 2)[:, 1:].to(prob.dtype)
    inter = (prob * onehot).sum(dim=(0, 2, 3))
    denom = prob.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    present = onehot.sum(dim=(0, 2, 3)) > 0
    dice = (2 * inter + 1) / (denom + 1)
    return (1 - dice[present]).mean() if present.any() else prob.mean() * 0.0


def task_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], p_mean: torch.Tensor,
                p_std: torch.Tensor, u_mean: torch.Tensor, u_std: torch.Tensor) -> dict[str, torch.Tensor]:
    """The per-task losses of one batch (targets standardised with the given statistics)."""
    p_target = (batch["parameters"] - p_mean) / p_std
    u_target = (batch["uncertainty"] - u_mean) / u_std
    return {**dense_task_losses(out, batch), **global_task_losses(out, p_target, u_target, batch["instrument"])}


def dense_task_losses(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The losses of the decoder's per-pixel tasks (also used by the decoder refit of
    :mod:`surfsight.model.dense_refit`)."""
    seg = out["segmentation"].float()
    return {
        "segmentation": F.cross_entropy(seg, batch["classes"]) + dice_loss(seg, batch["classes"]),
        "reconstruction": F.smooth_l1_loss(out["reconstruction"].float(), batch["reconstruction"], beta=0.5),
    }


def global_task_losses(out: dict[str, torch.Tensor], p_target: torch.Tensor, u_target: torch.Tensor,
                       instrument: torch.Tensor) -> dict[str, torch.Tensor]:
    """The losses of the global head's tasks, targets already standardised (also used by the
    head refit of :mod:`surfsight.model.refit`)."""
    return {
        "parameters": gaussian_nll(out["parameters"].float(), out["parameters_logvar"].float(), p_target),
        "uncertainty": gaussian_nll(out["uncertainty"].float(), out["uncertainty_logvar"].float(), u_target),
        "instrument": F.cross_entropy(out["instrument"].float(), instrument),
    }


#: Tasks whose loss is a Gaussian NLL with a predicted variance per sample and output: these are
#: already weighted by learned (heteroscedastic) variances, the finer form of the same scheme,
#: and their NLL can be negative, which would make a task-level ``s_t`` diverge.
SELF_WEIGHTED = ("parameters", "uncertainty")


class MultiTaskLoss(nn.Module):
    """Kendall-Gal-Cipolla weighting over the enabled ``tasks``: a learned ``s_t`` for the
    classification and dense tasks, per-output learned variances for the NLL tasks."""

    def __init__(self, tasks=TASKS):
        super().__init__()
        self.tasks = tuple(tasks)
        self.weighted = tuple(t for t in self.tasks if t not in SELF_WEIGHTED)
        self.log_vars = nn.Parameter(torch.zeros(len(self.weighted)))

    def forward(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        total = self.log_vars.sum() * 0.0
        for task in self.tasks:
            if task in self.weighted:
                s = self.log_vars[self.weighted.index(task)]
                total = total + torch.exp(-s) * losses[task] + s
            else:
                total = total + losses[task]
        return total

    def weights(self) -> dict[str, float]:
        w = {t: float(torch.exp(-s)) for t, s in zip(self.weighted, self.log_vars.detach())}
        w.update({t: 1.0 for t in self.tasks if t not in self.weighted})
        return w
