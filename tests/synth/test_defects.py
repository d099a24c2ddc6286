"""Defects: records measured from the data, masks that cover every changed pixel."""

from __future__ import annotations

import numpy as np
import pytest

from surfsight.errors import InputError
from surfsight.synth import KINDS, add_defects, label_map, texture

UM = 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_depth_is_max_deficit_in_mask_and_mask_covers_defect(kind):
    for seed in range(6):
        z = texture(96, UM, seed, Sq=0.3 * UM, Sal=4 * UM).heights
        truth, records = add_defects(z, (UM, UM), [kind], np.random.default_rng(seed), 0.3 * UM)
        assert len(records) == 1
        d = records[0]
        assert d.kind == kind
        assert d.depth_m == pytest.approx(np.max((z - truth)[d.mask]), rel=0.05)
        assert d.depth_m == pytest.approx(d.nominal["depth"], rel=0.05)  # geometry honoured
        assert not ((z != truth) & ~d.mask).any()                       # mask covers the defect
        assert d.area_m2 == pytest.approx(d.mask.sum() * UM * UM)
        assert d.sqrt_area_m > 0 and d.width_m > 0 and d.length_m >= d.width_m * 0.5
        assert 0 <= d.orientation_rad < np.pi and d.root_radius_m > 0


def test_several_defects_masks_union_covers_all_changes_and_label_map():
    z = texture(128, UM, 0, Sq=0.3 * UM, Sal=4 * UM).heights
    truth, records = add_defects(z, (UM, UM), list(KINDS), np.random.default_rng(1), 0.3 * UM)
    union = np.zeros(z.shape, bool)
    for d in records:
        union |= d.mask
        assert d.depth_m == pytest.approx(np.max((z - truth)[d.mask]))
    assert not ((z != truth) & ~union).any()
    labels = label_map(records, z.shape)
    assert set(np.unique(labels)) <= set(range(len(KINDS) + 1))
    assert (labels > 0).sum() == union.sum()


def test_scratch_orientation_and_geometry_overrides():
    z = np.zeros((128, 128))
    from surfsight.synth.defects import scratch

    truth, placed = scratch(z, np.random.default_rng(0), (UM, UM), depth=2 * UM, width=6 * UM, length=80 * UM,
                            angle=0.0, pileup=0.0)
    assert placed is not None
    from surfsight.synth.defects import measure_defects

    (d,) = measure_defects(z, truth, [placed], (UM, UM))
    assert d.depth_m == pytest.approx(2 * UM, rel=0.05)
    assert d.orientation_rad == pytest.approx(0.0, abs=0.05) or d.orientation_rad == pytest.approx(np.pi, abs=0.05)
    assert d.length_m == pytest.approx(80 * UM, rel=0.1)
    assert d.width_m == pytest.approx(6 * UM, abs=2 * UM)


def test_unknown_kind_refused():
    with pytest.raises(InputError, match="unknown defect kind"):
        add_defects(np.zeros((32, 32)), (UM, UM), ["bubble"], np.random.default_rng(0), UM)
