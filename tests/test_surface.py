"""The data model: validation, geometry, cheap operations."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from surfsight import InputError, PointCloud, Profile, Surface
from surfsight.surface import require_grid
from surfsight.summary import rms_height


def test_geometry_and_axes():
    z = np.arange(12.0).reshape(3, 4)
    s = Surface(z, spacing=(2e-6, 1e-6))
    assert s.shape == (3, 4)
    assert s.size_m == pytest.approx((6e-6, 4e-6))
    assert s.x[-1] == pytest.approx(3e-6) and s.y[-1] == pytest.approx(4e-6)
    assert s.row(1).heights.tolist() == [4, 5, 6, 7]
    assert s.column(2).dx == 2e-6
    assert Surface(z, 1e-6).spacing == (1e-6, 1e-6)


@pytest.mark.parametrize("bad", [np.zeros(3), np.zeros((0, 3)), np.zeros((2, 2, 2)), [["a", "b"]],
                                 np.array([[1.0, np.inf]])])
def test_bad_heights_are_refused(bad):
    with pytest.raises(InputError, match="Surface"):
        Surface(bad, 1e-6)


@pytest.mark.parametrize("spacing", [0, -1e-6, np.nan, (1e-6,), "x", (1e-6, np.inf)])
def test_bad_spacing_is_refused(spacing):
    with pytest.raises(InputError, match="spacing|dy|dx"):
        Surface(np.zeros((2, 2)), spacing)


def test_layers_must_match_grid():
    with pytest.raises(InputError, match="layer 'mask'"):
        Surface(np.zeros((2, 2)), 1e-6, layers={"mask": np.zeros((3, 2), bool)})


def test_invalid_points_and_rms():
    z = np.array([[1.0, np.nan], [3.0, 5.0]])
    s = Surface(z, 1e-6)
    assert s.invalid_fraction == 0.25 and s.has_invalid
    assert rms_height(s) == pytest.approx(np.std([1.0, 3.0, 5.0]))


def test_crop_copy_with_heights_are_independent():
    s = Surface(np.arange(20.0).reshape(4, 5), 1e-6, layers={"i": np.ones((4, 5))}, metadata={"a": [1]})
    c = s.crop(rows=(1, 3), cols=(0, 2))
    assert c.shape == (2, 2) and c.heights[0, 0] == 5 and c.layers["i"].shape == (2, 2)
    c.heights[0, 0] = -1
    c.metadata["a"].append(2)
    assert s.heights[1, 0] == 5 and s.metadata["a"] == [1]
    w = s.with_heights(np.zeros((4, 5)), step="levelled")
    assert w.metadata["step"] == "levelled" and "step" not in s.metadata
    with pytest.raises(InputError):
        s.with_heights(np.zeros((2, 2)))
    with pytest.raises(InputError):
        s.crop(rows=(10, 12))


def test_resample_plane_is_exact_and_nan_propagates():
    y, x = np.mgrid[0:11, 0:21] * 1e-6
    plane = 0.3 * x - 0.2 * y
    s = Surface(plane, 1e-6).resample(0.5e-6)
    yy, xx = np.mgrid[0:s.shape[0], 0:s.shape[1]] * 0.5e-6
    assert s.shape == (21, 41)
    np.testing.assert_allclose(s.heights, 0.3 * xx - 0.2 * yy, atol=1e-18)
    holes = plane.copy()
    holes[5, 10] = np.nan
    r = Surface(holes, 1e-6).resample(0.5e-6)
    assert np.isnan(r.heights[10, 20]) and np.isnan(r.heights[9, 19]) and not np.isnan(r.heights[0, 0])


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)),
              elements=st.floats(-1e-3, 1e-3, allow_nan=False)),
       st.floats(1e-9, 1e-3), st.floats(1e-9, 1e-3))
def test_resample_to_same_spacing_is_identity(z, dy, dx):
    s = Surface(z, (dy, dx))
    np.testing.assert_allclose(s.resample((dy, dx)).heights, z, rtol=0, atol=1e-15)


def test_profile_basics():
    p = Profile(np.array([0.0, 1.0, np.nan, 3.0]), 0.5e-6)
    assert p.length_m == pytest.approx(2e-6) and p.invalid_fraction == 0.25
    assert p.crop(0, 2).heights.tolist() == [0.0, 1.0]
    assert p.resample(0.25e-6).heights.size == 7
    with pytest.raises(InputError):
        Profile(np.zeros((2, 2)), 1e-6)


def test_point_cloud_is_refused_where_a_grid_is_needed():
    pc = PointCloud(np.array([[0, 0, 1.0], [1, 0, 2.0], [0, 2, 3.0]]))
    assert pc.size_m == (2.0, 1.0)
    with pytest.raises(InputError, match="point cloud"):
        require_grid(pc, "filtering")
    with pytest.raises(InputError):
        PointCloud(np.zeros((3, 2)))
