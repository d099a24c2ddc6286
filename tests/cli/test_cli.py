"""The ``surfsight`` command: info, convert, show, formats, demo; errors as one clear line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import surfsight
from surfsight.cli import app
from tests.conftest import topo_file

runner = CliRunner()


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("info", "convert", "show", "formats", "params", "demo"):
        assert command in result.output


def test_info_json_reproduces_reference_values():
    path = topo_file("surfacetopography_examples/x3p-2.x3p")
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "x3p" and data["kind"] == "surface"
    assert data["shape"] == [650, 650]
    assert sorted(data["size_m"]) == pytest.approx(sorted([8.29767313942749e-05, 0.0002044783737930349]), rel=1e-6)
    assert data["rms_height_m"] == pytest.approx(7.728033273597876e-08, rel=1e-6)
    assert data["invalid_fraction"] == 0
    for key in ("spacing_m", "channels", "metadata"):
        assert key in data


def test_info_profile_and_table_output():
    path = topo_file("surfacetopography_examples/dektak-1.csv")
    data = json.loads(runner.invoke(app, ["info", str(path), "--json"]).output)
    assert data["kind"] == "profile" and len(data["shape"]) == 1
    table = runner.invoke(app, ["info", str(path)])
    assert table.exit_code == 0 and "rms height" in table.output


def test_info_refuses_bad_file_with_one_line(tmp_path):
    bad = tmp_path / "broken.sur"
    bad.write_bytes(b"DIGITAL SURF" + b"\0" * 10)
    result = runner.invoke(app, ["info", str(bad)])
    assert result.exit_code == 2
    assert "broken.sur" in result.output and "Traceback" not in result.output


def test_convert_roundtrip_and_show(tmp_path):
    source = topo_file("x3ptools/sample-land.x3p")
    out = tmp_path / "land.npz"
    result = runner.invoke(app, ["convert", str(source), str(out)])
    assert result.exit_code == 0, result.output
    a, b = surfsight.read(source), surfsight.read(out)
    np.testing.assert_array_equal(a.heights, b.heights)
    assert a.spacing == b.spacing
    png = tmp_path / "land.png"
    result = runner.invoke(app, ["show", str(source), "-o", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_show_profile(tmp_path):
    png = tmp_path / "p.png"
    result = runner.invoke(app, ["show", str(topo_file("surfacetopography_examples/dektak-1.csv")), "-o", str(png)])
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 5_000


def test_formats_lists_readers_and_writers():
    result = runner.invoke(app, ["formats"])
    assert result.exit_code == 0
    for name in ("x3p", "sur", "gwy", "gsf", "datx", "vk4", "npz"):
        assert name in result.output


def test_console_script_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "surfsight.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "inspect" in proc.stdout and "params" in proc.stdout
