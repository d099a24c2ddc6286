"""Calibration on a held-out set: temperature scaling and Mondrian split-conformal intervals.

* **Temperature scaling** of the instrument classifier (Guo et al., "On calibration of modern
  neural networks", ICML 2017): one scalar ``T`` per input mode minimising the negative
  log-likelihood of ``softmax(logits / T)`` on the calibration set (grid search, then the
  expected calibration error is reported with 15 equal-width bins).
* **Split conformal prediction** (Vovk et al. 2005; Lei et al., JASA 113 (2018) 1094) with
  normalised scores ``|y - mu| / sigma`` (``sigma`` the predicted total standard deviation) and,
  Mondrian-style, one quantile per input mode, instrument group and parameter (Vovk et al. 2005,
  ch. 4; Bostroem et al. 2021): the factor ``q`` is the ``ceil((n + 1)(1 - alpha))``-th smallest
  score, so ``mu +- q sigma`` covers a new exchangeable sample with probability at least
  ``1 - alpha`` within each group. The groups are the *predicted* instrument classes, in
  calibration as at inference: a Mondrian taxonomy may be any function of the input, so the
  guarantee holds per predicted group however accurate the classifier is (grouping by the true
  instrument and looking up the predicted one breaks it when the classifier errs). Groups with
  too few samples fall back on the pooled factor.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from .data import collate
from .infer import global_outputs
from .network import SurfsightModel

MODES = ("height", "image", "both")


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The split-conformal quantile of finite ``scores`` (inf if there are too few)."""
    s = np.sort(np.asarray(scores, float)[np.isfinite(scores)])
    n = s.size
    if n == 0:
        return math.inf
    k = math.ceil((n + 1) * (1 - alpha))
    return float(s[k - 1]) if k <= n else math.inf


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising the NLL of ``softmax(logits / T)`` (log-spaced grid, 0.05..20)."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.int64)
    grid = np.exp(np.linspace(math.log(0.05), math.log(20), 400))
    nll = [float(torch.nn.functional.cross_entropy(z / t, y)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins (Naeini et al., AAAI 2015; Guo et al. 2017)."""
    probs = np.asarray(probs, float)
    conf = probs.max(1)
    correct = probs.argmax(1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


@torch.no_grad()
def batch_outputs(model: SurfsightModel, items: Sequence[dict[str, Any]], mode: str, passes: int = 16,
                  batch_size: int = 32, device: str = "cpu") -> dict[str, np.ndarray]:
    """Global predictions and targets (transformed space) for equal-size shard rows."""
    model.eval()
    keys = ("parameters", "parameters_std", "uncertainty", "uncertainty_std", "instrument")
    acc: dict[str, list] = {k: [] for k in (*keys, "t_parameters", "t_uncertainty", "y_instrument")}
    for start in range(0, len(items), batch_size):
        batch = collate(items[start:start + batch_size], model.config, mode)
        x = batch["x"].to(device)
        feats = model.encode(x)
        m1, m2 = model.moments(feats)
        g = global_outputs(model, m1.float(), m2.float(), batch["scale"].to(device), passes)
        for k in keys:
            acc[k].append(g[k].float().cpu().numpy())
        acc["t_parameters"].append(batch["parameters"].numpy())
        acc["t_uncertainty"].append(batch["uncertainty"].numpy())
        acc["y_instrument"].append(batch["instrument"].numpy())
    return {k: np.concatenate(v) for k, v in acc.items()}


def calibrate(model: SurfsightModel, items: Sequence[dict[str, Any]], alpha: float = 0.1, passes: int = 16,
              modes: Sequence[str] = MODES, device: str = "cpu") -> dict[str, Any]:
    """Fit temperatures and conformal factors on ``items``; stores them in
    ``model.metadata["calibration"]`` and returns them."""
    classes = list(model.config.instrument_classes)
    out: dict[str, Any] = {"alpha": alpha, "passes": passes, "n": len(items), "groups": "predicted instrument",
                           "temperature": {}, "conformal": {},
                           "ece_before": {}, "ece_after": {}}
    for mode in modes:
        o = batch_outputs(model, items, mode, passes, device=device)
        t = fit_temperature(o["instrument"], o["y_instrument"])
        out["temperature"][mode] = t
        logits = torch.as_tensor(o["instrument"])
        out["ece_before"][mode] = expected_calibration_error(logits.softmax(1).numpy(), o["y_instrument"])
        out["ece_after"][mode] = expected_calibration_error((logits / t).softmax(1).numpy(), o["y_instrument"])
        scores = np.abs(o["t_parameters"] - o["parameters"]) / np.maximum(o["parameters_std"], 1e-9)
        groups: dict[str, dict[str, float]] = {}
        predicted = o["instrument"].argmax(1)   # the taxonomy is the *predicted* instrument, as at inference
        for g in ["all", *classes]:
            sel = np.ones(len(scores), bool) if g == "all" else predicted == classes.index(g)
            qs = {name: conformal_quantile(scores[sel, j], alpha) for j, name in enumerate(model.config.parameter_names)}
            groups[g] = {k: (v if math.isfinite(v) else None) for k, v in qs.items()}  # None: use "all"
        out["conformal"][mode] = groups
    model.metadata["calibration"] = out
    return out
