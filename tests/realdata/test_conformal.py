"""Conformal anomaly decisions: p-values, the false-alarm threshold and the folds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.errors import InputError
from surfsight.realdata import conformal


def test_p_values_count_the_good_scores_at_least_as_high():
    cal = [1.0, 2.0, 3.0, 4.0]
    # (1 + #{cal >= s}) / (n + 1)
    np.testing.assert_allclose(conformal.p_values([0.5, 2.0, 2.5, 4.0, 9.0], cal), [1.0, 0.8, 0.6, 0.4, 0.2])


def test_threshold_is_the_conformal_quantile_or_the_largest_score():
    cal = np.arange(1.0, 20.0)                       # 19 scores: alpha 0.05 needs k = ceil(20 * 0.95) = 19
    assert conformal.threshold(cal, 0.05) == (19.0, 0.05)
    assert conformal.threshold(cal, 0.1) == (18.0, 0.1)
    value, guaranteed = conformal.threshold(cal[:9], 0.05)      # too few: the largest, rate 1 / (n + 1)
    assert value == 9.0 and guaranteed == pytest.approx(0.1)


def test_false_alarms_stay_at_or_below_alpha_on_exchangeable_scores():
    rng = np.random.default_rng(0)
    alpha, n, trials = 0.1, 29, 4000
    alarms = 0
    for _ in range(trials):
        scores = rng.gamma(2.0, size=n + 1)           # calibration and one new good score, exchangeable
        value, _ = conformal.threshold(scores[:n], alpha)
        alarms += scores[n] > value
    rate = alarms / trials                            # exactly 3 / 30 = 0.1 in expectation here
    assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / trials)
    assert rate > alpha / 2                           # and not trivially conservative


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=10),
       st.floats(0.01, 0.99))
@settings(max_examples=200, deadline=None)
def test_p_values_are_valid_and_agree_with_the_threshold(cal, scores, alpha):
    p = conformal.p_values(scores, cal)
    n = len(cal)
    assert np.all(p >= 1 / (n + 1) - 1e-12) and np.all(p <= 1.0)
    order = np.argsort(scores)
    assert np.all(np.diff(p[order]) <= 1e-12)         # higher score, smaller p
    value, guaranteed = conformal.threshold(cal, alpha)
    flagged = np.asarray(scores) > value
    assert np.all(p[flagged] <= guaranteed + 1e-12)   # a flagged image is rare among good ones


def test_folds_partition_the_images():
    parts = conformal.folds(11, 5, np.random.default_rng(0))
    assert len(parts) == 5 and sorted(np.concatenate(parts).tolist()) == list(range(11))
    assert {len(p) for p in parts} <= {2, 3}
    assert len(conformal.folds(3, 5, np.random.default_rng(0))) == 3


def test_bad_input_is_named():
    with pytest.raises(InputError, match="alpha"):
        conformal.threshold([1.0], 1.5)
    with pytest.raises(InputError, match="finite"):
        conformal.p_values([1.0], [np.nan])
    with pytest.raises(InputError, match="empty"):
        conformal.threshold([], 0.1)
    with pytest.raises(InputError, match="2 images"):
        conformal.folds(1, 5, np.random.default_rng(0))
    with pytest.raises(InputError, match="2 folds"):
        conformal.folds(5, 1, np.random.default_rng(0))
