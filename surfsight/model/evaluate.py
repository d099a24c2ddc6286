"""Evaluation on fresh simulator samples (a seed never used in training).

Definitions (all on the same ``n`` samples):

* ``parameters[P].r2``: coefficient of determination of the estimate against the true texture
  value, computed in the model's target space: on ``ln P`` for the positive scale parameters
  (Sa, Sq, Sz, Sdq, Sdr, Sal), which span four decades here, and on ``P`` itself for Ssk, Sku,
  Str; ``r2_linear`` is the same on ``P``. ``mape``: mean ``|estimate - true| / |true|`` (%).
  ``coverage90``: share of true values inside the calibrated 90 % interval, overall and per
  instrument; ``width90_rel``: median of ``(high - low) / |true|``.
* ``measurement_uncertainty[P].r2``: on ``ln u`` against the simulator's Monte Carlo standard
  uncertainty (GUM S1, ``mc`` repetitions).
* ``instrument``: accuracy and expected calibration error (15 bins) of the temperature-scaled
  classifier.
* ``defects``: IoU per kind over all pixels of all samples, ``miou`` their mean over the kinds
  that occur; ``recall``: share of true defects deeper than 3x the instrument noise of which at
  least half the pixels are predicted as some defect; ``recall_by_instrument`` and
  ``recall_by_kind`` the same per instrument and per defect kind (``None`` where none counts).
* ``reconstruction`` (image or both input): R2 of the reconstructed heights against the true
  levelled heights, per sample, median.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..synth.instruments import INSTRUMENTS
from .config import TRANSFORMS
from .infer import predict
from .network import SurfsightModel


def r2(pred: np.ndarray, true: np.ndarray) -> float:
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    ok = np.isfinite(pred) & np.isfinite(true)
    if ok.sum() < 2:
        return math.nan
    ss_tot = float(((true[ok] - true[ok].mean()) ** 2).sum())
    return 1 - float(((true[ok] - pred[ok]) ** 2).sum()) / ss_tot if ss_tot > 0 else math.nan


def _space(name: str, v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, float)
    if TRANSFORMS.get(name, "linear") != "linear":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    return v


def counts_for_recall(depth: float, noise: float, mask: np.ndarray) -> bool:
    """Whether a true defect enters ``recall``: deeper than 3x the instrument noise, and on the grid."""
    return depth > 3 * noise and bool(mask.any())


def is_found(predicted: np.ndarray, mask: np.ndarray) -> bool:
    """Whether a true defect (``mask``) counts as found: at least half its pixels are predicted
    as some defect (``predicted``, boolean)."""
    return bool(predicted[mask].mean() >= 0.5)


def _recall_by(tally: dict[tuple[str, str], list[int]], group: str, names) -> dict[str, float | None]:
    """Recall per name of ``group`` ("instrument" or "kind") from the (deep, found) tallies."""
    return {name: (tally[(group, name)][1] / tally[(group, name)][0] if (group, name) in tally else None)
            for name in names}


def simulate(n: int, seed: int, size: int, mc: int, workers: int = 1) -> list[dict[str, Any]]:
    """Shard-like rows of ``n`` fresh samples (seed ``seed``)."""
    from .train import stream_rows

    return stream_rows(n, size, seed, mc, workers)


def evaluate(model: SurfsightModel, n: int = 100, seed: int = 987654, input: str = "height", size: int | None = None,
             mc: int = 8, workers: int = 1, passes: int = 16, rows: list[dict[str, Any]] | None = None,
             tta: bool = False) -> dict[str, Any]:
    """Score ``model`` on ``n`` fresh samples; returns the metrics dict (see the module docs)."""
    if input not in ("height", "image", "both"):
        raise ValueError(f"evaluate: input must be height, image or both, got {input!r}")
    size = int(size or model.metadata.get("size", model.config.tile))
    if rows is None:
        rows = simulate(n, seed, size, mc, workers)
    names = list(model.config.parameter_names)
    kinds = list(model.config.defect_classes[1:])
    classes = list(model.config.instrument_classes)
    est = {k: [] for k in names}
    lo = {k: [] for k in names}
    hi = {k: [] for k in names}
    true = {k: [] for k in names}
    u_est = {k: [] for k in model.config.uncertainty_names}
    u_true = {k: [] for k in model.config.uncertainty_names}
    inst_true, inst_prob = [], []
    inter = np.zeros(len(kinds))
    union = np.zeros(len(kinds))
    found = deep = 0
    tally: dict[tuple[str, str], list[int]] = {}  # (instrument or kind, name) -> [deep, found]
    recon_r2 = []
    seconds = 0.0
    for row in rows:
        heights = np.asarray(row["measured"], np.float64) if input in ("height", "both") else None
        image = np.asarray(row["image"], np.float32) / 255.0 if input in ("image", "both") else None
        spacing = tuple(float(s) for s in row["spacing"])
        t = time.perf_counter()
        p = predict(model, heights, image, spacing, passes=passes, tta=tta)
        seconds += time.perf_counter() - t
        for j, k in enumerate(names):
            true[k].append(float(row["labels"][j]))
            est[k].append(p.parameters[k]["value"])
            lo[k].append(p.parameters[k]["low90"])
            hi[k].append(p.parameters[k]["high90"])
        for k in u_est:
            u_true[k].append(float(row["uncertainty"][names.index(k)]))
            u_est[k].append(p.measurement_uncertainty[k]["value"])
        inst_true.append(int(row["instrument"]))
        inst_prob.append([p.instrument_probabilities[c] for c in classes])
        truth_classes = np.asarray(row["classes"])
        for c in range(len(kinds)):
            a, b = p.classes == c + 1, truth_classes == c + 1
            inter[c] += np.logical_and(a, b).sum()
            union[c] += np.logical_or(a, b).sum()
        noise = INSTRUMENTS[classes[int(row["instrument"])]].noise
        inst_map = np.asarray(row["instances"])
        for j, rec in enumerate(row.get("defects", [])):
            mask = inst_map == j + 1
            if counts_for_recall(rec.get("depth_m") or 0.0, noise, mask):
                hit = int(is_found(p.classes > 0, mask))
                deep += 1
                found += hit
                for key in (("instrument", classes[int(row["instrument"])]), ("kind", str(rec.get("kind")))):
                    pair = tally.setdefault(key, [0, 0])
                    pair[0] += 1
                    pair[1] += hit
        if image is not None:
            tz = np.asarray(row["truth"], np.float64)
            tz = tz - tz.mean()
            recon_r2.append(r2(p.reconstruction - p.reconstruction.mean(), tz))
    result: dict[str, Any] = {"n": len(rows), "input": input, "seed": seed, "size": size, "mc": mc, "passes": passes,
                              "tta": bool(tta),
                              "parameters": {}, "measurement_uncertainty": {}}
    inst_arr = np.array(inst_true)
    for k in names:
        t, e, l, h = (np.array(v, float) for v in (true[k], est[k], lo[k], hi[k]))
        ok = np.isfinite(t)
        inside = (t >= l) & (t <= h)
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = np.abs(e - t) / np.abs(t)
            width = (h - l) / np.abs(t)
        by_inst = {c: (float(inside[ok & (inst_arr == i)].mean()) if (ok & (inst_arr == i)).any() else None)
                   for i, c in enumerate(classes)}
        result["parameters"][k] = {
            "r2": r2(_space(k, e), _space(k, t)), "r2_linear": r2(e, t),
            "mape": float(np.nanmean(ape[ok & np.isfinite(ape)]) * 100) if ok.any() else None,
            "coverage90": float(inside[ok].mean()) if ok.any() else None,
            "coverage90_by_instrument": by_inst,
            "width90_rel": float(np.nanmedian(width[ok & np.isfinite(width)])) if ok.any() else None,
            "n": int(ok.sum()),
        }
    for k in u_est:
        result["measurement_uncertainty"][k] = {"r2": r2(_space("Sa", u_est[k]), _space("Sa", u_true[k])),
                                                "r2_linear": r2(u_est[k], u_true[k]),
                                                "n": int(np.isfinite(u_true[k]).sum())}
    from .calibration import expected_calibration_error

    probs = np.array(inst_prob)
    result["instrument"] = {"accuracy": float((probs.argmax(1) == inst_arr).mean()),
                            "ece": expected_calibration_error(probs, inst_arr)}
    iou = {k: (float(inter[i] / union[i]) if union[i] > 0 else None) for i, k in enumerate(kinds)}
    present = [v for v in iou.values() if v is not None]
    result["defects"] = {"miou": float(np.mean(present)) if present else None, "iou": iou,
                         "recall": float(found / deep) if deep else None, "n_deep_defects": deep,
                         "recall_by_instrument": _recall_by(tally, "instrument", classes),
                         "recall_by_kind": _recall_by(tally, "kind", kinds)}
    if recon_r2:
        result["reconstruction"] = {"r2_median": float(np.nanmedian(recon_r2))}
    result["seconds_per_sample"] = seconds / max(1, len(rows))
    return result
