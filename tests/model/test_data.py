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


# --- batches finished on the training device -----------------------------------------------------------------------

def test_finished_raw_batches_equal_the_workers_batches():
    """Batches built raw and finished later (the GPU path) equal those built whole in a worker."""
    from surfsight.model.train import Batches, to_device

    from .conftest import rows, tiny_config

    data = rows(6)
    cfg = tiny_config()
    modes = {"height": 1.0, "image": 1.0, "both": 1.0}
    whole, raw = Batches(data, cfg, 3, 4, modes), Batches(data, cfg, 3, 4, modes, raw=True)
    seen = set()
    for k in range(12):
        a = whole[k]
        r = raw[k]
        seen.add(int(r["mode"]))
        assert r["measured"].dtype == torch.float32 and r["classes"].dtype == torch.uint8  # stored types travel
        b = to_device(r, torch.device("cpu"), cfg, on_device=True)
        assert set(a) == set(b)
        for key in a:
            assert a[key].dtype == b[key].dtype, key
            assert torch.equal(torch.nan_to_num(a[key], nan=-7.0), torch.nan_to_num(b[key], nan=-7.0)), key
    assert seen == {0, 1, 2}


def test_vectorised_targets_match_the_scalar_transform():
    from surfsight.model.config import to_target
    from surfsight.model.data import MODES, finish, gather, references

    from .conftest import rows, tiny_config

    data = rows(5)
    data[1]["labels"] = data[1]["labels"].copy()
    data[1]["labels"][0] = np.nan      # undefined stays NaN
    data[2]["labels"] = data[2]["labels"].copy()
    data[2]["labels"][0] = 0.0         # a zero height cannot be logged: NaN, not -inf
    cfg = tiny_config()
    for mode in MODES:
        b = finish(gather(data, mode), cfg)
        ref, spacing = references(b["scale"])
        names = list(cfg.parameter_names)
        for i, row in enumerate(data):
            for j, name in enumerate(names):
                want = to_target(name, float(row["labels"][j]), float(ref[i]), float(spacing[i]))
                got = float(b["parameters"][i, j])
                assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-6, abs=1e-6)
            for j, name in enumerate(cfg.uncertainty_names):
                want = to_target("Sa", float(row["uncertainty"][names.index(name)]), float(ref[i]), float(spacing[i]))
                got = float(b["uncertainty"][i, j])
                assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_batch_on_setting_is_checked():
    from surfsight.model.train import batches_on_device

    assert batches_on_device("auto", torch.device("cpu")) is False
    assert batches_on_device("auto", torch.device("cuda")) is True
    assert batches_on_device("device", torch.device("cpu")) is True
    assert batches_on_device("workers", torch.device("cuda")) is False
    with pytest.raises(ValueError, match="batch_on"):
        batches_on_device("gpu", torch.device("cpu"))


def test_target_statistics_fill_the_fields_they_name():
    from surfsight.model.data import target_statistics, target_statistics_fields

    from .conftest import rows, tiny_config

    assert sorted(target_statistics(rows(4), tiny_config())) == sorted(target_statistics_fields())
