"""Hybrid parameters Sdq and Sdr (ISO 25178-2 4.4) and the slope distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from surfsight import ParameterError, Surface
from surfsight.metrology import Sdq, Sdr, gradients, slope_distribution


def plane(a, b, shape=(30, 40), spacing=(2e-6, 1e-6)):
    y = np.arange(shape[0])[:, None] * spacing[0]
    x = np.arange(shape[1])[None, :] * spacing[1]
    return Surface(a * x + b * y + 0 * x * y, spacing=spacing)


@pytest.mark.parametrize("angle", [5.0, 30.0, 60.0])
def test_tilted_plane(angle):
    t = math.tan(math.radians(angle))
    s = plane(t, 0.0)
    assert Sdq(s) == pytest.approx(t, rel=1e-12)
    assert Sdq(s, scheme="central") == pytest.approx(t, rel=1e-12)
    assert Sdr(s) == pytest.approx((1 / math.cos(math.radians(angle)) - 1) * 100, rel=1e-12)


def test_plane_tilted_both_ways_anisotropic_spacing():
    a, b = 0.3, -0.2
    s = plane(a, b)
    assert Sdq(s) == pytest.approx(math.hypot(a, b), rel=1e-12)
    assert Sdr(s) == pytest.approx((math.sqrt(1 + a * a + b * b) - 1) * 100, rel=1e-12)


def test_sine_slopes_and_area():
    amp, period, dx = 1e-6, 20e-6, 0.25e-6
    k = 2 * math.pi / period
    x = np.arange(int(round(4 * period / dx)) + 1) * dx   # differences span whole periods
    s = Surface(np.tile(amp * np.sin(k * x), (6, 1)), spacing=dx)
    # forward difference of a sine: amplitude 2 sin(k dx / 2) / dx, rms / sqrt(2)
    assert Sdq(s) == pytest.approx(amp * 2 * math.sin(k * dx / 2) / dx / math.sqrt(2), rel=1e-9)
    assert Sdq(s, scheme="central") == pytest.approx(amp * math.sin(k * dx) / dx / math.sqrt(2), rel=3e-3)  # 319 interior points: not whole periods
    # continuous developed area of a sine (elliptic integral, numerically)
    ratio = quad(lambda u: math.sqrt(1 + (amp * k * math.cos(u)) ** 2), 0, 2 * math.pi)[0] / (2 * math.pi)
    assert Sdr(s) == pytest.approx((ratio - 1) * 100, rel=2e-3)


def test_invalid_points():
    s = plane(0.2, 0.1)
    z = s.heights.copy()
    rng = np.random.default_rng(3)
    z[rng.random(z.shape) < 0.15] = np.nan
    holed = Surface(z, spacing=s.spacing)
    assert Sdq(holed) == pytest.approx(Sdq(s), rel=1e-12)
    assert Sdr(holed) == pytest.approx(Sdr(s), rel=1e-12)
    # every other point invalid in a checkerboard: no two valid neighbours, no complete cell
    checker = np.indices((6, 6)).sum(axis=0) % 2 == 0
    z = np.where(checker, 1e-6, np.nan)
    with pytest.raises(ParameterError, match="valid"):
        Sdq(Surface(z, spacing=1e-6))
    with pytest.raises(ParameterError, match="four valid"):
        Sdr(Surface(z, spacing=1e-6))


def test_bad_input():
    with pytest.raises(ParameterError):
        gradients(Surface(np.zeros((1, 5)), spacing=1e-6))
    with pytest.raises(ParameterError, match="scheme"):
        Sdq(plane(0.1, 0), scheme="seven")


def test_slope_distribution_of_plane():
    angle = 20.0
    s = plane(math.tan(math.radians(angle)), 0.0)
    d = slope_distribution(s, bins=90)
    peak = np.argmax(d.angle_density)
    lo, hi = d.angle_edges[peak], d.angle_edges[peak + 1]
    assert lo <= math.radians(angle) < hi
    assert np.sum(d.angle_density * np.diff(d.angle_edges)) == pytest.approx(1.0)
    assert abs(d.direction_edges[np.argmax(d.direction_density)]) < 2 * math.pi / 90 + 1e-12


def test_blocked_sums_match_the_direct_formula():
    """Sdq/Sdr are summed over row blocks; the result must not depend on the blocking."""
    rng = np.random.default_rng(11)
    z = rng.normal(size=(150, 70)) * 1e-6            # 150 rows: blocks of 64, 64, 22
    z[rng.random(z.shape) < 0.05] = np.nan
    dx, dy = 1e-6, 2e-6
    s = Surface(z, spacing=(dy, dx))
    gx = np.diff(z, axis=1) / dx
    gy = np.diff(z, axis=0) / dy
    sdq = math.sqrt(np.nanmean(gx**2) + np.nanmean(gy**2))
    b, t = gx[:-1] ** 2, gx[1:] ** 2
    left, right = gy[:, :-1] ** 2, gy[:, 1:] ** 2
    cell = (np.sqrt(1 + b + left) + np.sqrt(1 + b + right) + np.sqrt(1 + t + right) + np.sqrt(1 + t + left)) / 4
    sdr = (np.nanmean(cell) - 1) * 100
    assert Sdq(s) == pytest.approx(sdq, rel=1e-12)
    assert Sdr(s) == pytest.approx(sdr, rel=1e-10)
