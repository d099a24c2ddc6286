"""Height parameters (ISO 25178-2 4.2) against closed-form values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from surfsight import ParameterError, Surface
from surfsight.metrology import Sa, Sku, Sp, Sq, Ssk, Sv, Sz, height_parameters


def sine_x(amplitude=1e-6, period=64, periods=4, rows=8, spacing=1e-6):
    x = np.arange(period * periods)
    return Surface(np.tile(amplitude * np.sin(2 * np.pi * x / period), (rows, 1)), spacing=spacing)


def test_sine_closed_form():
    a = 2e-6
    s = sine_x(amplitude=a)
    assert Sq(s) == pytest.approx(a / math.sqrt(2), rel=1e-12)
    assert Sa(s) == pytest.approx(2 * a / math.pi, rel=1e-3)    # sampled |sin|, 64 points per period
    assert Ssk(s) == pytest.approx(0.0, abs=1e-12)
    assert Sku(s) == pytest.approx(1.5, rel=1e-12)              # mean sin^4 / (mean sin^2)^2 = (3/8)/(1/4)
    assert Sp(s) == pytest.approx(a, rel=1e-12)                 # samples hit the crests (period % 4 == 0)
    assert Sv(s) == pytest.approx(a, rel=1e-12)
    assert Sz(s) == pytest.approx(2 * a, rel=1e-12)


def test_step_surface():
    h = 3e-6
    z = np.zeros((20, 40))
    z[:, 20:] = h
    s = Surface(z, spacing=1e-6)
    p = height_parameters(s)
    assert p["Sz"] == pytest.approx(h)
    assert p["Sp"] == pytest.approx(h / 2)
    assert p["Sv"] == pytest.approx(h / 2)
    assert p["Sa"] == pytest.approx(h / 2)
    assert p["Sq"] == pytest.approx(h / 2)
    assert p["Ssk"] == pytest.approx(0.0, abs=1e-12)
    assert p["Sku"] == pytest.approx(1.0)


def test_known_distributions():
    n = 256
    # uniform on [-1, 1]: Ssk = 0, Sku = 9/5 (discrete: 3/5 (3 n^2 - 7) / (n^2 - 1))
    u = np.linspace(-1, 1, n * n).reshape(n, n) * 1e-6
    s = Surface(u, spacing=1e-6)
    assert Ssk(s) == pytest.approx(0.0, abs=1e-12)
    assert Sku(s) == pytest.approx(1.8, rel=1e-4)
    # exponential quantiles: Ssk = 2, Sku = 9
    q = (np.arange(n * n) + 0.5) / (n * n)
    e = -np.log1p(-q).reshape(n, n) * 1e-6
    s = Surface(e, spacing=1e-6)
    assert Ssk(s) == pytest.approx(2.0, rel=5e-3)
    assert Sku(s) == pytest.approx(9.0, rel=2e-2)
    # Gaussian quantiles: Ssk = 0, Sku = 3
    from scipy.stats import norm
    g = norm.ppf(q).reshape(n, n) * 1e-6
    s = Surface(g, spacing=1e-6)
    assert Ssk(s) == pytest.approx(0.0, abs=1e-9)
    assert Sku(s) == pytest.approx(3.0, rel=5e-3)


def test_invalid_points_are_left_out():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(30, 30)) * 1e-6
    holes = z.copy()
    holes[rng.random(z.shape) < 0.2] = np.nan
    s = Surface(holes, spacing=1e-6)
    valid = holes[~np.isnan(holes)]
    assert Sq(s) == pytest.approx(np.std(valid))
    assert Sa(s) == pytest.approx(np.mean(np.abs(valid - valid.mean())))
    assert Sz(s) == pytest.approx(np.ptp(valid))
    assert all(math.isfinite(v) for v in height_parameters(s).values())


def test_errors():
    with pytest.raises(ParameterError, match="no valid"):
        Sq(Surface(np.full((3, 3), np.nan), spacing=1e-6))
    flat = Surface(np.ones((4, 4)), spacing=1e-6)
    assert Sq(flat) == 0.0
    with pytest.raises(ParameterError, match="flat"):
        Ssk(flat)
    with pytest.raises(ParameterError, match="flat"):
        Sku(flat)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (6, 7), elements=st.floats(-1e-3, 1e-3, allow_nan=False)),
       st.floats(-1e-3, 1e-3), st.floats(0.1, 10))
def test_invariants(z, offset, scale):
    s = Surface(z, spacing=1e-6)
    p = height_parameters(s) if np.ptp(z) > 1e-12 else None
    shifted = Surface(z + offset, spacing=1e-6)
    scaled = Surface(z * scale, spacing=1e-6)
    assert Sq(shifted) == pytest.approx(Sq(s), rel=1e-6, abs=1e-12)
    assert Sz(scaled) == pytest.approx(scale * Sz(s), rel=1e-9, abs=1e-15)
    assert Sa(s) <= Sq(s) * (1 + 1e-12) + 1e-18
    assert Sq(s) <= Sz(s) + 1e-18
    if p is not None and p["Sq"] > 1e-9:
        assert p["Sku"] >= p["Ssk"] ** 2 + 1 - 1e-6   # Pearson's inequality
