"""Murakami's sqrt(area) model: the equation, the stress-ratio term, projected and effective areas.

No worked example from Murakami's book could be read through our sources (the book is not
available to us); the numbers below are hand calculations of the published equation
(Murakami 2002 eqs. 6.5-6.7), cross-checked against a third party's independent statement of
the same case (HV 380, sqrt(area) 50 um: 372.5 MPa surface, 406.4 MPa internal).
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surfsight.errors import InputError
from surfsight.failure import (effective_sqrt_area, merge_interacting, murakami_limit, projected_area,
                               projected_extent, stress_ratio_factor)


def test_surface_and_internal_constants_hand_calculation():
    # 1.43 * (380 + 120) / 50 ** (1/6) = 372.52 MPa; 1.56 * 500 / 50 ** (1/6) = 406.38 MPa
    assert murakami_limit(380, 50e-6, "surface") / 1e6 == pytest.approx(372.52, abs=0.01)
    assert murakami_limit(380, 50e-6, "internal") / 1e6 == pytest.approx(406.38, abs=0.01)
    assert murakami_limit(380, 50e-6, "near_surface") / 1e6 == pytest.approx(1.41 * 500 / 50 ** (1 / 6), rel=1e-12)


def test_hv200_steel_100um_defect():
    # HV 200 steel with a surface defect of sqrt(area) = 100 um: 1.43 * 320 / 100 ** (1/6) = 212.4 MPa
    assert murakami_limit(200, 100e-6) / 1e6 == pytest.approx(1.43 * 320 / 100 ** (1 / 6), rel=1e-12)
    assert murakami_limit(200, 100e-6) / 1e6 == pytest.approx(212.4, abs=0.05)


def test_stress_ratio_factor():
    assert stress_ratio_factor(300, -1) == 1.0
    # R = 0: (1/2) ** (0.226 + 0.03) = 0.8374
    assert stress_ratio_factor(300, 0.0) == pytest.approx(0.5 ** 0.256, rel=1e-12)
    assert murakami_limit(300, 50e-6, stress_ratio=0.0) == pytest.approx(murakami_limit(300, 50e-6) * 0.5 ** 0.256)
    with pytest.raises(InputError):
        stress_ratio_factor(300, 1.0)


@given(st.floats(50, 700), st.floats(1e-6, 1e-3), st.floats(1.01, 10))
def test_limit_falls_with_size_and_rises_with_hardness(hv, size, factor):
    assert murakami_limit(hv, size * factor) < murakami_limit(hv, size)
    assert murakami_limit(hv * factor, size) > murakami_limit(hv, size)
    # the 1/6 power law exactly
    assert murakami_limit(hv, size * factor) / murakami_limit(hv, size) == pytest.approx(factor ** (-1 / 6))


@pytest.mark.parametrize("hv,size,location", [(0, 1e-5, "surface"), (200, 0, "surface"), (200, -1e-6, "surface"),
                                               (200, 1e-5, "corner"), (float("nan"), 1e-5, "surface")])
def test_bad_inputs_refused(hv, size, location):
    with pytest.raises(InputError):
        murakami_limit(hv, size, location)


def test_projection_normal_to_the_load():
    pit = {"depth_m": 20e-6, "length_m": 40e-6, "width_m": 40e-6}
    # semi-elliptical section: pi/4 * 40 um * 20 um
    assert projected_area(pit, 0.0) == pytest.approx(math.pi / 4 * 40e-6 * 20e-6)
    scratch = {"depth_m": 5e-6, "length_m": 40e-6, "width_m": 10e-6, "orientation_rad": 0.0}
    assert projected_extent(scratch, math.pi / 2) == pytest.approx(40e-6)   # load across the scratch
    assert projected_extent(scratch, 0.0) == pytest.approx(10e-6)           # load along it


def test_long_shallow_rule():
    scratch = {"depth_m": 2e-6, "length_m": 2e-3, "width_m": 10e-6, "orientation_rad": 0.0}
    # across the load: extent/depth = 1000 >= 10 -> sqrt(area_eff) = sqrt(10) * depth
    assert effective_sqrt_area(scratch, math.pi / 2) == pytest.approx(math.sqrt(10) * 2e-6)
    # along the load: extent 10 um / 2 um = 5 < 10 -> plain projected area
    assert effective_sqrt_area(scratch, 0.0) == pytest.approx(math.sqrt(math.pi / 4 * 2e-6 * 10e-6))
    # internal defects are not capped
    assert effective_sqrt_area(scratch, math.pi / 2, "internal") > math.sqrt(10) * 2e-6


def test_record_sqrt_area_is_used_for_the_mean_depth():
    # a synth-style record: sqrt_area for a load across the long axis; V-section -> mean depth = depth/2
    rec = {"depth_m": 4e-6, "length_m": 30e-6, "width_m": 8e-6, "sqrt_area_m": math.sqrt(2e-6 * 30e-6)}
    assert projected_area(rec, math.pi / 2) == pytest.approx(2e-6 * 30e-6)


def test_interaction_merges_close_defects_only():
    a = {"kind": "pit", "depth_m": 10e-6, "length_m": 20e-6, "width_m": 20e-6, "x_m": 0.0, "y_m": 0.0}
    near = dict(a, x_m=35e-6)     # gap 15 um < size 20 um: interact
    far = dict(a, x_m=100e-6)     # gap 80 um: independent
    load = math.pi / 2            # load along y: footprints spread along x normal to the load
    merged = merge_interacting([a, near], load)
    assert len(merged) == 1
    single = projected_area(a, load)
    bridged = 15e-6 * math.pi / 4 * 10e-6
    assert projected_area(merged[0], load) == pytest.approx(2 * single + bridged)
    assert effective_sqrt_area(merged[0], load, "internal") > effective_sqrt_area(a, load, "internal")
    assert len(merge_interacting([a, far], load)) == 2
    # without positions nothing can be merged
    assert len(merge_interacting([dict(a, x_m=None, y_m=None), near], load)) == 2
