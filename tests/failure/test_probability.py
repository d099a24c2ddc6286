"""Monte Carlo probability of failure against closed forms, seeds and the MC standard error."""

import math

import numpy as np
import pytest
from scipy import stats

from surfsight.errors import InputError
from surfsight.failure import assess, failure_probability, get_material

M = get_material("steel_42CrMo4_QT")


@pytest.mark.parametrize("stress", [430e6, 495e6, 560e6])
def test_lognormal_material_scatter_closed_form(stress):
    # only the fatigue limit scatters: P = Phi((ln s - ln median) / sqrt(ln(1 + cov^2)))
    res = failure_probability(M, stress, samples=40000, seed=1)
    s = math.sqrt(math.log1p(M.fatigue_limit_cov ** 2))
    exact = stats.norm.cdf((math.log(stress) - math.log(M.fatigue_limit_Pa)) / s)
    se = math.sqrt(exact * (1 - exact) / 40000)
    assert abs(res.probability - exact) < 4 * se + 1e-12
    assert res.standard_error == pytest.approx(math.sqrt(res.probability * (1 - res.probability) / 40000))


def test_normal_material_and_stress_closed_form():
    # limit N(495, 0.1*495), stress N(450, 20): P = Phi((450 - 495) / sqrt(49.5^2 + 20^2))
    res = failure_probability(M, 450e6, u_stress_Pa=20e6, material_cov=0.10, material_distribution="normal",
                              samples=40000, seed=7)
    exact = stats.norm.cdf((450 - 495) / math.hypot(49.5, 20))
    assert abs(res.probability - exact) < 4 * math.sqrt(exact * (1 - exact) / 40000)


def test_seed_reproducible_and_zero_failures_bound():
    a = failure_probability(M, 300e6, seed=3, samples=5000)
    b = failure_probability(M, 300e6, seed=3, samples=5000)
    assert a == b
    assert a.probability == 0 and a.upper_95 == pytest.approx(3 / 5000)
    rng = np.random.default_rng(3)
    assert failure_probability(M, 300e6, seed=rng, samples=5000).seed is None


def test_defect_uncertainty_raises_the_probability():
    scratch = {"kind": "scratch", "depth_m": 30e-6, "length_m": 1e-3, "width_m": 30e-6, "orientation_rad": 0.0}
    sure = failure_probability(M, 330e6, defects=[scratch], material_cov=0.0, model_cov=0.0, samples=4000)
    unsure = failure_probability(M, 330e6, defects=[dict(scratch, u_depth_m=6e-6)], material_cov=0.0,
                                 model_cov=0.0, samples=4000, load_direction_rad=math.pi / 2)
    base = assess(M, 330e6, defects=[scratch], load_direction_rad=math.pi / 2, samples=2000)
    assert sure.safety_factor_u == pytest.approx(0.0, abs=1e-12)
    assert unsure.safety_factor_u > 0
    # nominal safety factor of the defect case is the MC median when the inputs are symmetric and certain
    certain = assess(M, 330e6, defects=[scratch], load_direction_rad=math.pi / 2, samples=2000,
                     material_cov=0.0, model_cov=0.0)
    assert certain.probability.safety_factor_median == pytest.approx(certain.safety_factor, rel=1e-9)
    assert base.limit.value_Pa < M.fatigue_limit_Pa


def test_assess_measurement_dict():
    a = assess("steel_42CrMo4_QT", 250e6, samples=2000)
    m = a.as_measurement()
    assert m["safety_factor"]["value"] == pytest.approx(495 / 250)
    lo, hi = m["safety_factor"]["interval"]
    assert lo < m["safety_factor"]["value"] < hi
    assert m["life_cycles"] == math.inf
    assert m["failure_probability"]["upper_95"] > 0


def test_bad_inputs():
    with pytest.raises(InputError):
        failure_probability(M, 300e6, samples=10)
    with pytest.raises(InputError):
        failure_probability(M, -1.0)
    with pytest.raises(InputError):
        failure_probability(M, 300e6, material_distribution="weibull")
