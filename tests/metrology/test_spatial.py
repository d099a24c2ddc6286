"""Spatial parameters Sal, Str, Std, Ssw and the masked ACF (ISO 25178-2 4.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from surfsight import ParameterError, Surface
from surfsight.metrology import ACF, Sal, Ssw, Std, Str, autocorrelation, decay_lengths


def sine_x(period=32, n=256, rows=64, spacing=1e-6):
    x = np.arange(n)
    return Surface(np.tile(1e-6 * np.sin(2 * np.pi * x / period), (rows, 1)), spacing=spacing)


def gaussian_field(sigma_yx=(6, 2), n=384, seed=0):
    """White noise smoothed by a Gaussian of std sigma (pixels): ACF = exp(-t^2 / (4 sigma^2)) per axis."""
    z = gaussian_filter(np.random.default_rng(seed).standard_normal((n, n)), sigma_yx, mode="wrap")
    return Surface(z * 1e-6, spacing=1e-6)


def test_acf_basic_properties():
    s = sine_x()
    acf = autocorrelation(s)
    cy, cx = acf.centre
    assert acf.values[cy, cx] == pytest.approx(1.0)
    assert np.allclose(acf.values, acf.values[::-1, ::-1], atol=1e-12)       # point symmetric
    lags = np.arange(0, 40)
    # along x the ACF of a sine is cos(k t) (overlap-normalised estimator: close, not exact)
    assert np.allclose(acf.values[cy, cx + lags], np.cos(2 * np.pi * lags / 32), atol=0.03)
    assert np.allclose(acf.values[:, cx + 8], acf.values[cy, cx + 8], atol=1e-9)  # no decay along y


def test_sal_of_sine_and_str_undefined():
    s = sine_x()
    expected = math.acos(0.2) / (2 * math.pi / 32e-6)
    assert Sal(s) == pytest.approx(expected, rel=0.03)
    with pytest.raises(ParameterError, match="Str is undefined"):
        Str(s)


@pytest.mark.parametrize("seed", [0, 1])
def test_anisotropic_gaussian_field(seed):
    s = gaussian_field((6, 2), seed=seed)
    # exp(-t^2 / (4 sigma^2)) = 0.2  ->  t = 2 sigma sqrt(ln 5); fastest along x (sigma 2), slowest along y (6)
    assert Sal(s) == pytest.approx(2 * 2 * math.sqrt(math.log(5)) * 1e-6, rel=0.1)
    assert Str(s) == pytest.approx(1 / 3, rel=0.1)
    angles, lengths = decay_lengths(autocorrelation(s))
    assert abs(angles[np.argmin(lengths)] % math.pi - 0.0) < math.radians(10) or \
        abs(angles[np.argmin(lengths)] - math.pi) < math.radians(10)
    assert abs(angles[np.argmax(lengths)] - math.pi / 2) < math.radians(10)


def test_isotropic_field_str_near_one():
    s = gaussian_field((3, 3), n=256, seed=4)
    assert Str(s) > 0.8


def test_masked_acf_respects_invalid_points():
    s = sine_x()
    z = s.heights.copy()
    rng = np.random.default_rng(2)
    z[rng.random(z.shape) < 0.25] = np.nan
    z[10:20, 100:140] = np.nan
    holed = Surface(z, spacing=s.spacing)
    acf = autocorrelation(holed)
    assert np.isfinite(acf.values).all()
    assert Sal(holed) == pytest.approx(Sal(s), rel=0.02)


def test_std_lay_direction_and_ssw():
    y, x = np.mgrid[0:256, 0:256]
    for kx, ky in [(8, 5), (-5, 8), (0, 6), (7, 0)]:
        s = Surface(1e-6 * np.sin(2 * np.pi * (kx * x + ky * y) / 256), spacing=1e-6)
        expected = math.atan2(ky, kx) % math.pi
        got = Std(s)
        assert min(abs(got - expected), math.pi - abs(got - expected)) < math.radians(0.5), (kx, ky)
        assert 0 <= got < math.pi
        assert Ssw(s) == pytest.approx(256e-6 / math.hypot(kx, ky), rel=1e-9)


def _angle_error_deg(got: float, expected: float) -> float:
    """Smallest difference of two directions (rad, modulo pi), in degrees."""
    return abs(math.degrees((got - expected + math.pi / 2) % math.pi - math.pi / 2))


@pytest.mark.parametrize("deg", [17.0, 33.0, 61.0, 100.0, 150.0])
def test_std_off_lattice_sine_with_anisotropic_spacing(deg):
    """A sine whose wave vector lies on no FFT bin, on a 200 x 300 grid with dy = 1.5 dx."""
    ny, nx, dy, dx = 200, 300, 1.5e-6, 1e-6
    y = np.arange(ny)[:, None] * dy
    x = np.arange(nx)[None, :] * dx
    th = math.radians(deg)
    z = 1e-6 * np.sin(2 * np.pi * (x * math.cos(th) + y * math.sin(th)) / 20e-6)
    assert _angle_error_deg(Std(Surface(z, spacing=(dy, dx))), th) < 0.2


@pytest.mark.parametrize("deg", [17.0, 33.0, 61.0])
@pytest.mark.parametrize("str_", [0.3, 0.5])
def test_std_of_anisotropic_random_fields_is_not_snapped_to_lattice_angles(deg, str_):
    """Broad anisotropic spectra (Gaussian ACF, Str 0.3-0.5) at angles between the lattice
    directions: the summed-bins estimator put these on 0, 45 or 90 deg (errors up to 30 deg)."""
    from surfsight.synth import texture

    for seed in (0, 1):
        s = texture(384, 1e-6, seed, Sq=1e-6, Sal=4e-6, Str=str_, Std=math.radians(deg))
        assert _angle_error_deg(Std(s), math.radians(deg)) < 3.0, seed


def test_std_smoothing_and_quantity_options():
    y, x = np.mgrid[0:128, 0:128]
    s = Surface(1e-6 * np.sin(2 * np.pi * (9 * x + 4 * y) / 128), spacing=1e-6)
    expected = math.atan2(4, 9)
    for kwargs in ({"smoothing": 0.0}, {"quantity": "power"}, {"step": math.radians(1.0)}):
        assert _angle_error_deg(Std(s, **kwargs), expected) < 0.5, kwargs
    with pytest.raises(ParameterError, match="smoothing"):
        Std(s, smoothing=-1.0)
    with pytest.raises(ParameterError, match="quantity"):
        Std(s, quantity="phase")


def test_errors():
    flat = Surface(np.zeros((8, 8)), spacing=1e-6)
    with pytest.raises(ParameterError, match="flat"):
        autocorrelation(flat)
    with pytest.raises(ParameterError, match="flat"):
        Std(flat)
    with pytest.raises(ParameterError, match="3 x 3"):
        autocorrelation(Surface(np.zeros((2, 8)), spacing=1e-6))
    with pytest.raises(ParameterError, match="between 0 and 1"):
        Sal(sine_x(), s=1.5)
    # an ACF that stays above s everywhere (texture far larger than the field): Sal and Str undefined
    flat_acf = ACF(np.full((9, 9), 0.9), (1e-6, 1e-6), "test")
    with pytest.raises(ParameterError, match="Sal is undefined"):
        Sal(sine_x(), acf=flat_acf)
    with pytest.raises(ParameterError, match="Str is undefined"):
        Str(sine_x(), acf=flat_acf)


def test_acf_object_is_reusable():
    s = gaussian_field((3, 3), n=128)
    acf = autocorrelation(s)
    assert isinstance(acf, ACF)
    assert Sal(s, acf=acf) == pytest.approx(Sal(s), rel=1e-9)   # quarter vs half lag window: same lobe
    assert Str(s, acf=acf) == pytest.approx(Str(s), rel=1e-9)
