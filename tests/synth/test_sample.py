"""sample(): reproducible, labelled by the metrology engine, overrides honoured."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from surfsight.errors import InputError
from surfsight.metrology import parameters
from surfsight.synth import INSTRUMENT_CLASSES, KINDS, LABEL_NAMES, PRESETS, sample


def _same(a, b):
    return all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_labels_equal_metrology_of_texture(preset):
    s = sample(preset, 64, seed=1)
    assert set(LABEL_NAMES) <= set(s.labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = parameters(s.texture, list(LABEL_NAMES), on_error="nan")
    assert _same([s.labels[k] for k in LABEL_NAMES], [expected[k] for k in LABEL_NAMES])
    assert s.image.shape == s.truth.shape == s.measured.shape == (64, 64)
    assert s.image.dtype == np.float32 and 0 <= s.image.min() and s.image.max() <= 1
    assert s.instrument in INSTRUMENT_CLASSES


def test_same_seed_same_bytes_different_seed_different_sample():
    a = sample("ground", 64, seed=7)
    b = sample("ground", 64, seed=7)
    c = sample("ground", 64, seed=8)
    for name in ("texture", "truth", "measured"):
        assert getattr(a, name).heights.tobytes() == getattr(b, name).heights.tobytes()
    assert a.image.tobytes() == b.image.tobytes() and a.labels == b.labels
    assert [d.as_dict() for d in a.defects] == [d.as_dict() for d in b.defects]
    assert not np.array_equal(a.texture.heights, c.texture.heights)


def test_defects_none_empty_and_list():
    assert sample("lapped", 64, seed=0, defects=[]).defects == []
    listed = sample("lapped", 64, seed=0, defects=["pit", "scratch"])
    assert [d.kind for d in listed.defects] == ["pit", "scratch"]
    drawn = [len(sample("lapped", 32, seed=s).defects) for s in range(12)]
    assert min(drawn) == 0 and max(drawn) > 0  # drawn from the preset's rates
    with pytest.raises(InputError, match="unknown defect kind"):
        sample("lapped", 32, defects=["bubble"])


def test_texture_and_geometry_overrides():
    s = sample("ground", 128, seed=2, defects=["dent"], Sq=0.4e-6, Sal=5e-6, Str=0.3, Ssk=-0.5, Sku=4.0,
               defect_depth=3e-6, defect_width=20e-6)
    assert s.labels["Sq"] == pytest.approx(0.4e-6, rel=0.01)
    assert s.labels["Sal"] == pytest.approx(5e-6, rel=0.15)
    assert s.labels["Str"] == pytest.approx(0.3, abs=0.1)
    assert s.labels["Ssk"] == pytest.approx(-0.5, abs=0.3)
    (d,) = s.defects
    assert d.depth_m == pytest.approx(3e-6, rel=0.05)
    assert d.nominal["width"] == 20e-6
    with pytest.raises(InputError, match="not a parameter"):
        sample("turned", 32, seed=0, hurst=0.5)


def test_Std_override_means_metrology_Std():
    s = sample("ground", 128, seed=0, defects=[], Str=0.1, Sal=4e-6, Std=2.0)
    assert abs((parameters(s.texture, ["Std"])["Std"] - 2.0 + math.pi / 2) % math.pi - math.pi / 2) < 0.2


def test_monte_carlo_uncertainty():
    s = sample("ground", 64, seed=3, defects=[], instrument="focus_variation", mc=4)
    assert s.uncertainty is not None and set(LABEL_NAMES) <= set(s.uncertainty)
    assert s.uncertainty["Sq"] > 0 and s.bias is not None
    assert sample("ground", 64, seed=3, mc=0).uncertainty is None


def test_label_map_classes():
    s = sample("ground", 64, seed=4, defects=list(KINDS))
    m = s.label_map
    assert m.dtype == np.uint8 and m.max() <= len(KINDS)
    assert (m > 0).any()
