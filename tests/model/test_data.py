"""Input preparation: levelling, normalisation, scale features."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from surfsight.model.data import prepare, prepare_batch, references


def test_plane_is_removed_and_scale_recovered():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((32, 40)) * 2e-7
    z -= z.mean()
    yy, xx = np.mgrid[0:32, 0:40]
    tilted = z + 3e-6 * xx / 40 - 1e-6 * yy / 32 + 5e-6
    x = prepare(tilted, None, 1e-6)
    ref, spacing = references(x.scale)
    # the residual of a least-squares plane fit of z itself is what remains
    a = np.c_[np.ones(z.size), xx.ravel(), yy.ravel()]
    resid = z.ravel() - a @ np.linalg.lstsq(a, z.ravel(), rcond=None)[0]
    assert float(ref[0]) == pytest.approx(resid.std(), rel=1e-6)
    assert float(spacing[0]) == pytest.approx(1e-6, rel=1e-6)
    assert np.allclose(x[0, 0].numpy(), (resid / resid.std()).reshape(z.shape), atol=1e-5)
    assert x.shape == (1, 5, 32, 40) and float(x.scale[0, 3]) == 1 and float(x.scale[0, 4]) == 0


def test_nan_points_are_zero_and_flagged():
    z = np.random.default_rng(1).standard_normal((16, 16)) * 1e-6
    z[3, 4] = np.nan
    x = prepare(z, None, (1e-6, 1e-6))
    assert torch.isfinite(x).all()
    assert x[0, 2, 3, 4] == 0 and x[0, 2].sum() == 255
    assert float(x.scale[0, 5]) == pytest.approx(10 / 256, rel=1e-5)


def test_image_only_uses_spacing_as_reference():
    im = np.random.default_rng(2).random((16, 24)).astype(np.float32)
    x = prepare(None, im, 2e-6)
    ref, _ = references(x.scale)
    assert float(ref[0]) == pytest.approx(2e-6)
    assert x[0, :3].abs().sum() == 0 and (x[0, 4] == 1).all()
    assert float(x[0, 3].mean()) == pytest.approx(0, abs=1e-5)


def test_neither_input_is_refused():
    with pytest.raises(ValueError, match="heights, an image or both"):
        prepare(None, None, 1e-6)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(1e-10, 1e-3), offset=st.floats(-1e-3, 1e-3))
def test_normalised_input_is_invariant_to_height_scale_and_offset(scale, offset):
    base = np.random.default_rng(3).standard_normal((16, 16))
    x1, f1 = prepare_batch(torch.from_numpy(base)[None], None, torch.tensor([1e-6]))
    x2, f2 = prepare_batch(torch.from_numpy(base * scale + offset)[None], None, torch.tensor([1e-6]))
    assert torch.allclose(x1, x2, atol=2e-3)
    # the scale feature carries the absolute scale: ln(r) / 3 shifts by ln(scale) / 3
    assert float(f2[0, 0] - f1[0, 0]) == pytest.approx(math.log(scale) / 3, abs=1e-3)


def test_height_moments_of_a_sine():
    """A sine along x: Sa / Sq = 2 sqrt(2) / pi, Ssk = 0, Sku = 1.5, Sz / Sq = 2 sqrt(2),
    Sdq = amplitude * k (RMS slope of a sin(k x) is a k / sqrt(2), times sqrt(2) for Sq -> a k / sqrt 2)."""
    n, a, spacing = 64, 1e-6, 1e-6
    k = 2 * np.pi / (16 * spacing)          # 16 points per period, whole periods
    x = np.arange(n) * spacing
    z = np.tile(a * np.cos(k * (x - x.mean())), (n, 1))   # even about the centre: levelling leaves it
    feats = prepare(z, None, spacing).scale[0]
    assert float(feats[6]) == pytest.approx(2 * np.sqrt(2) / np.pi, rel=2e-2)
    assert float(feats[7]) == pytest.approx(0, abs=1e-3)
    assert float(np.exp(3 * feats[8])) == pytest.approx(1.5, rel=2e-2)
    assert float(np.exp(3 * feats[9])) == pytest.approx(2 * np.sqrt(2), rel=3e-2)
    # first differences: RMS of a (sin(k(x + h)) - sin(kx)) / h = a * 2 sin(kh / 2) / h / sqrt(2)
    expected = a * 2 * np.sin(k * spacing / 2) / spacing / np.sqrt(2)
    assert float(np.exp(3 * feats[10])) == pytest.approx(expected, rel=2e-2)
