"""Surface metrology: ISO 25178-2 areal and ISO 21920-2 profile parameters, filters, levelling.

Everything public of the sub-modules is re-exported here:

* :mod:`.areal` -- :func:`parameters`, the entry point for areal parameter sets;
* :mod:`.registry` -- :data:`PARAMETERS` (name, unit, family, reference, description, function);
* :mod:`.height`, :mod:`.hybrid`, :mod:`.spatial`, :mod:`.psd`, :mod:`.material_ratio` -- the areal
  parameter functions by ISO symbol and their intermediates (ACF, PSD, material ratio curve);
* :mod:`.features`, :mod:`.segmentation` -- feature parameters (watershed segmentation, Wolf pruning);
* :mod:`.prepare`, :mod:`.filters`, :mod:`.nesting` -- levelling, form removal, ISO 16610 filters;
* :mod:`.profile` -- ISO 21920-2 profile parameters.

Name clashes with :mod:`.profile`: ``material_ratio_curve`` here is the areal one
(:func:`surfsight.metrology.material_ratio.material_ratio_curve`, taking a Surface; the profile one is
:func:`surfsight.metrology.profile.material_ratio_curve`), and ``material_ratio`` here is the
:mod:`.material_ratio` module (the profile function is :func:`surfsight.metrology.profile.material_ratio`).
"""

from __future__ import annotations

from . import (areal, features, filters, height, hybrid, material_ratio, nesting, prepare, profile, psd, registry,
               segmentation, spatial)
from .features import *  # noqa: F401,F403
from .filters import *  # noqa: F401,F403
from .nesting import *  # noqa: F401,F403
from .prepare import *  # noqa: F401,F403
from .profile import *  # noqa: F401,F403
from .segmentation import *  # noqa: F401,F403
# The areal modules come last so that their names win where a profile function has the same name.
from .areal import *  # noqa: F401,F403,E402
from .height import *  # noqa: F401,F403,E402
from .hybrid import *  # noqa: F401,F403,E402
from .material_ratio import *  # noqa: F401,F403,E402
from .psd import *  # noqa: F401,F403,E402
from .registry import *  # noqa: F401,F403,E402
from .spatial import *  # noqa: F401,F403,E402

import importlib as _importlib  # noqa: E402

_MODULES = ("areal", "registry", "height", "hybrid", "spatial", "psd", "material_ratio", "features",
            "segmentation", "prepare", "filters", "nesting", "profile")
# A sub-module name stays the sub-module (profile.py exports a function called material_ratio).
material_ratio = _importlib.import_module(f"{__name__}.material_ratio")
__all__ = list(dict.fromkeys(
    name
    for _module in _MODULES
    for name in _importlib.import_module(f"{__name__}.{_module}").__all__
    if name not in _MODULES
))
