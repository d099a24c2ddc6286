"""Instrument signatures: noise floor, spikes, line offsets and resolution on closed-form surfaces."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from surfsight.model.data import N_SCALE, prepare
from surfsight.model.signatures import N_SIGNATURES, SIGNATURE_NAMES, signatures

NAME = {n: 11 + i for i, n in enumerate(SIGNATURE_NAMES)}


def smooth_surface(n=128, amplitude=1e-6, seed=0, width=6.0):
    """A band-limited random surface (white noise Gaussian-filtered over ``width`` points)."""
    from scipy import ndimage

    z = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((n, n)), width, mode="wrap")
    return amplitude * z / z.std()


def feature(z, name, spacing=1e-6):
    return float(prepare(z, None, spacing).scale[0, NAME[name]])


def test_feature_count_matches_config():
    from surfsight.model.config import ModelConfig

    assert N_SCALE == 11 + N_SIGNATURES == ModelConfig().scale_features


@pytest.mark.parametrize("noise", [1e-7, 3e-7])
def test_white_noise_floor_is_recovered(noise):
    """Zero-lag extrapolation: C0 - (3 C1 - 3 C2 + C3) is the white-noise variance when the
    texture's autocovariance is smooth at the origin."""
    z = smooth_surface() + np.random.default_rng(1).standard_normal((128, 128)) * noise
    floor = 1e-9 * math.exp(3 * feature(z, "noise_floor"))
    assert floor == pytest.approx(noise, rel=0.25)


def test_noise_floor_is_absolute_and_the_relative_features_scale_free():
    z = smooth_surface() + np.random.default_rng(2).standard_normal((128, 128)) * 3e-8
    f1 = prepare(z, None, 1e-6).scale[0]
    f2 = prepare(z * 10, None, 1e-6).scale[0]
    assert float(f2[NAME["noise_floor"]] - f1[NAME["noise_floor"]]) == pytest.approx(math.log(10) / 3, abs=1e-3)
    rel = [NAME[k] for k in SIGNATURE_NAMES if k != "noise_floor"]
    assert torch.allclose(f1[rel], f2[rel], atol=1e-4)


def test_spike_share():
    z = smooth_surface()
    clean = math.exp(3 * feature(z, "spike_share")) - 1e-5
    spiky = z.copy()
    rng = np.random.default_rng(3)
    idx = rng.choice(z.size, 80, replace=False)
    spiky.flat[idx] += 20e-6 * rng.choice([-1, 1], 80)
    share = math.exp(3 * feature(spiky, "spike_share")) - 1e-5
    assert clean < 1e-4
    assert share == pytest.approx(80 / z.size, rel=0.1)


def test_line_offsets_show_in_one_direction():
    """Offsets added to whole rows: the row means jump, the column means do not."""
    z = smooth_surface()
    rows = z + np.random.default_rng(4).standard_normal((128, 1)) * 2e-7
    assert feature(rows, "line_offset_rows") > feature(rows, "line_offset_cols") + 0.3
    assert feature(rows.T, "line_offset_cols") > feature(rows.T, "line_offset_rows") + 0.3


def test_blur_raises_lag_correlation():
    from scipy import ndimage

    z = smooth_surface(width=1.0) + np.random.default_rng(5).standard_normal((128, 128)) * 1e-7
    blurred = ndimage.gaussian_filter(z, 1.5)
    assert feature(blurred, "rho1_x") > feature(z, "rho1_x") + 0.05
    assert feature(blurred, "rho1_y") > feature(z, "rho1_y") + 0.05


def test_robust_spread_falls_with_a_deep_defect():
    z = smooth_surface()
    gauss = feature(z, "robust_spread")
    assert gauss == pytest.approx(0.0, abs=0.1)  # 1.4826 MAD = RMS for a Gaussian
    pitted = z.copy()
    pitted[40:60, 40:60] -= 2e-5
    assert feature(pitted, "robust_spread") < gauss - 1.0


def test_invalid_points_are_ignored():
    z = smooth_surface() + np.random.default_rng(6).standard_normal((128, 128)) * 2e-8
    holey = z.copy()
    holey[::7, ::5] = np.nan
    holey[10:30, 50:90] = np.nan
    a, b = prepare(z, None, 1e-6).scale[0], prepare(holey, None, 1e-6).scale[0]
    assert float(b[NAME["noise_floor"]]) == pytest.approx(float(a[NAME["noise_floor"]]), abs=0.1)


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(2, 40), cols=st.integers(2, 40), seed=st.integers(0, 10 ** 6),
       nan_share=st.floats(0, 0.9))
def test_always_finite(rows, cols, seed, nan_share):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, cols)) * 1e-6
    z[rng.random(z.shape) < nan_share] = np.nan
    z.flat[0] = 0.0
    h = torch.from_numpy(z)[None]
    valid = torch.isfinite(h)
    out = signatures(torch.nan_to_num(h), valid, torch.tensor([1e-6], dtype=torch.float64))
    assert out.shape == (1, N_SIGNATURES) and torch.isfinite(out).all()
