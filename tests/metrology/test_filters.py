"""ISO 16610 filters: closed-form transmission, exact kernel, ends, NaN, robust regression."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.errors import InputError
from surfsight.metrology.filters import (
    ALPHA,
    GAMMA_REGRESSION2,
    gaussian_mean_surface,
    gaussian_regression_profile,
    gaussian_transmission,
    gaussian_weights,
    l_filter,
    profile_filters,
    profile_gaussian,
    robust_gaussian_filter,
    robust_gaussian_profile,
    s_filter,
)
from surfsight.surface import Profile, Surface

DX = 1e-6


def _sine(wavelength: float, n: int = 4000, amplitude: float = 1e-6, phase: float = 0.3) -> Profile:
    x = np.arange(n) * DX
    return Profile(amplitude * np.sin(2 * np.pi * x / wavelength + phase), DX)


def _amplitude(z: np.ndarray, wavelength: float) -> float:
    """Amplitude of the sine of a known wavelength by least squares (phase-free)."""
    x = np.arange(z.size) * DX
    ok = np.isfinite(z)
    design = np.stack([np.sin(2 * np.pi * x / wavelength), np.cos(2 * np.pi * x / wavelength)], axis=1)
    coef = np.linalg.lstsq(design[ok], z[ok], rcond=None)[0]
    return float(np.hypot(*coef))


def test_alpha_and_gamma_constants():
    assert ALPHA == pytest.approx(0.4697, abs=1e-4)
    assert GAMMA_REGRESSION2 == pytest.approx(0.7309, abs=1e-4)
    q = math.pi * GAMMA_REGRESSION2**2
    assert (1 + q) * math.exp(-q) == pytest.approx(0.5, abs=1e-12)


def test_weights_match_iso_formula_and_sum_to_one():
    cutoff = 80e-6
    w = gaussian_weights(cutoff, DX)
    x = (np.arange(w.size) - w.size // 2) * DX
    expected = np.exp(-math.pi * (x / (ALPHA * cutoff)) ** 2) / (ALPHA * cutoff) * DX
    np.testing.assert_allclose(w, expected, rtol=1e-14)
    # truncation at |x| = cutoff drops erfc(sqrt(pi)/alpha) ~ 5e-8 of the weight
    assert w.sum() == pytest.approx(1.0, abs=1e-7)


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_transmission_of_a_sine(ratio):
    cutoff = 400e-6
    wavelength = cutoff * ratio
    prof = _sine(wavelength)
    mean = profile_gaussian(prof, cutoff).heights
    mid = slice(1000, 3000)  # away from the ends
    got = _amplitude(mean[mid], wavelength) / 1e-6
    assert got == pytest.approx(float(gaussian_transmission(wavelength, cutoff)), abs=2e-3)
    if ratio == 1.0:
        assert got == pytest.approx(0.5, abs=2e-3)
        rough = prof.heights[mid] - mean[mid]
        assert _amplitude(rough, wavelength) / 1e-6 == pytest.approx(0.5, abs=2e-3)


def test_exact_2d_weighting_function_impulse_response():
    # the response to a unit impulse is the sampled s(x, y) of ISO 16610-61 (normalised)
    cutoff = 12 * DX
    z = np.zeros((41, 41))
    z[20, 20] = 1.0
    mean = gaussian_mean_surface(Surface(z, DX), cutoff, ends="periodic", truncate=2.0).heights
    y, x = np.mgrid[-20:21, -20:21] * DX
    s = np.exp(-math.pi * (x**2 + y**2) / (ALPHA * cutoff) ** 2) / (ALPHA * cutoff) ** 2 * DX * DX
    np.testing.assert_allclose(mean, s / s.sum(), atol=1e-12)
    assert s.sum() == pytest.approx(1.0, abs=1e-6)


def test_2d_transmission_50_percent_diagonal_sine():
    cutoff = 100e-6
    wavelength = cutoff
    ny = nx = 400
    y, x = np.mgrid[0:ny, 0:nx] * DX
    k = 2 * np.pi / wavelength / math.sqrt(2)
    z = np.sin(k * (x + y))
    mean = gaussian_mean_surface(Surface(z, DX), cutoff).heights
    inner = (slice(150, 250), slice(150, 250))
    ratio = np.sqrt(np.mean(mean[inner] ** 2) / np.mean(z[inner] ** 2))
    assert ratio == pytest.approx(0.5, abs=5e-3)


def test_step_response():
    cutoff = 200e-6
    z = np.zeros(2000)
    z[1000:] = 1.0
    mean = profile_gaussian(Profile(z, DX), cutoff).heights
    x = (np.arange(2000) - 999.5) * DX
    from scipy.special import erf
    expected = 0.5 * (1 + erf(math.sqrt(math.pi) * x / (ALPHA * cutoff)))
    np.testing.assert_allclose(mean[700:1300], expected[700:1300], atol=2e-3)
    assert mean[1000] == pytest.approx(0.5, abs=0.02)


def test_ends_renormalised_keep_sine_amplitude_periodic_does_not():
    # a sine that is not periodic over the record: 3.37 periods
    cutoff = 250e-6
    wavelength = 80e-6
    n = int(3.37 * wavelength / DX) * 4
    prof = _sine(wavelength, n=n, phase=0.9)
    rough = l_filter(prof, cutoff).heights
    end = slice(0, int(wavelength / DX))  # first wavelength, inside the end zone
    amp_end = _amplitude(rough[end], wavelength) / 1e-6
    # renormalised: amplitude kept within 5 % near the ends (the transmission is 0.993 inside)
    assert amp_end == pytest.approx(1.0, abs=0.05)
    # with a tilt added, a periodic filter wraps the jump between the ends into the mean line
    tilted = prof.with_heights(prof.heights + np.linspace(0, 5e-6, n))
    good = l_filter(tilted, cutoff).heights - l_filter(tilted.with_heights(np.linspace(0, 5e-6, n)), cutoff).heights
    bad = l_filter(tilted, cutoff, ends="periodic").heights
    err_bad = np.sqrt(np.mean((bad[end] - prof.heights[end]) ** 2)) / 1e-6
    err_good = np.sqrt(np.mean((good[end] - rough[end]) ** 2)) / 1e-6
    assert err_good < 1e-9  # linear
    assert err_bad > 0.5  # the wrapped jump ruins the ends


def test_nan_points_are_skipped_not_spread():
    prof = _sine(100e-6, n=3000)
    z = prof.heights.copy()
    z[1400:1450] = np.nan
    mean = profile_gaussian(prof.with_heights(z), 400e-6)
    assert np.isnan(mean.heights[1400:1450]).all()
    assert np.isfinite(mean.heights[:1400]).all() and np.isfinite(mean.heights[1450:]).all()
    filled = profile_gaussian(prof.with_heights(z), 400e-6, keep_invalid=False).heights
    assert np.isfinite(filled).all()
    # a constant with holes filters to the same constant everywhere
    c = np.full((60, 70), 3e-6)
    c[10:20, 5:40] = np.nan
    out = gaussian_mean_surface(Surface(c, DX), 20e-6, keep_invalid=False).heights
    np.testing.assert_allclose(out, 3e-6, rtol=1e-12)


def test_surface_and_profile_filters_agree_on_constant_rows():
    z = np.tile(np.sin(np.arange(300) * 0.05), (40, 1))
    cut = 60 * DX
    # along y nothing changes, so the areal result equals the profile filter of each row
    area = gaussian_mean_surface(Surface(z, DX), cut).heights
    prof = profile_gaussian(Profile(z[0], DX), cut).heights
    np.testing.assert_allclose(area[20], prof, atol=1e-12)


def test_s_and_l_filters_split_the_surface():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(64, 80)) * 1e-7
    s = Surface(z, DX)
    low = s_filter(s, 10e-6).heights
    high = l_filter(s, 10e-6).heights
    np.testing.assert_allclose(low + high, z, atol=1e-20)
    assert np.std(low) < np.std(z)


def test_profile_filters_split():
    prof = _sine(50e-6, n=3000)
    wav = 1e-6 * np.sin(2 * np.pi * np.arange(3000) * DX / 1500e-6)
    parts = profile_filters(prof.with_heights(prof.heights + wav), 2.5e-6, 250e-6)
    np.testing.assert_allclose(parts["primary"].heights, parts["waviness"].heights + parts["roughness"].heights,
                               atol=1e-18)
    assert _amplitude(parts["roughness"].heights[500:2500], 50e-6) / 1e-6 == pytest.approx(1.0, abs=0.01)
    with pytest.raises(InputError):
        profile_filters(prof, 300e-6, 250e-6)


def test_bad_arguments():
    prof = _sine(50e-6, n=100)
    with pytest.raises(InputError):
        profile_gaussian(prof, -1.0)
    with pytest.raises(InputError):
        profile_gaussian(prof, 1e-4, ends="wrap")  # type: ignore[arg-type]
    z = prof.heights.copy()
    z[3] = np.nan
    with pytest.raises(InputError):
        profile_gaussian(prof.with_heights(z), 1e-4, ends="nearest")


def test_regression_filter_follows_a_parabola_to_the_ends():
    x = np.arange(2000) * DX
    z = 1e3 * (x - 1e-3) ** 2  # pure form, no roughness
    prof = Profile(z, DX)
    reg = gaussian_regression_profile(prof, 250e-6).heights
    np.testing.assert_allclose(reg, z, atol=1e-6 * np.ptp(z))
    plain = profile_gaussian(prof, 250e-6).heights
    assert np.max(np.abs(plain - z)) > 1e-2 * np.ptp(z)  # the zero-order filter bends at the ends


def test_regression_order2_transmission_50_percent():
    cutoff = 400e-6
    prof = _sine(cutoff, n=4000)
    mean = gaussian_regression_profile(prof, cutoff).heights
    assert _amplitude(mean[1200:2800], cutoff) / 1e-6 == pytest.approx(0.5, abs=3e-3)


def test_robust_filter_ignores_deep_valleys():
    rng = np.random.default_rng(0)
    n = 3000
    z = rng.normal(size=n) * 0.05e-6
    z[::97] -= 3e-6  # deep narrow valleys (plateau-honed like)
    for k in range(3):
        z[500 + 97 * k:505 + 97 * k] -= 3e-6
    prof = Profile(z, DX)
    robust = robust_gaussian_profile(prof, 250e-6)
    plain = profile_gaussian(prof, 250e-6).heights
    assert abs(np.median(robust.heights)) < 0.02e-6
    assert np.median(plain) < -0.03e-6  # pulled down by the valleys
    assert robust.metadata["iterations"] >= 1


def test_robust_areal_matches_plane():
    y, x = np.mgrid[0:40, 0:50] * DX
    z = 0.01 * x + 0.02 * y
    z[10, 10] = 1e-3  # spike
    mean = robust_gaussian_filter(Surface(z, DX), 20e-6).heights
    ok = np.ones_like(z, dtype=bool)
    ok[10, 10] = False
    np.testing.assert_allclose(mean[ok], (0.01 * x + 0.02 * y)[ok], atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(-5, 5), b=st.floats(-5, 5), seed=st.integers(0, 2**16))
def test_gaussian_filter_is_linear(a, b, seed):
    rng = np.random.default_rng(seed)
    z1 = rng.normal(size=(16, 20))
    z2 = rng.normal(size=(16, 20))
    z1[3, 4] = np.nan
    z2[3, 4] = np.nan
    f = lambda z: gaussian_mean_surface(Surface(z, DX), 6 * DX).heights  # noqa: E731
    np.testing.assert_allclose(f(a * z1 + b * z2), a * f(z1) + b * f(z2), atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(c=st.floats(-1e-3, 1e-3), n=st.integers(8, 200))
def test_constant_passes_unchanged(c, n):
    prof = Profile(np.full(n, c), DX)
    np.testing.assert_allclose(profile_gaussian(prof, 30 * DX).heights, c, atol=1e-15 + 1e-12 * abs(c))


@pytest.mark.parametrize("n,k", [(100, 301), (500, 129), (1000, 1999)])
def test_fft_correlation_equals_direct(n, k):
    from scipy import ndimage

    from surfsight.metrology.filters import _correlate

    rng = np.random.default_rng(n)
    a = rng.normal(size=(3, n))
    kernel = rng.normal(size=k)
    ref = ndimage.correlate1d(a, kernel, axis=1, mode="constant")
    np.testing.assert_allclose(_correlate(a, kernel, 1), ref, atol=1e-11)
    np.testing.assert_allclose(_correlate(a.T.copy(), kernel, 0), ref.T, atol=1e-11)
