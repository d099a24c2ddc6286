"""Pipeline stages on closed-form and simulated surfaces."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surfsight.inspect.model_step import _estimate, rule_based_detection
from surfsight.inspect.pipeline import _remove_spikes, measure, measured_parameters, prepare
from surfsight.inspect.results import error_row, new_row, parse_line, to_json_line, validate_row
from surfsight.errors import InputError
from surfsight.spec import load_spec
from surfsight.surface import Surface


def _sine(n=128, step=1e-6, amplitude=1e-6):
    x = np.arange(n) * step
    return Surface(np.tile(amplitude * np.sin(2 * np.pi * x / 16e-6), (n, 1)), step)


def test_measured_sa_of_a_sine_and_its_quarter_uncertainty():
    s = _sine()
    table = measured_parameters(s, ["Sa", "Sq"])
    sa, u = table["Sa"]
    assert sa == pytest.approx(np.mean(np.abs(s.heights)), rel=1e-9)   # zero-mean: Sa = mean |z|
    assert sa == pytest.approx(2e-6 / math.pi, rel=2e-2)                # ~ 2A/pi (16 points a period)
    assert 0 <= u < 1e-3 * sa                              # every quarter holds whole periods


def test_spikes_are_removed_but_a_line_is_kept():
    s = _sine()
    z = s.heights.copy()
    z[40, 40] += 50e-6           # an isolated spike
    z[80, 10:100] -= 20e-6       # a one-point-wide crack: not a spike
    cleaned, count = _remove_spikes(s.with_heights(z))
    assert count == 1 and np.isnan(cleaned.heights[40, 40])
    assert np.isfinite(cleaned.heights[80, 10:100]).all()


def test_detector_finds_a_groove_and_masks_it_out_of_the_parameters():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 0.2e-6, (128, 128))
    z[60:64, 10:120] -= 3e-6     # a groove 3 um deep, 4 points wide, 110 long
    s = Surface(z, 1e-6)
    found = rule_based_detection(s)
    assert len(found.defects) == 1
    d = found.defects[0]
    assert d["kind"] == "scratch" and d["depth_m"] == pytest.approx(3e-6, rel=0.2)
    assert d["length_m"] == pytest.approx(110e-6, rel=0.1)
    table = measure(s, found.mask, ["Sa"])
    assert table["Sa"]["measured"] == pytest.approx(0.2e-6 * math.sqrt(2 / math.pi), rel=0.1)


def test_noise_alone_has_no_defect():
    s = Surface(np.random.default_rng(2).normal(0, 1e-7, (128, 128)), 1e-6)
    assert rule_based_detection(s).defects == []


def test_l_filter_longer_than_the_scan_is_skipped_with_a_note():
    spec = load_spec({"name": "x", "filters": {"S": "2.5um", "L": "0.8mm"}})
    prepared = prepare(_sine(), spec)
    assert any("L-filter" in n for n in prepared.notes)
    assert any("S-filter" in step for step in prepared.steps)


def test_estimate_forms():
    assert _estimate({"value": 1.0, "u": 0.1}) == (1.0, 0.1)
    value, u = _estimate((1.0, 0.804, 1.196))
    assert value == 1.0 and u == pytest.approx(0.1)   # 95 % half-width 0.196 = 1.96 u
    assert _estimate({"value": None}) is None


def test_rows_round_trip_and_schema():
    row = error_row("a.x3p", None, "a.x3p: broken")
    validate_row(row)
    assert parse_line(to_json_line(row)) == row
    assert parse_line('{"file": "cut') is None
    bad = new_row("b.x3p", "00", status="ok", verdict="maybe")
    with pytest.raises(InputError, match="verdict"):
        validate_row(bad)
    with pytest.raises(InputError, match="unknown key"):
        new_row("c", None, colour="red")
    nan_row = new_row("d", None, status="ok", verdict="conform",
                      parameters={"Sa": {"measured": float("nan"), "u": None, "estimate": None, "estimate_u": None,
                                         "unit": "m"}})
    assert parse_line(to_json_line(nan_row))["parameters"]["Sa"]["measured"] is None
