"""Levelling, form removal, outliers and hole filling: exact answers on closed-form surfaces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.errors import InputError, ParameterError
from surfsight.metrology.prepare import (
    fill_invalid,
    level_line,
    level_plane,
    level_polynomial,
    remove_form,
    remove_outliers,
)
from surfsight.surface import PointCloud, Profile, Surface

DY, DX = 1e-6, 2e-6


def _grid(ny: int = 40, nx: int = 50):
    y = np.arange(ny)[:, None] * DY
    x = np.arange(nx)[None, :] * DX
    return y, x


def test_plane_removed_exactly_with_nan():
    y, x = _grid()
    z = 1e-6 + 0.01 * x - 0.02 * y + np.zeros((40, 50))
    z[5, 7] = np.nan
    out = level_plane(Surface(z, (DY, DX)))
    assert np.isnan(out.heights[5, 7])
    assert np.nanmax(np.abs(out.heights)) < 1e-18
    assert out.metadata["form_removed"] == "least-squares plane"


def test_plane_leaves_zero_mean_residual():
    rng = np.random.default_rng(2)
    out = level_plane(Surface(rng.normal(size=(30, 20)), (DY, DX)))
    assert abs(np.mean(out.heights)) < 1e-12


@pytest.mark.parametrize("degree", [2, 3, 5])
def test_polynomial_removed_exactly(degree):
    y, x = _grid()
    u, v = x / x.max(), y / y.max()
    z = 1e-6 * (u**degree - 0.5 * (u * v) ** (degree // 2) + v**2 + 0.1)
    z = z + np.zeros((40, 50))
    z[3:6, 10:20] = np.nan
    out = level_polynomial(Surface(z, (DY, DX)), degree)
    assert np.nanmax(np.abs(out.heights)) < 1e-18


def test_level_line_profile():
    x = np.arange(100) * DX
    prof = Profile(3e-7 + 0.02 * x, DX)
    assert np.max(np.abs(level_line(prof).heights)) < 1e-18
    with pytest.raises(InputError):
        level_line(Surface(np.zeros((3, 3)), DX))  # type: ignore[arg-type]


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_sphere_cap_removed_exactly(sign):
    y, x = _grid(60, 80)
    radius = 5e-3
    z = sign * np.sqrt(radius**2 - (x - 70e-6) ** 2 - (y - 25e-6) ** 2) - sign * 4.99e-3
    out = remove_form(Surface(z, (DY, DX)), "sphere")
    assert np.max(np.abs(out.heights)) < 1e-15
    fit = out.metadata["form_fit"]
    assert fit["radius"] == pytest.approx(radius, rel=1e-9)
    assert fit["centre_x"] == pytest.approx(70e-6, abs=1e-12)


def test_sphere_with_texture_keeps_texture():
    y, x = _grid(60, 80)
    texture = 1e-8 * np.sin(2 * np.pi * x / 20e-6) * np.cos(2 * np.pi * y / 15e-6)
    z = np.sqrt(2e-3**2 - (x - 80e-6) ** 2 - (y - 30e-6) ** 2) + texture
    out = remove_form(Surface(z, (DY, DX)), "sphere")
    assert np.sqrt(np.mean((out.heights - texture) ** 2)) < 1e-9


@pytest.mark.parametrize("axis", ["x", "y"])
def test_cylinder_removed_exactly(axis):
    y, x = _grid(40, 60)
    across, along = (x, y) if axis == "y" else (y, x)
    z = np.sqrt(3e-3**2 - (across - 40e-6) ** 2) + 1e-3 * along + np.zeros((40, 60))
    out = remove_form(Surface(z, (DY, DX)), "cylinder", axis=axis)
    assert np.max(np.abs(out.heights)) < 1e-15


def test_circle_on_profile():
    x = np.arange(500) * DX
    z = -np.sqrt(1e-3**2 - (x - 0.4e-3) ** 2)
    out = remove_form(Profile(z, DX), "circle")
    assert np.max(np.abs(out.heights)) < 1e-15


def test_form_errors():
    with pytest.raises(InputError):
        remove_form(Surface(np.zeros((5, 5)), DX), "cone")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        remove_form(Surface(np.zeros((5, 5)), DX), "sphere")  # flat: no curvature
    with pytest.raises(InputError):
        level_plane(PointCloud(np.zeros((4, 3))))  # type: ignore[arg-type]


def test_outliers_removed_and_counted():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 60)) * 1e-8
    z[10, 10] = 1e-6
    z[30, 40] = -1e-6
    z[0, 0] = np.nan
    out = remove_outliers(Surface(z, DX))
    assert np.isnan(out.heights[10, 10]) and np.isnan(out.heights[30, 40])
    assert out.metadata["outliers_removed"] == 2
    assert np.isnan(out.heights[0, 0])


def test_outliers_leave_a_step_alone():
    z = np.zeros((30, 40))
    z[:, 20:] = 1e-6
    z += np.random.default_rng(0).normal(size=z.shape) * 1e-9
    assert remove_outliers(Surface(z, DX)).metadata["outliers_removed"] == 0


def test_harmonic_fill_reproduces_a_plane_inside():
    y, x = _grid()
    plane = 0.3 * x + 0.1 * y + np.zeros((40, 50))
    z = plane.copy()
    z[10:20, 10:30] = np.nan
    out = fill_invalid(Surface(z, (DY, DX)))
    np.testing.assert_allclose(out.heights, plane, atol=1e-15)
    assert out.layers["filled"].sum() == 200
    assert out.metadata["filled_points"] == 200


def test_nearest_fill_and_profile_fill():
    z = np.array([1.0, np.nan, np.nan, 4.0, np.nan]) * 1e-6
    out = fill_invalid(Profile(z, DX))
    np.testing.assert_allclose(out.heights, [1e-6, 2e-6, 3e-6, 4e-6, 4e-6])
    s = np.array([[1.0, np.nan], [np.nan, np.nan]])
    assert np.all(fill_invalid(Surface(s, DX), "nearest").heights == 1.0)
    with pytest.raises(ParameterError):
        fill_invalid(Surface(np.full((2, 2), np.nan), DX))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), degree=st.integers(1, 3))
def test_levelling_is_idempotent(seed, degree):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(12, 15)) * 1e-6
    z[rng.random(z.shape) < 0.1] = np.nan
    once = level_polynomial(Surface(z, DX), degree)
    twice = level_polynomial(once, degree)
    np.testing.assert_allclose(twice.heights, once.heights, atol=1e-20)
