"""Material ratio curve and functional parameters (ISO 25178-2 4.5, ISO 13565-2) in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight import ParameterError, Surface
from surfsight.metrology import (Sk, Smc, Smr, Smr1, Smr2, Spk, Spkx, Svk, Svkx, Sxp, Vm, Vmc, Vmp, Vv, Vvc, Vvv,
                                 core_line, functional_parameters, material_ratio_curve)


def from_curve(h_of_mr, shape=(200, 200), seed=0):
    """A surface whose material ratio curve is h_of_mr (metres), heights shuffled on the grid."""
    n = shape[0] * shape[1]
    h = h_of_mr(np.arange(n) / (n - 1))
    return Surface(np.random.default_rng(seed).permutation(h).reshape(shape), spacing=1e-6)


def triangle_wave(amplitude=1e-6, period=2000, periods=4, rows=2):
    x = np.arange(period * periods)
    phase = (x / period) % 1.0
    z = amplitude * (4 * np.abs(phase - 0.5) - 1)        # -A..A, linear in x
    return Surface(np.tile(z, (rows, 1)), spacing=1e-6)


def test_triangle_wave_linear_abbott_curve():
    a = 1e-6
    s = triangle_wave(a)
    tol = dict(rel=0, abs=2e-3 * a)
    assert Sk(s) == pytest.approx(2 * a, **tol)
    assert Smr1(s) == pytest.approx(0.0, abs=0.2)
    assert Smr2(s) == pytest.approx(100.0, abs=0.2)
    assert Spk(s) == pytest.approx(0.0, **tol)
    assert Svk(s) == pytest.approx(0.0, **tol)
    assert Spkx(s) == pytest.approx(0.0, **tol)
    assert Svkx(s) == pytest.approx(0.0, **tol)
    # h(mr) = A (1 - 2 mr): Vm(p) = A p^2, Vv(p) = A (1 - p)^2
    assert Vmp(s) == pytest.approx(a * 0.01, rel=2e-2)
    assert Vmc(s) == pytest.approx(a * (0.64 - 0.01), rel=2e-3)
    assert Vvc(s) == pytest.approx(a * (0.81 - 0.04), rel=2e-3)
    assert Vvv(s) == pytest.approx(a * 0.04, rel=2e-2)
    assert Sxp(s) == pytest.approx(a * (0.95 - 0.0), rel=2e-3)
    assert Smr(s, 0.5 * a) == pytest.approx(25.0, abs=0.2)
    assert Smr(s, 0.5 * a, reference="top") == pytest.approx(25.0, abs=0.2)  # A - 0.5 A from the top
    assert Smc(s, 75.0) == pytest.approx(-0.5 * a, **tol)


def test_stratified_curve_sk_family():
    """Piecewise-linear Abbott curve: peaks 0-10 % (5 -> 1), core 10-80 % (1 -> -1), dales 80-100 % (-1 -> -6)."""
    u = 1e-6

    def h(mr):
        return u * np.piecewise(mr, [mr < 0.1, (mr >= 0.1) & (mr < 0.8), mr >= 0.8],
                                [lambda m: 5 - 40 * m, lambda m: 1 - (m - 0.1) * (2 / 0.7),
                                 lambda m: -1 - 25 * (m - 0.8)])

    s = from_curve(h)
    mean = float(np.mean(h(np.arange(40000) / 39999)))
    slope = 2 / 0.7
    upper, lower = 1 + 0.1 * slope, 1 - 0.9 * slope
    mr1 = (5 - upper) / 40
    mr2 = 0.8 + (-1 - lower) / 25
    tol = dict(rel=2e-3)
    assert Sk(s) == pytest.approx(slope * u, **tol)
    assert Smr1(s) == pytest.approx(100 * mr1, **tol)
    assert Smr2(s) == pytest.approx(100 * mr2, **tol)
    assert Spk(s) == pytest.approx((5 - upper) * u, **tol)     # the peak zone is itself a triangle
    assert Svk(s) == pytest.approx((lower + 6) * u, **tol)
    assert Spkx(s) == pytest.approx((5 - upper) * u, **tol)
    assert Svkx(s) == pytest.approx((lower + 6) * u, **tol)
    line = core_line(material_ratio_curve(s))
    assert line.upper == pytest.approx(upper * u - mean, abs=2e-3 * u)
    assert line.start == pytest.approx(0.1, abs=1e-3)          # first window of least gradient
    # volumes: Vm(10 %) = triangle 0.5 * 0.1 * 4 u; Vv(80 %) = 0.5 * 0.2 * 5 u
    assert Vmp(s) == pytest.approx(0.5 * 0.1 * 4 * u, rel=1e-3)
    assert Vvv(s) == pytest.approx(0.5 * 0.2 * 5 * u, rel=1e-3)


def test_smr_smc_inverse_and_volume_identity():
    rng = np.random.default_rng(5)
    s = Surface(rng.gamma(2.0, size=(50, 60)) * 1e-6, spacing=1e-6)
    curve = material_ratio_curve(s)
    for mr in (0.0, 2.5, 10.0, 50.0, 80.0, 99.0, 100.0):
        c = Smc(s, mr, curve=curve)
        assert Smr(s, c, curve=curve) == pytest.approx(mr, abs=1e-6)
        # Vv(p) - Vm(p) = Smc(p) - integral of the curve (its mean height, ~0: heights are centred)
        mean_of_curve = float(curve.cumulative[-1])
        assert abs(mean_of_curve) < 0.01 * np.std(s.heights)
        assert Vv(s, mr, curve=curve) - Vm(s, mr, curve=curve) == pytest.approx(c - mean_of_curve, abs=1e-18)
    assert Vm(s, 0.0, curve=curve) == pytest.approx(0.0, abs=1e-18)
    assert Vv(s, 100.0, curve=curve) == pytest.approx(0.0, abs=1e-18)
    assert Smr(s, 1.0, curve=curve) == 0.0
    assert Smr(s, -1.0, curve=curve) == 100.0


def test_invalid_points_do_not_change_the_curve():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(40, 40)) * 1e-6
    z[rng.random(z.shape) < 0.3] = np.nan
    s = Surface(z, spacing=1e-6)
    compact = Surface(z[~np.isnan(z)].reshape(1, -1), spacing=1e-6)
    a, b = functional_parameters(s), functional_parameters(compact)
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-12, abs=1e-20), key
        assert math.isfinite(a[key])


def test_errors():
    s = triangle_wave()
    with pytest.raises(ParameterError, match="0..100"):
        Smc(s, 120.0)
    with pytest.raises(ParameterError, match="0..100"):
        Vm(s, -1.0)
    with pytest.raises(ParameterError, match="reference"):
        Smr(s, 0.0, reference="bottom")
    with pytest.raises(ParameterError, match="at least 2"):
        material_ratio_curve(Surface(np.array([[1.0, np.nan]]), spacing=1e-6))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.5, 3.0))
def test_monotone_and_ordered(seed, shape_k):
    rng = np.random.default_rng(seed)
    s = Surface(rng.gamma(shape_k, size=(12, 15)) * 1e-6, spacing=1e-6)
    p = functional_parameters(s)
    assert p["Sk"] >= 0 and p["Spk"] >= 0 and p["Svk"] >= 0
    assert 0 <= p["Smr1"] <= p["Smr2"] <= 100
    assert p["Vmp"] >= 0 and p["Vmc"] >= 0 and p["Vvc"] >= 0 and p["Vvv"] >= 0
    assert Smc(s, 10.0) >= Smc(s, 50.0) >= Smc(s, 90.0)
