"""``surfsight params``: table, JSON and CSV output, profiles, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import surfsight
from surfsight import Profile, Surface
from surfsight.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("params")
    y, x = np.mgrid[0:64, 0:80]
    z = 1e-6 * np.sin(2 * np.pi * x / 16) * np.cos(2 * np.pi * y / 20) + 2e-8 * x   # tilted texture
    z[5:8, 10:14] = np.nan
    surface = root / "s.npz"
    surfsight.write(Surface(z, spacing=1e-6), surface)
    xp = np.arange(6000) * 1e-6
    profile = root / "p.npz"
    surfsight.write(Profile(1e-6 * np.sin(2 * np.pi * xp / 100e-6), dx=1e-6), profile)
    return {"surface": surface, "profile": profile, "root": root}


def test_json_is_si(files):
    result = runner.invoke(app, ["params", str(files["surface"]), "--names", "Sa,Sq,Sdr,Smr(0.5um)", "--json",
                                 "--level", "plane"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["parameters"]) == ["Sa", "Sq", "Sdr", "Smr(0.5um)"]
    assert 1e-7 < data["parameters"]["Sq"] < 1e-6          # metres
    assert data["units"]["Sdr"] == "%" and data["units"]["Sa"] == "m"


def test_level_changes_the_result(files):
    plain = json.loads(runner.invoke(app, ["params", str(files["surface"]), "-n", "Sq", "--json"]).stdout)
    levelled = json.loads(runner.invoke(app, ["params", str(files["surface"]), "-n", "Sq", "--json",
                                          "--level", "poly:1"]).stdout)
    assert levelled["parameters"]["Sq"] < plain["parameters"]["Sq"]


def test_table_has_readable_units_and_reports_undefined(files):
    result = runner.invoke(app, ["params", str(files["surface"]), "--names", "Sq,Sdr,Std,Str"])
    assert result.exit_code == 0, result.output
    assert "nm" in result.stdout or "µm" in result.stdout
    assert "%" in result.stdout and "°" in result.stdout


def test_csv_and_filters(files):
    result = runner.invoke(app, ["params", str(files["surface"]), "--csv", "--names", "Sa,Sq",
                                 "--s-filter", "2um", "--l-filter", "40um"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["parameter", "value", "unit"]
    assert [r[0] for r in rows[1:]] == ["Sa", "Sq"]
    assert all(math.isfinite(float(r[1])) for r in rows[1:])


def test_profile(files):
    result = runner.invoke(app, ["params", str(files["profile"]), "--lambda-c", "0.8mm", "--lambda-s", "2.5um",
                                 "--names", "Ra,Rq", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "profile"
    assert data["parameters"]["Rq"] == pytest.approx(1e-6 / math.sqrt(2), rel=0.02)


def test_profile_units_come_from_the_profile_registry(files):
    """Material ratios in per cent (like the areal Smr1/Smr2), heights in m, slopes dimensionless."""
    args = ["params", str(files["profile"]), "--lambda-c", "0.8mm", "--lambda-s", "2.5um",
            "--names", "Ra,Rmr,Rdq,Mr1,Mr2,Rk"]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["units"] == {"Ra": "m", "Rmr": "%", "Rdq": "1", "Mr1": "%", "Mr2": "%", "Rk": "m"}
    assert data["parameters"]["Rmr"] == pytest.approx(50.0, abs=1.0)   # a sine: half above its mean line
    assert 1.0 < data["parameters"]["Mr2"] <= 100.0
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    line = next(row for row in table.stdout.splitlines() if "Rmr" in row)
    assert "%" in line and ("50" in line or "49" in line)


@pytest.mark.parametrize("args, message", [
    (["params", "{root}/missing.x3p"], "missing.x3p"),
    (["params", "{surface}", "--s-filter", "3parsec"], "unknown unit"),
    (["params", "{surface}", "--names", "Sa,Foo"], "Foo"),
    (["params", "{surface}", "--level", "cubic"], "--level"),
    (["params", "{surface}", "--json", "--csv"], "--json"),
    (["params", "{surface}", "--lambda-c", "0.8mm"], "--l-filter"),
    (["params", "{profile}", "--l-filter", "0.8mm"], "--lambda-c"),
])
def test_errors_one_line_exit_2(files, args, message):
    args = [a.format(root=files["root"], surface=files["surface"], profile=files["profile"]) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
