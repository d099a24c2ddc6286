"""Real-instrument check of the ISO 16610-21 Gaussian filter: Surfcom ``.tx1`` -> ``.tx2``.

Each specimen folder holds the primary profile (``3.tx1``) and the instrument's roughness
profile (``3.tx2``, Gaussian, lambda_c = 2.5 mm, lambda_s = 25 um). What the data show
(see ``docs/metrology/filters-and-profiles.md``):

* ``.tx2`` has as many points as ``.tx1`` and covers the same span: nothing is dropped at the
  ends, and the best lag is 0 samples (1 for two specimens, gaining < 0.0002 Rq);
* the sampling interval is the evaluation length of ``.tx3`` over the point count
  (0.35604 um for the 10 mm records; 0.35605 um for the two records cut short, whose line 1
  still says 10 mm);
* the instrument extends the profile by its end values before filtering: our ``ends="nearest"``
  reproduces the end zones to < 0.04 Rq, the ISO 16610-28 renormalised ends differ there by up
  to 0.11 Rq over the whole profile (they agree in the interior).

Thresholds (worst specimen observed in brackets): interior correlation > 0.999 (0.99962) and
rms difference < 0.04 Rq (0.0275 Rq) with either end treatment; full length with ``nearest``
the same (0.99966 / 0.0262 Rq); full length with ``renormalise`` correlation > 0.99 (0.9941) and
rms < 0.15 Rq (0.110 Rq). The margins cover the residual 2 % Rq disagreement in the transition
band (wavelengths 0.5 - 5 mm) which we attribute to the instrument's own kernel approximation;
a wrong cut-off (0.8 mm) gives about 0.8 Rq, so the tests can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from surfsight.metrology.filters import profile_filters
from surfsight.surface import Profile
from tests.conftest import TOPOGRAPHY

FOLDER = TOPOGRAPHY / "surfcom_stylus_profiles"
SPECIMENS = [f"Grupo{g}/Espe{e}" for g in ("I", "II") for e in ("I", "II", "III", "IV", "V")]
LAMBDA_C = 2.5e-3
LAMBDA_S = 25e-6


def _numbers(path: Path) -> tuple[float, int, np.ndarray]:
    tokens = path.read_text(encoding="latin-1").split()
    length_mm, count = float(tokens[0]), int(tokens[1])
    heights = np.array(tokens[2:], dtype=np.float64) * 1e-6
    assert heights.size == count, f"{path}: {heights.size} heights, header says {count}"
    return length_mm * 1e-3, count, heights


def load_pair(specimen: str) -> tuple[Profile, np.ndarray]:
    """Primary profile (tx1) and the instrument roughness (tx2) of one specimen, metres."""
    folder = FOLDER / specimen
    if not (folder / "3.tx1").exists():
        pytest.skip(f"Surfcom data not found at {folder} (set SURFSIGHT_DATA)")
    length, count, primary = _numbers(folder / "3.tx1")
    _, count2, roughness = _numbers(folder / "3.tx2")
    assert count2 == count
    settings = (folder / "3.tx3").read_text(encoding="latin-1")
    match = re.search(r"Longitud evaluaci.n\t([\d.]+)mm", settings)
    if match:
        length = float(match.group(1)) * 1e-3
    return Profile(primary, length / count), roughness


def compare(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(correlation, rms difference / Rq of the instrument profile)."""
    rq = float(np.sqrt(np.mean(theirs**2)))
    return float(np.corrcoef(ours, theirs)[0, 1]), float(np.sqrt(np.mean((ours - theirs) ** 2)) / rq)


@pytest.mark.parametrize("specimen", SPECIMENS)
def test_gaussian_filter_reproduces_instrument_roughness(specimen):
    primary, instrument = load_pair(specimen)
    n = instrument.size
    end = int(round(LAMBDA_C / 2 / primary.dx))
    interior = slice(end, n - end)
    renorm = profile_filters(primary, LAMBDA_S, LAMBDA_C)["roughness"].heights
    nearest = profile_filters(primary, LAMBDA_S, LAMBDA_C, ends="nearest")["roughness"].heights
    for ours in (renorm, nearest):
        corr, rms = compare(ours[interior], instrument[interior])
        assert corr > 0.999 and rms < 0.04, (specimen, corr, rms)
    corr, rms = compare(nearest, instrument)
    assert corr > 0.999 and rms < 0.04, (specimen, "nearest, full length", corr, rms)
    corr, rms = compare(renorm, instrument)
    assert corr > 0.99 and rms < 0.15, (specimen, "renormalised, full length", corr, rms)


def test_alignment_lag_zero_and_wrong_cutoff_fails():
    primary, instrument = load_pair("GrupoII/EspeII")
    r = profile_filters(primary, LAMBDA_S, LAMBDA_C, ends="nearest")["roughness"].heights
    errors = {lag: compare(np.roll(r, lag)[5000:-5000], instrument[5000:-5000])[1] for lag in range(-5, 6)}
    assert min(errors, key=errors.get) == 0
    assert errors[5] > errors[0] and errors[-5] > errors[0]  # shallow: dx is 0.36 um
    wrong = profile_filters(primary, LAMBDA_S, 0.8e-3, ends="nearest")["roughness"].heights
    assert compare(wrong, instrument)[1] > 0.5


def test_sampling_interval_from_tx3_for_cut_short_records():
    primary, instrument = load_pair("GrupoI/EspeV")
    assert primary.heights.size == 24241
    full, _ = load_pair("GrupoI/EspeI")
    # the header's 10 mm would give 0.4125 um; the tx3 evaluation length gives the common pitch
    assert primary.dx == pytest.approx(full.dx, rel=1e-4)


def test_project_reader_agrees_if_present():
    primary, _ = load_pair("GrupoI/EspeV")
    try:
        from surfsight.io import read
        other = read(FOLDER / "GrupoI/EspeV/3.tx1")
    except Exception as exc:  # reader not there yet, or still changing: not this module's concern
        pytest.skip(f"surfcom reader not usable: {exc}")
    assert other.dx == pytest.approx(primary.dx, rel=1e-9)
    np.testing.assert_allclose(other.heights, primary.heights, rtol=1e-12)
