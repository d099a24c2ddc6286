"""synth fit: targets recovered from synthetic scans, twins of real scans, the CLI."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.metrology import parameters
from surfsight.synth import texture
from surfsight.synth.fit import fit_texture, twin
from tests.conftest import topo_file

UM = 1e-6


def test_fit_recovers_targets_of_a_synthetic_scan():
    s = texture(128, UM, 0, "exponential", Sq=0.5 * UM, Sal=5 * UM, Str=0.5, Std=1.0, Ssk=-0.5, Sku=4.0)
    f = fit_texture(s)
    assert f.kind == "exponential"
    assert f.Sq == pytest.approx(0.5 * UM, rel=0.01) and f.Sal == pytest.approx(5 * UM, rel=0.15)
    assert f.Str == pytest.approx(0.5, abs=0.1) and f.Ssk == pytest.approx(-0.5, abs=0.05)
    g = fit_texture(texture(128, UM, 0, "gaussian", Sal=5 * UM))
    assert g.kind == "gaussian"


def test_twin_of_a_real_scan_matches_its_parameters():
    from surfsight import io

    real = io.read(topo_file("surfacetopography_examples/matrix-3.txt"))
    f = fit_texture(real)
    t = twin(real, 0, f)
    p = parameters(t, ["Sq", "Ssk", "Sku", "Sal"])
    assert t.shape == real.shape and t.spacing == real.spacing
    assert p["Sq"] == pytest.approx(f.Sq, rel=0.01) and p["Ssk"] == pytest.approx(f.Ssk, abs=0.2)
    assert p["Sal"] == pytest.approx(f.Sal, rel=0.25)
    assert math.isfinite(f.hurst) and f.psd_slope < 0


def test_cli_fit_and_generate(tmp_path):
    runner = CliRunner()
    path = topo_file("surfacetopography_examples/matrix-3.txt")
    result = runner.invoke(app, ["synth", "fit", str(path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (tmp_path / "matrix-3-twin.x3p").exists() and (tmp_path / "matrix-3-twin.png").exists()
    assert out["fit"]["Sq"] > 0
    result = runner.invoke(app, ["synth", "generate", "--n", "3", "--size", "32", "--out", str(tmp_path / "ds")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ds" / "index.json").exists()
    bad = runner.invoke(app, ["synth", "generate", "--n", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
