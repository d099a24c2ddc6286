"""Power spectral density: normalisation (Parseval), windowing, masking, radial and angular spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surfsight import ParameterError, Surface
from surfsight.metrology import angular_spectrum, psd_2d, psd_radial


def full_plane_sum(sp):
    """Sum of the one-sided PSD over the whole frequency plane times the frequency cell."""
    w = np.full(sp.psd.shape[1], 2.0)
    w[0] = 1.0
    if sp.shape[1] % 2 == 0:
        w[-1] = 1.0
    dfy, dfx = sp.df
    return float((sp.psd * w[None, :]).sum() * dfx * dfy)


def test_parseval_without_window():
    rng = np.random.default_rng(0)
    for shape in [(32, 48), (33, 47)]:
        z = rng.normal(size=shape) * 1e-6
        s = Surface(z, spacing=(2e-6, 1e-6))
        sp = psd_2d(s, window="none")
        assert full_plane_sum(sp) == pytest.approx(np.var(z), rel=1e-10)


def test_hann_window_keeps_the_power_of_a_sine():
    y, x = np.mgrid[0:128, 0:128]
    amp = 2e-6
    s = Surface(amp * np.sin(2 * np.pi * (10 * x + 3 * y) / 128), spacing=1e-6)
    sp = psd_2d(s)  # Hann
    assert full_plane_sum(sp) == pytest.approx(amp**2 / 2, rel=0.02)
    f, c = psd_radial(s, spectrum=sp)
    assert f[np.argmax(c)] == pytest.approx(math.hypot(10, 3) / 128e-6, rel=0.05)


def test_masked_spectrum_normalised_by_valid_points():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(40, 40)) * 1e-6
    z[rng.random(z.shape) < 0.3] = np.nan
    s = Surface(z, spacing=1e-6)
    sp = psd_2d(s, window="none")
    assert np.isfinite(sp.psd).all()
    assert full_plane_sum(sp) == pytest.approx(np.nanvar(z), rel=1e-10)


def test_angular_spectrum_peak():
    y, x = np.mgrid[0:128, 0:128]
    s = Surface(np.sin(2 * np.pi * (4 * x + 4 * y) / 128) * 1e-6, spacing=1e-6)
    angles, power = angular_spectrum(s, step=math.radians(1.0))
    assert angles.size == 180
    assert math.degrees(angles[np.argmax(power)]) == pytest.approx(45.0)


def test_angular_spectrum_of_isotropic_field_is_flat():
    """No lattice bias: an isotropic random field has no preferred direction. Summing bins per
    sector gave sectors at 0, 45, 90 deg many times the mean and empty sectors elsewhere."""
    from scipy.ndimage import gaussian_filter

    total = 0.0
    for seed in range(4):
        z = gaussian_filter(np.random.default_rng(seed).standard_normal((192, 192)), 2, mode="wrap")
        for quantity in ("power", "amplitude"):
            angles, density = angular_spectrum(Surface(z * 1e-6, spacing=1e-6), window="none", quantity=quantity)
            assert angles.size == 360
            density = density / density.mean()
            assert density.max() < 2.0 and density.min() > 0.5, (seed, quantity)  # was 16 and 0
            total = total + density
    total /= 8
    assert total.max() < 1.2 and total.min() > 0.8


def test_angular_power_sums_to_mean_square_inside_the_disc():
    rng = np.random.default_rng(5)
    s = Surface(rng.standard_normal((64, 64)) * 1e-6, spacing=1e-6)
    sp = psd_2d(s, window="none")
    _, power = angular_spectrum(s, spectrum=sp, quantity="power")
    radius = np.hypot(sp.fy[:, None], sp.fx[None, :])
    inside = sp.psd * (radius <= sp.fx.max())
    inside[0, 0] = 0.0
    doubled = inside.copy()
    doubled[:, 1:-1] *= 2.0  # mirrored columns (even nx: the last column is Nyquist)
    dfy, dfx = sp.df
    assert power.sum() == pytest.approx(doubled.sum() * dfx * dfy, rel=1e-9)


def test_errors():
    with pytest.raises(ParameterError, match="window"):
        psd_2d(Surface(np.zeros((4, 4)), spacing=1e-6), window="kaiser")
    with pytest.raises(ParameterError, match="2 x 2"):
        psd_2d(Surface(np.zeros((1, 4)), spacing=1e-6))
