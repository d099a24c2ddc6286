"""Losses and calibration: closed-form cases."""

import math

import numpy as np
import pytest
import torch

from surfsight.model.calibration import conformal_quantile, expected_calibration_error, fit_temperature
from surfsight.model.losses import MultiTaskLoss, dice_loss, gaussian_nll


def test_gaussian_nll_masks_nan_and_matches_formula():
    mean = torch.tensor([[0.0, 1.0]])
    logvar = torch.tensor([[math.log(4.0), 0.0]])
    target = torch.tensor([[2.0, float("nan")]])
    assert float(gaussian_nll(mean, logvar, target)) == pytest.approx(0.5 * (4 / 4 + math.log(4)))
    assert float(gaussian_nll(mean, logvar, torch.full((1, 2), float("nan")))) == 0.0


def test_dice_is_zero_for_a_perfect_prediction():
    classes = torch.zeros(1, 8, 8, dtype=torch.long)
    classes[0, 2:5, 2:5] = 3
    logits = torch.nn.functional.one_hot(classes, 6).permute(0, 3, 1, 2).float() * 50
    assert float(dice_loss(logits, classes)) == pytest.approx(0, abs=1e-6)
    assert float(dice_loss(-logits, classes)) > 0.9


def test_kendall_weighting():
    loss = MultiTaskLoss(("segmentation", "parameters"))
    with torch.no_grad():
        loss.log_vars[:] = torch.tensor([math.log(2.0)])
    total = loss({"segmentation": torch.tensor(4.0), "parameters": torch.tensor(-1.0)})
    assert float(total) == pytest.approx(4.0 / 2 + math.log(2.0) - 1.0)
    assert loss.weights() == pytest.approx({"segmentation": 0.5, "parameters": 1.0})


def test_conformal_quantile_rank():
    scores = np.arange(1, 20, dtype=float)                    # n = 19
    assert conformal_quantile(scores, 0.1) == 18.0            # ceil(20 * 0.9) = 18th smallest
    assert conformal_quantile(scores[:5], 0.1) == math.inf    # too few for 90 %
    assert conformal_quantile(np.array([np.nan, 1.0, 2.0] * 10), 0.5) == 2.0


def test_conformal_intervals_cover():
    rng = np.random.default_rng(0)
    cal, test = np.abs(rng.standard_normal(2000)) * 3, np.abs(rng.standard_normal(20000)) * 3
    q = conformal_quantile(cal, 0.1)
    assert 0.88 <= (test <= q).mean() <= 0.92


def test_temperature_recovers_overconfidence():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((4000, 5)) * 2
    p = torch.softmax(torch.as_tensor(logits), 1).numpy()
    labels = np.array([rng.choice(5, p=row) for row in p])     # calibrated at T = 1
    t = fit_temperature(logits * 3, labels)                      # three times too sharp
    assert t == pytest.approx(3, rel=0.1)
    assert expected_calibration_error(p, labels) < 0.03
    assert expected_calibration_error(torch.softmax(torch.as_tensor(logits * 3), 1).numpy(), labels) > 0.05
