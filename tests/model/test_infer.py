"""Tiled inference and instances."""

import numpy as np
import pytest
import torch

from surfsight.model import SurfsightModel, predict
from surfsight.model.infer import forward_tiled, instances
from tests.model.conftest import tiny_config


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SurfsightModel(tiny_config())


def test_one_tile_equals_plain_forward(model):
    x = model.prepare(np.random.default_rng(0).standard_normal((32, 32)), None, 1e-6)
    seg, rec, m1, m2 = forward_tiled(model, x, tile=32)
    with torch.no_grad():
        out = model(x)
        g = model.head(m1, m2, x.scale)
    assert torch.allclose(seg, out["segmentation"], atol=1e-5)
    assert torch.allclose(rec, out["reconstruction"], atol=1e-5)
    assert torch.allclose(g["parameters"], out["parameters"], atol=1e-5)


def test_tiles_stitch_without_seams(model):
    """Overlapping tiles blended with a window stay close to the whole-surface pass."""
    z = np.random.default_rng(1).standard_normal((64, 96))
    x = model.prepare(z, None, 1e-6)
    whole, _, _, _ = forward_tiled(model, x, tile=96)
    tiled, _, _, _ = forward_tiled(model, x, tile=32, overlap=16)
    assert tiled.shape == whole.shape
    err = (tiled - whole).abs().mean() / whole.abs().mean()
    no_overlap, _, _, _ = forward_tiled(model, x, tile=32, overlap=0)
    err0 = (no_overlap - whole).abs().mean() / whole.abs().mean()
    assert err < err0          # the overlap helps
    assert err < 0.05


@pytest.mark.parametrize("shape", [(17, 45), (70, 33), (128, 40)])
def test_any_size(model, shape):
    z = np.random.default_rng(2).standard_normal(shape) * 1e-6
    p = predict(model, z, None, 1e-6, passes=2, tile=32)
    assert p.classes.shape == shape and p.reconstruction.shape == shape
    assert set(p.instrument_probabilities) == set(model.config.instrument_classes)
    assert sum(p.instrument_probabilities.values()) == pytest.approx(1, abs=1e-5)
    for v in p.parameters.values():
        assert v["low90"] <= v["value"] <= v["high90"] or not np.isfinite(v["value"])


def test_instances_measure_a_known_pit():
    classes = np.zeros((40, 40), np.uint8)
    heights = np.zeros((40, 40))
    classes[10:14, 5:25] = 1                   # a 4 x 20 scratch, 2 um deep
    heights[10:14, 5:25] = -2e-6
    classes[30:33, 30:33] = 3                  # a 3 x 3 pit
    heights[31, 31] = -5e-7
    classes[0, 0] = 2                          # a single point: below min_points, dropped
    found = instances(classes, heights, (1e-6, 1e-6), ("scratch", "dent", "pit", "crack", "inclusion"))
    assert [d["kind"] for d in found] == ["scratch", "pit"]
    s = found[0]
    assert s["depth_m"] == pytest.approx(2e-6)
    assert s["area_m2"] == pytest.approx(80e-12)
    assert s["length_m"] == pytest.approx(20e-6) and s["width_m"] == pytest.approx(4e-6)
    assert s["sqrt_area_m"] == pytest.approx(np.sqrt(20 * 2e-6 * 1e-6))
    assert found[1]["depth_m"] == pytest.approx(5e-7)
