"""Built-in example data for the demo and the docs: a small batch of simulated parts, seeded and
made on the fly by :mod:`surfsight.synth` (nothing is downloaded)."""

from __future__ import annotations

#: The demo's specification (the schema of :mod:`surfsight.spec`): the ground texture stays far
#: inside the roughness limits, a 12 µm deep scratch breaks the defect depth limit.
DEMO_SPEC = {
    "name": "demo ground seat",
    "parameters": {"Sa": {"max": "3um"}, "Sq": {"max": "4um"}},
    "defects": {"any": {"max_depth": "6um", "max_count": 3}},
    "decision_rule": "guarded",
    "failure": {"material": "steel_42CrMo4_QT", "stress_amplitude": "250MPa", "min_safety_factor": 1.2},
}

#: (name, defects, seed) of the demo batch: good parts and parts with a deep scratch.
DEMO_PARTS = (("part-01-good", False, 3), ("part-02-good", False, 5), ("part-03-scratched", True, 3),
              ("part-04-good", False, 7), ("part-05-scratched", True, 1), ("part-06-good", False, 11))


def demo_parts(folder, size: int = 256) -> list:
    """Write the demo batch as x3p files into ``folder`` (simulated ground parts measured by a
    coherence-scanning interferometer; the scratched ones carry a 12 µm deep, 40 µm wide scratch)
    and return their paths."""
    import warnings
    from pathlib import Path

    from . import io
    from .synth import sample

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, scratched, seed in DEMO_PARTS:
        geometry = dict(defect_depth=12e-6, defect_width=40e-6, defect_length=200e-6) if scratched else {}
        part = sample("ground", size=size, seed=seed, defects=["scratch"] if scratched else [], instrument="csi",
                      **geometry)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # x3p has no place for the simulated camera image
            paths.append(io.write(part.measured, folder / f"{name}.x3p"))
    return paths
