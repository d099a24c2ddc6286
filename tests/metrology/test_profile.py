"""ISO 21920-2 profile parameters on closed-form profiles, NaN handling, nesting defaults."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.errors import InputError, ParameterError
from surfsight.metrology.nesting import (
    cutoff_from_ra,
    cutoff_from_rsm,
    cutoff_from_rz,
    default_profile_cutoff,
    nesting_for_cutoff,
)
from surfsight.metrology.profile import (
    PROFILE_PARAMETER_NAMES,
    PROFILE_PARAMETERS,
    profile_material_ratio_curve,
    profile_material_ratio_height,
    amplitude_parameters,
    mean_width,
    profile_material_ratio,
    profile_parameters,
    rk_parameters,
    row_profile_parameters,
    section_heights,
    slope_7point,
)
from surfsight.surface import Profile, Surface

DX = 0.5e-6
LC = 0.8e-3
A = 1e-6
LAM = 100e-6  # well inside the roughness band: transmission 1 - 1e-19 at lambda_c, 0.9996 at lambda_s
# ISO traversing length: 5 sections plus lambda_c / 2 run-in and run-out, which the default
# (centred) evaluation length leaves out, so the filter's end zones do not enter the values
N = int(round(6 * LC / DX))
X = np.arange(N) * DX


def _params(z, names, **kw):
    return profile_parameters(Profile(z, DX), names, 2.5e-6, LC, **kw)


def test_sine_closed_forms():
    z = A * np.sin(2 * np.pi * X / LAM + 0.2)
    p = _params(z, ["Ra", "Rq", "Rsk", "Rku", "RSm", "Rz", "Rt", "Rp", "Rv", "Rdq", "Rmr", "Pa", "Pq"])
    # lambda_s = 2.5 um passes 99.96 %; the renormalised ends cost < 0.2 % of Ra
    assert p["Ra"] == pytest.approx(2 * A / math.pi, rel=3e-3)
    assert p["Rq"] == pytest.approx(A / math.sqrt(2), rel=3e-3)
    assert p["Rsk"] == pytest.approx(0.0, abs=1e-3)
    assert p["Rku"] == pytest.approx(1.5, abs=3e-3)
    assert p["RSm"] == pytest.approx(LAM, rel=1e-3)
    assert p["Rz"] == pytest.approx(2 * A, rel=3e-3)
    assert p["Rp"] == pytest.approx(A, rel=3e-3) and p["Rv"] == pytest.approx(A, rel=3e-3)
    assert p["Rt"] >= p["Rz"]
    assert p["Rdq"] == pytest.approx(2 * math.pi * A / LAM / math.sqrt(2), rel=3e-3)
    assert p["Rmr"] == pytest.approx(50.0, abs=0.5)  # per cent, as ISO 21920-2 writes it
    assert p["Pa"] == pytest.approx(2 * A / math.pi, rel=1e-3)


def test_triangle_wave_closed_forms_and_rk():
    z = A * (2 / np.pi) * np.arcsin(np.sin(2 * np.pi * X / LAM))
    p = _params(z, ["Ra", "Rq", "Rku", "RSm", "Rk", "Rpk", "Rvk", "Mr1", "Mr2"])
    # the S-filter rounds the sharp corners slightly: 0.3 %
    assert p["Ra"] == pytest.approx(A / 2, rel=4e-3)
    assert p["Rq"] == pytest.approx(A / math.sqrt(3), rel=4e-3)
    assert p["Rku"] == pytest.approx(1.8, abs=5e-3)  # uniform height distribution
    assert p["RSm"] == pytest.approx(LAM, rel=1e-3)
    # straight material ratio curve: the core is everything
    assert p["Rk"] == pytest.approx(2 * A, rel=5e-3)
    assert p["Rpk"] < 0.05 * A and p["Rvk"] < 0.05 * A  # only the rounded corners
    assert p["Mr1"] < 1.0 and p["Mr2"] > 99.0  # per cent


def test_square_wave():
    z = A * np.sign(np.sin(2 * np.pi * (X + DX / 3) / LAM))
    amp = amplitude_parameters(z)
    assert amp["a"] == pytest.approx(A) and amp["q"] == pytest.approx(A)
    assert amp["ku"] == pytest.approx(1.0)
    assert mean_width(z, DX, LC) == pytest.approx(LAM, rel=1e-3)
    p = _params(z, ["Ra", "Rq"])
    assert p["Ra"] == pytest.approx(A, rel=0.02)  # S-filter rounds the edges


def test_section_heights_mean_of_sections():
    z = np.zeros(500)
    for k in range(5):
        z[k * 100 + 10] = (k + 1) * 1e-6
        z[k * 100 + 50] = -1e-6
    s = section_heights(z, 5)
    assert s["p"] == pytest.approx(3e-6) and s["v"] == pytest.approx(1e-6) and s["z"] == pytest.approx(4e-6)
    assert s["sections"] == 5
    with pytest.raises(ParameterError):
        section_heights(z, 0)


def test_rsm_discriminates_small_peaks():
    z = A * np.sin(2 * np.pi * X / LAM) + 0.1 * A * np.cos(2 * np.pi * X / (LAM / 40))
    assert mean_width(z, DX, LC) == pytest.approx(LAM, rel=2e-3)
    # without the height discrimination the small ripples near the crossings would count
    small = mean_width(z, DX, LC, height_fraction=0.0, width_fraction=0.0)
    assert small < 0.5 * LAM


def test_seven_point_slope_exact_on_cubic():
    x = np.arange(30) * DX
    z = 1e6 * x**3
    s = slope_7point(z, DX)
    np.testing.assert_allclose(s[3:-3], 3e6 * x[3:-3] ** 2, rtol=1e-9)
    assert np.isnan(s[:3]).all() and np.isnan(s[-3:]).all()


def test_material_ratio_and_rdc():
    z = np.linspace(-1e-6, 1e-6, 1001)
    assert profile_material_ratio(z, 0.0) == pytest.approx(50.0, abs=0.1)
    rk = rk_parameters(z)
    # n points stand for a uniform distribution 1/n wider than their range
    assert rk["Rk"] == pytest.approx(2e-6 * 1001 / 1000, rel=1e-6)
    p = profile_parameters(Profile(np.tile(z, 1), DX), ["Pdc"], 0, 0.25e-3, level=False,
                           evaluation_length=z.size * DX)
    assert p["Pdc"] == pytest.approx(0.6 * 2e-6, rel=1e-2)


def test_nan_points_are_skipped():
    z = A * np.sin(2 * np.pi * X / LAM + 0.2)
    z_nan = z.copy()
    z_nan[1000:1300] = np.nan
    p = _params(z_nan, ["Ra", "Rq", "RSm", "Rz", "Rdq"])
    assert p["Ra"] == pytest.approx(2 * A / math.pi, rel=5e-3)
    assert p["RSm"] == pytest.approx(LAM, rel=2e-3)
    assert all(np.isfinite(v) for v in p.values())
    with pytest.raises(ParameterError):
        _params(np.full(N, np.nan), ["Ra"])


def test_all_names_and_undefined_reported():
    z = A * np.sin(2 * np.pi * X / LAM)
    details: dict = {}
    p = profile_parameters(Profile(z, DX), None, 2.5e-6, LC, details=details)
    assert set(p) | set(details["undefined"]) == set(PROFILE_PARAMETER_NAMES)
    assert "WSm" in details["undefined"]  # no waviness at all
    assert details["sections"] == 5 and details["evaluation_length"] == pytest.approx(5 * LC)
    with pytest.raises(ParameterError):
        profile_parameters(Profile(z, DX), ["WSm"], 2.5e-6, LC)
    with pytest.raises(InputError):
        profile_parameters(Profile(z, DX), ["Sa"], 2.5e-6, LC)


def test_evaluation_length_defaults():
    z = A * np.sin(2 * np.pi * np.arange(int(3.5 * LC / DX)) * DX / LAM)
    d: dict = {}
    profile_parameters(Profile(z, DX), ["Ra"], 2.5e-6, LC, details=d)
    assert d["sections"] == 3
    with pytest.raises(ParameterError):
        profile_parameters(Profile(z[: int(0.5 * LC / DX)], DX), ["Ra"], 2.5e-6, LC)


def test_nesting_tables():
    assert cutoff_from_ra(1.0e-6) == pytest.approx(0.8e-3)
    assert cutoff_from_ra(5e-6) == pytest.approx(2.5e-3)
    assert cutoff_from_ra(0.05e-6) == pytest.approx(0.25e-3)
    assert cutoff_from_rz(20e-6) == pytest.approx(2.5e-3)
    assert cutoff_from_rz(20e-6, standard="ISO 4288") == pytest.approx(2.5e-3)
    assert cutoff_from_rz(60e-6, standard="ISO 4288") == pytest.approx(8e-3)
    assert cutoff_from_rsm(0.1e-3) == pytest.approx(0.25e-3)
    row = nesting_for_cutoff(2.5e-3)
    assert row.lambda_s == pytest.approx(8e-6) and row.evaluation_length == pytest.approx(12.5e-3)
    assert [nesting_for_cutoff(c).lambda_s for c in (0.08e-3, 0.25e-3, 0.8e-3, 2.5e-3, 8e-3)] == \
        pytest.approx([2.5e-6, 2.5e-6, 2.5e-6, 8e-6, 25e-6])
    with pytest.raises(InputError):
        nesting_for_cutoff(1e-3)


def test_default_cutoff_iterates_to_the_table():
    # periodic: RSm = 100 um -> lambda_c = 0.25 mm (ISO 4288 Table 3)
    z = A * np.sin(2 * np.pi * X / LAM)
    choice = default_profile_cutoff(Profile(z, DX))
    assert choice.periodic and choice.lambda_c == pytest.approx(0.25e-3)
    # non-periodic: random roughness with Ra ~ 0.5 um -> 0.8 mm
    rng = np.random.default_rng(4)
    noise = np.convolve(rng.normal(size=N), np.ones(20) / 20, mode="same")
    noise *= 0.5e-6 / np.mean(np.abs(noise))
    choice = default_profile_cutoff(Profile(noise, DX), periodic=False)
    assert choice.lambda_c == pytest.approx(0.8e-3)
    assert choice.basis == "Ra" and choice.history


def test_rows_of_a_surface():
    z = np.tile(A * np.sin(2 * np.pi * X[:4000] / LAM), (3, 1))
    z[1] *= 2
    z[2] = np.nan
    out = row_profile_parameters(Surface(z, DX), ["Ra"], 2.5e-6, 0.25e-3)
    assert out["Ra"][1] == pytest.approx(2 * out["Ra"][0], rel=1e-9)
    assert np.isnan(out["Ra"][2])


@settings(max_examples=15, deadline=None)
@given(scale=st.floats(0.1, 10), offset=st.floats(-1e-5, 1e-5))
def test_amplitude_parameters_scale_and_ignore_offset(scale, offset):
    base = A * np.sin(2 * np.pi * X[:4000] / LAM)
    p1 = profile_parameters(Profile(base, DX), ["Ra", "Rq", "Rsk"], 2.5e-6, 0.25e-3)
    p2 = profile_parameters(Profile(scale * base + offset, DX), ["Ra", "Rq", "Rsk"], 2.5e-6, 0.25e-3)
    assert p2["Ra"] == pytest.approx(scale * p1["Ra"], rel=1e-6)
    assert p2["Rq"] == pytest.approx(scale * p1["Rq"], rel=1e-6)
    assert p2["Rsk"] == pytest.approx(p1["Rsk"], abs=1e-6)


def test_material_ratios_are_percent_like_the_areal_ones():
    """Xmr, Mr1, Mr2 (and Xdc's arguments) are per cent, as ISO 21920-2 / 13565-2 write them and as
    the areal Smr1, Smr2, Smr(c) are."""
    from surfsight.metrology import PARAMETERS

    z = np.linspace(-1e-6, 1e-6, 2001)
    assert profile_material_ratio(z, 0.5e-6) == pytest.approx(25.0, abs=0.1)
    assert profile_material_ratio_height(z, 25.0) == pytest.approx(0.5e-6, rel=1e-3)
    with pytest.raises(InputError, match="0..100"):
        profile_material_ratio_height(z, 120.0)
    ratio, heights = profile_material_ratio_curve(z)
    assert ratio[0] == pytest.approx(100 * 0.5 / z.size) and ratio[-1] == pytest.approx(100 - 100 * 0.5 / z.size)
    assert heights[0] == z.max()
    # a profile with 10 % high plateaus, 20 % deep dales and a sloping core in between
    core = np.linspace(0.5e-6, -0.5e-6, 700)
    zp = np.concatenate([np.full(100, 2e-6), core, np.full(200, -2e-6)])
    rk = rk_parameters(zp)
    assert 5.0 < rk["Mr1"] < 15.0 and 70.0 < rk["Mr2"] < 85.0
    assert PROFILE_PARAMETERS["Mr1"].unit == PROFILE_PARAMETERS["Rmr"].unit == PARAMETERS["Smr1"].unit == "%"
    p = profile_parameters(Profile(z, DX), ["Pdc"], 0, 0.25e-3, level=False, evaluation_length=z.size * DX,
                           rdc=(10.0, 90.0))
    assert p["Pdc"] == pytest.approx(0.8 * 2e-6, rel=1e-2)


def test_profile_registry_covers_every_name():
    assert tuple(PROFILE_PARAMETERS) == PROFILE_PARAMETER_NAMES
    for name, info in PROFILE_PARAMETERS.items():
        assert info.name == name
        assert info.unit in ("m", "1", "%")
        assert info.family in ("primary", "waviness", "roughness")
        assert info.family[0].upper() == name[0] or name in ("Mr1", "Mr2")
        assert "ISO 21920-2:2021" in info.reference and info.description
    assert PROFILE_PARAMETERS["Ra"].unit == "m" and PROFILE_PARAMETERS["Rsk"].unit == "1"
    assert PROFILE_PARAMETERS["Wdq"].unit == "1" and PROFILE_PARAMETERS["PSm"].unit == "m"
    assert PROFILE_PARAMETERS["Pa"].family == "primary" and PROFILE_PARAMETERS["Wq"].family == "waviness"
    from surfsight import metrology

    assert metrology.PROFILE_PARAMETERS is PROFILE_PARAMETERS


def test_nesting_tables_match_the_confirmed_sources():
    """The values confirmed from secondary sources (see surfsight/metrology/nesting.py): ISO 3274
    lambda_s and tip radius, the largest sampling interval, and the ISO 4288 / ISO 21920-3 tables."""
    from surfsight.metrology import nesting

    rows = [(r.lambda_c * 1e3, r.lambda_s * 1e6, r.max_tip_radius * 1e6, r.max_spacing * 1e6,
             r.evaluation_length * 1e3) for r in nesting.PROFILE_CUTOFFS]
    expected = [(0.08, 2.5, 2, 0.5, 0.4), (0.25, 2.5, 2, 0.5, 1.25), (0.8, 2.5, 2, 0.5, 4),
                (2.5, 8, 5, 1.5, 12.5), (8, 25, 10, 5, 40)]
    assert np.allclose(rows, expected)
    assert [round(r.ratio) for r in nesting.PROFILE_CUTOFFS] == [32, 100, 320, 312, 320]  # nominal 30/100/300
    bounds_um = lambda table: [u * 1e6 for u, _ in table[:-1]]  # noqa: E731
    assert np.allclose(bounds_um(nesting.ISO4288_RA_RANGES), [0.02, 0.1, 2, 10])
    assert np.allclose(bounds_um(nesting.ISO4288_RZ_RANGES), [0.1, 0.5, 10, 50])
    assert np.allclose(bounds_um(nesting.ISO21920_RA_RANGES), [0.02, 0.1, 2, 10])
    assert np.allclose(bounds_um(nesting.ISO21920_RZ_RANGES), [0.16, 0.8, 16, 80])
    assert np.allclose([u * 1e3 for u, _ in nesting.RSM_RANGES[:-1]], [0.04, 0.13, 0.4, 1.3])
    for table in (nesting.ISO4288_RA_RANGES, nesting.ISO4288_RZ_RANGES, nesting.ISO21920_RA_RANGES,
                  nesting.ISO21920_RZ_RANGES, nesting.RSM_RANGES):
        assert np.allclose([c * 1e3 for _, c in table], [0.08, 0.25, 0.8, 2.5, 8])
    assert cutoff_from_rz(12e-6) == pytest.approx(0.8e-3)                       # ISO 21920-3: (0.8, 16]
    assert cutoff_from_rz(12e-6, standard="ISO 4288") == pytest.approx(2.5e-3)  # ISO 4288: (10, 50]
