"""The whole job on a mixed batch: verdicts, error rows, every input accounted for, exit status,
``--resume`` adding nothing, the CSV and the crash-safety of results.jsonl."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.inspect import read_results, run_batch, validate_row
from surfsight.inspect.batch import expand_inputs


def _rows(out):
    rows, damaged = read_results(out / "results.jsonl")
    assert damaged == 0
    return {r["file"].rsplit("/", 1)[-1]: r for r in rows}


@pytest.fixture(scope="module")
def inspected(mixed_batch, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(app, ["inspect", str(mixed_batch["folder"]), str(mixed_batch["real"]),
                                      "--spec", str(mixed_batch["spec"]), "--out", str(out), "--model", "none"])
    return out, result


def test_every_input_has_a_row_and_exit_status_is_2(inspected):
    out, result = inspected
    assert result.exit_code == 2, result.output
    rows = _rows(out)
    assert set(rows) == {"good.x3p", "scratched.x3p", "random.x3p", "truncated.x3p", "x3p-2.x3p"}
    for row in rows.values():
        validate_row(row)


def test_verdicts(inspected):
    rows = _rows(inspected[0])
    assert rows["good.x3p"]["verdict"] == "conform"
    assert rows["good.x3p"]["defects"] == []
    scratched = rows["scratched.x3p"]
    assert scratched["verdict"] == "nonconform"
    deepest = max(scratched["defects"], key=lambda d: d["depth_m"])
    assert 6e-6 < deepest["depth_m"] < 14e-6          # 12 um below the texture, measured from the data
    assert any(c["status"] == "nonconform" and "depth" in c["check"] for c in scratched["reasons"])
    # the real scan (Sa about 62 nm) is far inside the limits and has no defect
    real = rows["x3p-2.x3p"]
    assert real["verdict"] == "conform" and real["status"] == "ok"
    assert 40e-9 < real["parameters"]["Sa"]["measured"] < 90e-9


def test_error_rows_name_the_file_and_the_problem(inspected):
    rows = _rows(inspected[0])
    for name in ("random.x3p", "truncated.x3p"):
        row = rows[name]
        assert row["status"] == "error" and row["verdict"] is None
        assert name in row["error"] and len(row["error"]) > len(name) + 10
    assert "surfsight: error:" in inspected[1].output


def test_parameters_carry_measured_u_estimate_unit(inspected):
    sa = _rows(inspected[0])["good.x3p"]["parameters"]["Sa"]
    assert set(sa) == {"measured", "u", "estimate", "estimate_u", "unit"}
    assert sa["unit"] == "m" and 0 < sa["u"] < sa["measured"]


def test_failure_entry(inspected):
    rows = _rows(inspected[0])
    good, bad = rows["good.x3p"]["failure"], rows["scratched.x3p"]["failure"]
    for f in (good, bad):
        assert f["fatigue_limit_pa"] > 0 and 0 <= f["p_failure"] <= 1
        lo, hi = f["safety_factor_interval"]
        assert lo <= f["safety_factor"] * 1.05 and hi >= f["safety_factor"] * 0.95
    assert bad["safety_factor"] < good["safety_factor"]   # the scratch lowers the fatigue limit
    assert "defect" in bad["governing"]


def test_summary_csv_one_row_per_input(inspected):
    out = inspected[0]
    table = list(csv.DictReader(io.StringIO((out / "summary.csv").read_text())))
    assert len(table) == 5
    by_file = {r["file"].rsplit("/", 1)[-1]: r for r in table}
    assert by_file["scratched.x3p"]["verdict"] == "nonconform"
    assert by_file["random.x3p"]["status"] == "error" and by_file["random.x3p"]["error"]
    assert float(by_file["good.x3p"]["Sa"]) > 0


def test_resume_adds_no_rows(inspected, mixed_batch):
    out = inspected[0]
    before = (out / "results.jsonl").read_text()
    result = CliRunner().invoke(app, ["inspect", str(mixed_batch["folder"]), str(mixed_batch["real"]),
                                      "--spec", str(mixed_batch["spec"]), "--out", str(out), "--resume",
                                      "--model", "none"])
    assert result.exit_code == 2
    assert "5 input(s) already inspected" in result.output
    assert (out / "results.jsonl").read_text() == before


def test_resume_after_a_crash_drops_the_cut_line_and_finishes(mixed_batch, tmp_path):
    out = tmp_path / "out"
    run_batch([mixed_batch["good"], mixed_batch["random"]], mixed_batch["spec"], out, model=None, figures=False)
    with open(out / "results.jsonl", "a") as handle:  # a crash in the middle of writing a row
        handle.write('{"file": "half')
    result = run_batch([mixed_batch["good"], mixed_batch["random"], mixed_batch["scratched"]], mixed_batch["spec"],
                       out, resume=True, model=None, figures=False)
    assert result.skipped == 2 and result.inspected == 1
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["file"] for line in lines)


def test_same_content_twice_is_inspected_once_on_resume(mixed_batch, tmp_path):
    copy = tmp_path / "copy-of-good.x3p"
    copy.write_bytes(mixed_batch["good"].read_bytes())
    out = tmp_path / "out"
    run_batch([mixed_batch["good"]], mixed_batch["spec"], out, model=None, figures=False)
    again = run_batch([copy], mixed_batch["spec"], out, resume=True, model=None, figures=False)
    assert again.inspected == 0 and len(again.rows) == 1


def test_inputs_folders_globs_and_missing(mixed_batch, tmp_path):
    folder = mixed_batch["folder"]
    found = expand_inputs([folder, str(folder / "*.x3p"), tmp_path / "nope.x3p"])
    names = [p.name for p in found]
    assert sorted(names[:4]) == ["good.x3p", "random.x3p", "scratched.x3p", "truncated.x3p"]
    assert names.count("good.x3p") == 1 and names[-1] == "nope.x3p"
    result = run_batch([tmp_path / "nope.x3p"], mixed_batch["spec"], tmp_path / "o", model=None)
    assert result.rows[0]["status"] == "error" and "no such file" in result.rows[0]["error"]
    assert result.exit_status == 2


@pytest.mark.slow
def test_two_workers_give_the_same_rows(mixed_batch, tmp_path):
    inputs = [mixed_batch["good"], mixed_batch["scratched"], mixed_batch["random"]]
    one = run_batch(inputs, mixed_batch["spec"], tmp_path / "one", model=None, figures=False)
    two = run_batch(inputs, mixed_batch["spec"], tmp_path / "two", workers=2, model=None, figures=False)
    key = lambda rows: sorted((r["file"], r["status"], r["verdict"], len(r["defects"])) for r in rows)  # noqa: E731
    assert key(one.rows) == key(two.rows)


@pytest.mark.slow
def test_all_conform_exits_0_and_plain_progress(mixed_batch, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "surfsight.cli", "inspect", str(mixed_batch["good"]), "--spec",
                           str(mixed_batch["spec"]), "--out", str(tmp_path / "o"), "--model", "none"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "[1/1]" in proc.stdout and "conform" in proc.stdout and "report.html" in proc.stdout


def test_nonconform_exits_1(mixed_batch, tmp_path):
    result = CliRunner().invoke(app, ["inspect", str(mixed_batch["scratched"]), "--spec", str(mixed_batch["spec"]),
                                      "--out", str(tmp_path / "o"), "--model", "none"])
    assert result.exit_code == 1, result.output


def test_bad_spec_is_one_clear_error(mixed_batch, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: x\nparameters:\n  Sx: {max: 1um}\n")
    result = CliRunner().invoke(app, ["inspect", str(mixed_batch["good"]), "--spec", str(spec), "--out",
                                      str(tmp_path / "o")])
    assert result.exit_code == 2 and "Sx" in result.output
