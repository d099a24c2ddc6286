"""Instrument models: the measurable effects the issue asks for."""

from __future__ import annotations

import math

import numpy as np
import pytest

from surfsight.metrology import level_plane, parameters
from surfsight.surface import Surface
from surfsight.synth import INSTRUMENTS, measure, sample, texture
from surfsight.synth.instruments import batwing, tip_dilation

UM = 1e-6


def _params(z, spacing, names):
    return parameters(level_plane(Surface(z, spacing)), names)


def test_focus_variation_raises_Sa_of_a_polished_surface():
    for seed in range(3):
        s = sample("polished", 96, seed=seed, defects=[], instrument="focus_variation")
        true_Sa = s.labels["Sa"]
        measured = _params(s.measured.heights, s.measured.spacing, ["Sa"])["Sa"]
        assert measured > 2 * true_Sa


def test_stylus_lowers_Sdq():
    t = texture(128, 0.5 * UM, 0, Sq=0.5 * UM, Sal=3 * UM)
    m = measure(t.heights, t.spacing, INSTRUMENTS["stylus"].with_(tilt=0.0, line_offset=0.0), np.random.default_rng(0))
    assert _params(m, t.spacing, ["Sdq"])["Sdq"] < 0.8 * parameters(t, ["Sdq"])["Sdq"]


def test_tip_dilation_never_lowers_and_fills_valleys():
    z = np.zeros((32, 32))
    z[:, 16] = -2 * UM  # a narrow groove
    d = tip_dilation(z, (0.5 * UM, 0.5 * UM), 2 * UM, math.radians(30))
    assert (d >= z - 1e-15).all()
    assert d[:, 16].min() > -2 * UM  # the tip cannot reach the bottom


@pytest.mark.parametrize("name", ["csi", "confocal", "focus_variation"])
def test_dropouts_where_slopes_exceed_the_aperture(name):
    inst = INSTRUMENTS[name].with_(dropout_rate=0.0, spike_rate=0.0)
    t = texture(128, UM, 2, Sq=1.5 * UM, Sal=5 * UM)
    z = t.heights
    gy, gx = np.gradient(z, UM, UM)
    slope = np.hypot(gx, gy)
    limit = math.tan(math.asin(inst.numerical_aperture))
    m = measure(z, t.spacing, inst, np.random.default_rng(0))
    assert np.isnan(m[slope > limit]).all()
    assert not np.isnan(m[slope <= limit]).any()
    assert (slope > limit).any()


def test_csi_batwing_appears_at_steps_only():
    z = np.zeros((32, 64))
    z[:, 32:] = 0.4 * UM  # a step lower than the coherence length
    bw = batwing(z, (UM, UM), 0.3, 1.5 * UM)
    assert bw[:, 31].min() < -0.05 * UM and bw[:, 32].max() > 0.05 * UM  # undershoot at the foot, overshoot on top
    assert not bw[:, :29].any() and not bw[:, 36:].any()
    assert not batwing(np.zeros((16, 16)), (UM, UM), 0.3, 1.5 * UM).any()


def test_artefacts_quantisation_line_offsets_spikes_missing_points_tilt():
    z = np.zeros((64, 64))
    rng = np.random.default_rng(0)
    inst = INSTRUMENTS["confocal"].with_(noise=0.0, numerical_aperture=0.0, spike_rate=0.01, dropout_rate=0.02,
                                         tilt=1e-3, quantisation=1e-9)
    m = measure(z, (UM, UM), inst, rng)
    valid = m[np.isfinite(m)]
    assert np.allclose(valid / 1e-9, np.round(valid / 1e-9))
    assert 0.005 < np.isnan(m).mean() < 0.04
    afm = INSTRUMENTS["afm"].with_(noise=0.0, tilt=0.0, quantisation=0.0)
    lines = measure(z, (UM, UM), afm, rng)
    assert lines.std(axis=1).max() < 1e-20 and lines.mean(axis=1).std() > 1e-11  # constant per line, differs between lines


def test_same_rng_state_same_measurement():
    z = texture(48, UM, 0, Sal=4 * UM).heights
    for name in INSTRUMENTS:
        a = measure(z, (UM, UM), name, np.random.default_rng(9))
        b = measure(z, (UM, UM), name, np.random.default_rng(9))
        assert np.array_equal(a, b, equal_nan=True)
