"""Conformal anomaly decisions: p-values and a false-alarm-controlled threshold from good images.

An anomaly score means nothing on its own; what a user needs is how often a *good* part scores as
high. Given the scores of ``n`` good images that did not build the density (calibration scores),
the conformal p-value of a new image with score ``s`` is

    p(s) = (1 + #{calibration scores >= s}) / (n + 1),

and flagging the images with ``p <= alpha`` flags a new good image with probability at most
``alpha`` when it is exchangeable with the calibration images (Vovk, Gammerman & Shafer,
"Algorithmic learning in a random world", 2005; Bates, Candes, Lei, Romano & Sesia, "Testing for
outliers with conformal p-values", Annals of Statistics 51, 2023). The equivalent threshold on the
score is the ``ceil((n + 1)(1 - alpha))``-th smallest calibration score
(:func:`surfsight.model.calibration.conformal_quantile`); it exists only when ``alpha >= 1 / (n + 1)``.

The calibration scores come from cross-fitting (:func:`folds`): the good images are split into ``k``
folds and each fold is scored by a density fitted on the other folds, so every good image gets an
out-of-fold score and the final density still uses them all (cross-conformal prediction, Vovk,
Annals of Mathematics and Artificial Intelligence 74, 2015). A density fitted on all the images is
a little tighter than the fold densities, so a new good image tends to score lower than the
out-of-fold scores: the false-alarm rate is then at or below ``alpha`` in practice, but the finite-
sample guarantee of a split held out from the final fit is exchanged for using every good image.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from ..model.calibration import conformal_quantile


def _checked(calibration) -> np.ndarray:
    """The calibration scores as a float array, refused when empty or not finite."""
    cal = np.asarray(calibration, float)
    if cal.size == 0 or not np.all(np.isfinite(cal)):
        raise InputError("conformal: the calibration scores must be finite and not empty")
    return cal


def folds(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``k`` disjoint folds of ``range(n)`` (sizes differing by at most one), in random order, each
    sorted; ``k`` is capped at ``n``."""
    if n < 2:
        raise InputError(f"conformal: cross-fitting needs at least 2 images, got {n}")
    if k < 2:
        raise InputError(f"conformal: cross-fitting needs at least 2 folds, got {k}")
    order = rng.permutation(n)
    return [np.sort(part) for part in np.array_split(order, min(k, n))]


def p_values(scores, calibration) -> np.ndarray:
    """Conformal p-values of ``scores`` against the ``calibration`` scores of good images."""
    cal = np.sort(_checked(calibration))
    s = np.asarray(scores, float)
    at_least = cal.size - np.searchsorted(cal, s, side="left")      # calibration scores >= s
    return (1.0 + at_least) / (cal.size + 1.0)


def threshold(calibration, alpha: float) -> tuple[float, float]:
    """(score threshold, false-alarm rate it guarantees): flag ``score > threshold``.

    The conformal quantile for ``alpha``; with too few calibration scores for that ``alpha`` (fewer
    than ``1 / alpha - 1``) the largest calibration score, whose guaranteed rate is ``1 / (n + 1)``.
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"conformal: alpha must be in (0, 1), got {alpha}")
    cal = _checked(calibration)
    q = conformal_quantile(cal, alpha)
    if math.isinf(q):
        return float(cal.max()), 1.0 / (cal.size + 1.0)
    return q, float(alpha)
