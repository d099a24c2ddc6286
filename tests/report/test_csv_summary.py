"""summary.csv: one line per row, parameters with u and unit, error rows kept."""

from __future__ import annotations

import csv
import io

from surfsight.report.csv_summary import summary_csv


def test_rows_and_columns():
    rows = [
        {"file": "a.x3p", "status": "ok", "verdict": "nonconform",
         "reasons": [{"check": "Sa", "status": "nonconform"}, {"check": "Sq", "status": "conform"}],
         "parameters": {"Sa": {"measured": 1.2e-6, "u": 3e-8, "unit": "m"}},
         "defects": [{"depth_m": 2e-6}, {"depth_m": 5e-6}], "failure": {"safety_factor": 1.5, "p_failure": 0.0}},
        {"file": "b, odd.x3p", "status": "error", "error": "b, odd.x3p: truncated"},
    ]
    table = list(csv.DictReader(io.StringIO(summary_csv(rows))))
    assert len(table) == 2
    assert table[0]["deciding"] == "Sa" and table[0]["defects"] == "2" and table[0]["deepest_defect_um"] == "5"
    assert float(table[0]["Sa"]) == 1.2e-6 and table[0]["Sa_unit"] == "m"
    assert table[1]["file"] == "b, odd.x3p" and table[1]["error"] == "b, odd.x3p: truncated" and table[1]["Sa"] == ""
