"""A mixed batch for the inspection tests: a real scan, good and deeply scratched simulated parts
(written as x3p), random bytes and a truncated real file."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import topo_file

#: Limits chosen so that the outcome of each simulated part is known: the texture of the ground
#: preset (Sq about 1.2 um here) stays far inside them; a 12 um deep scratch breaks max_depth.
SPEC = """\
name: test ground seat
parameters:
  Sa: {max: 3um}
  Sq: {max: 4um}
defects:
  any: {max_depth: 6um, max_count: 3}
decision_rule: guarded
failure: {material: steel_42CrMo4_QT, stress_amplitude: 250MPa, min_safety_factor: 1.2}
"""


def simulated(path: Path, scratched: bool, seed: int = 3) -> Path:
    from surfsight import io
    from surfsight.synth import sample

    kw = dict(defect_depth=12e-6, defect_width=40e-6, defect_length=200e-6) if scratched else {}
    part = sample("ground", size=256, seed=seed, defects=["scratch"] if scratched else [], instrument="csi", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # x3p cannot hold the intensity layer
        io.write(part.measured, path)
    return path


@pytest.fixture(scope="session")
def mixed_batch(tmp_path_factory) -> dict[str, Path]:
    real = topo_file("surfacetopography_examples/x3p-2.x3p")
    folder = tmp_path_factory.mktemp("batch")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    (folder / "parts").mkdir()
    files = {
        "real": real,
        "good": simulated(folder / "parts" / "good.x3p", False),
        "scratched": simulated(folder / "parts" / "scratched.x3p", True),
    }
    (folder / "parts" / "random.x3p").write_bytes(np.random.default_rng(0).bytes(4096))
    data = real.read_bytes()
    (folder / "parts" / "truncated.x3p").write_bytes(data[: len(data) // 3])
    files.update(random=folder / "parts" / "random.x3p", truncated=folder / "parts" / "truncated.x3p",
                 folder=folder / "parts", spec=spec, root=folder)
    return files
