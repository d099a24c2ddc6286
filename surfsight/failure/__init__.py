"""Failure risk of an inspected surface: fatigue physics, materials and uncertainty propagation.

* :mod:`.murakami` -- Murakami's sqrt(area) model for the fatigue limit with a small defect,
  projected and effective areas, the interaction rule;
* :mod:`.notch` -- the roughness notch effect: profile valley radii, Arola-Ramulu Kt, Peterson /
  Neuber notch sensitivity, FKM roughness factor;
* :mod:`.materials` -- the material library (``materials.yaml``) and user extensions;
* :mod:`.life` -- the part's fatigue limit, safety factor, Basquin life;
* :mod:`.probability` -- Monte Carlo probability of failure and :func:`assess`, the one-call summary.

All inputs and outputs are SI (metres, pascals, radians); HV is the Vickers number.
"""

from __future__ import annotations

from .life import DefectLimit, FatigueLimit, basquin_life, fatigue_limit, safety_factor
from .materials import MATERIALS, Material, get_material, load_materials, material_names, parse_materials
from .murakami import (LOCATION_CONSTANTS, DefectGeometry, as_geometry, effective_sqrt_area, merge_interacting,
                       murakami_limit, projected_area, projected_extent, stress_ratio_factor)
from .notch import (FKM_ROUGHNESS, ValleyRadii, arola_ramulu_kt, fatigue_notch_factor, fkm_roughness_factor,
                    load_factor, neuber_q, peterson_constant, peterson_q, valley_radii)
from .probability import Assessment, FailureProbability, assess, failure_probability

__all__ = [
    "DefectLimit", "FatigueLimit", "basquin_life", "fatigue_limit", "safety_factor",
    "MATERIALS", "Material", "get_material", "load_materials", "material_names", "parse_materials",
    "LOCATION_CONSTANTS", "DefectGeometry", "as_geometry", "effective_sqrt_area", "merge_interacting",
    "murakami_limit", "projected_area", "projected_extent", "stress_ratio_factor",
    "FKM_ROUGHNESS", "ValleyRadii", "arola_ramulu_kt", "fatigue_notch_factor", "fkm_roughness_factor",
    "load_factor", "neuber_q", "peterson_constant", "peterson_q", "valley_radii",
    "Assessment", "FailureProbability", "assess", "failure_probability",
]
