"""Segmentation and detection metrics for defect masks.

* :func:`pooled_iou` -- defect-class intersection over union with the counts summed over the whole
  set (Everingham et al., "The PASCAL VOC challenge", IJCV 2010, the segmentation measure), so large
  and small defects weigh by their area;
* :func:`mean_f1` -- the F1 score (Dice coefficient) of each image, averaged over images; an image
  with no defect and no prediction scores 1, one with either side empty and the other not scores 0;
* :func:`auroc` -- area under the ROC curve, computed exactly as the Mann-Whitney U statistic
  divided by ``n_pos * n_neg`` (ties count one half; Hanley & McNeil, Radiology 1982);
* :func:`image_auroc` -- AUROC of one score per image against "the image holds a defect";
* :func:`pixel_auroc` -- AUROC of per-pixel scores pooled over every pixel of the set.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError


def _pairs(predictions: Iterable[np.ndarray], truths: Iterable[np.ndarray]):
    predictions, truths = list(predictions), list(truths)
    if len(predictions) != len(truths):
        raise InputError(f"metrics: {len(predictions)} predictions for {len(truths)} ground-truth masks")
    if not predictions:
        raise InputError("metrics: no images")
    for i, (p, t) in enumerate(zip(predictions, truths)):
        p, t = np.asarray(p), np.asarray(t)
        if p.shape != t.shape:
            raise InputError(f"metrics: image {i}: prediction shape {p.shape} differs from mask shape {t.shape}")
        yield p.astype(bool), t.astype(bool)


def counts(prediction: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one binary prediction."""
    p, t = np.asarray(prediction, dtype=bool), np.asarray(truth, dtype=bool)
    return int(np.count_nonzero(p & t)), int(np.count_nonzero(p & ~t)), int(np.count_nonzero(~p & t))


def pooled_iou(predictions: Iterable[np.ndarray], truths: Iterable[np.ndarray]) -> float:
    """Defect IoU pooled over the set: ``sum TP / sum (TP + FP + FN)`` (1.0 when both are empty everywhere)."""
    tp = fp = fn = 0
    for p, t in _pairs(predictions, truths):
        a, b, c = counts(p, t)
        tp, fp, fn = tp + a, fp + b, fn + c
    union = tp + fp + fn
    return 1.0 if union == 0 else tp / union


def f1(prediction: np.ndarray, truth: np.ndarray) -> float:
    """F1 (Dice) of one image: ``2 TP / (2 TP + FP + FN)``; 1.0 when prediction and truth are both empty."""
    tp, fp, fn = counts(prediction, truth)
    total = 2 * tp + fp + fn
    return 1.0 if total == 0 else 2 * tp / total


def mean_f1(predictions: Iterable[np.ndarray], truths: Iterable[np.ndarray]) -> float:
    """Mean of the per-image F1 scores (see :func:`f1`)."""
    scores = [f1(p, t) for p, t in _pairs(predictions, truths)]
    return float(np.mean(scores))


def auroc(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the binary ``labels`` (exact, ties count one half).

    Raises
    ------
    InputError
        Lengths differ, a score is not finite, or one class is missing (the AUROC is undefined).
    """
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    if s.shape != y.shape:
        raise InputError(f"auroc: {s.size} scores for {y.size} labels")
    if not np.isfinite(s).all():
        raise InputError("auroc: scores must be finite")
    n_pos = int(np.count_nonzero(y))
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InputError(f"auroc: needs both classes; got {n_pos} positive and {n_neg} negative")
    ranks = rankdata(s)                     # average ranks for ties
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def image_auroc(image_scores: Sequence[float], truths: Iterable[np.ndarray]) -> float:
    """AUROC of one score per image against "the mask holds at least one defect pixel"."""
    labels = [bool(np.asarray(t).any()) for t in truths]
    return auroc(image_scores, labels)


def pixel_auroc(maps: Iterable[np.ndarray], truths: Iterable[np.ndarray]) -> float:
    """AUROC of per-pixel scores pooled over all pixels of all images."""
    maps, truths = list(maps), list(truths)
    if len(maps) != len(truths):
        raise InputError(f"pixel_auroc: {len(maps)} maps for {len(truths)} masks")
    for i, (m, t) in enumerate(zip(maps, truths)):
        if np.shape(m) != np.shape(t):
            raise InputError(f"pixel_auroc: image {i}: map shape {np.shape(m)} differs from mask shape {np.shape(t)}")
    s = np.concatenate([np.asarray(m, dtype=np.float32).ravel() for m in maps])
    y = np.concatenate([np.asarray(t, dtype=bool).ravel() for t in truths])
    return auroc(s, y)


def segmentation_report(probabilities: Sequence[np.ndarray], truths: Sequence[np.ndarray], threshold: float = 0.5,
                        ) -> dict[str, float]:
    """``iou``, ``mean_f1``, ``image_auroc`` (score = max probability) and ``pixel_auroc`` of defect maps.

    ``image_auroc``/``pixel_auroc`` are None where the set holds only one class.
    """
    predictions = [np.asarray(p) > threshold for p in probabilities]
    report: dict[str, float] = {"iou": pooled_iou(predictions, truths), "mean_f1": mean_f1(predictions, truths)}
    try:
        report["image_auroc"] = image_auroc([float(np.max(p)) for p in probabilities], truths)
    except InputError:
        report["image_auroc"] = None
    try:
        report["pixel_auroc"] = pixel_auroc(probabilities, truths)
    except InputError:
        report["pixel_auroc"] = None
    report["images"] = len(predictions)
    report["threshold"] = threshold
    return report


def by_group(predictions: Iterable[np.ndarray], truths: Iterable[np.ndarray], groups: Sequence[str]
             ) -> dict[str, dict[str, float | int | None]]:
    """Pixel counts and pooled IoU per group of images (e.g. the defect kind of each image's folder):
    ``{group: {"images", "tp", "fp", "fn", "iou"}}``; ``iou`` is None for a group with no defect
    pixel, predicted or true (a group of good images shows its false alarms as ``fp``)."""
    predictions, groups = list(predictions), list(groups)
    if len(groups) != len(predictions):
        raise InputError(f"metrics: {len(groups)} group names for {len(predictions)} predictions")
    out: dict[str, dict[str, float | int | None]] = {}
    for (p, t), group in zip(_pairs(predictions, truths), groups):
        tp, fp, fn = counts(p, t)
        row = out.setdefault(str(group), {"images": 0, "tp": 0, "fp": 0, "fn": 0})
        row["images"] += 1
        row["tp"] += tp
        row["fp"] += fp
        row["fn"] += fn
    for row in out.values():
        union = row["tp"] + row["fp"] + row["fn"]
        row["iou"] = row["tp"] / union if union else None
    return out
