"""``surfsight demo``: inspects a built-in batch of good and scratched simulated parts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_inspects_a_simulated_batch(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "surfsight.cli", "demo", "--out", str(out), "--workers", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    verdicts = {r["file"].rsplit("/", 1)[-1]: r["verdict"] for r in rows}
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    assert {v for k, v in verdicts.items() if "scratched" in k} == {"nonconform"}
    assert {v for k, v in verdicts.items() if "good" in k} == {"conform"}
    assert (out / "report.html").stat().st_size > 10_000 and "report.html" in proc.stdout
