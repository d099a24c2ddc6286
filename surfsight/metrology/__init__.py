"""Surface metrology: ISO 25178-2 areal and ISO 21920-2 profile parameters, filters, levelling.

The public names of the sub-modules are re-exported here, each imported by name:

* :mod:`.areal` -- :func:`parameters`, the entry point for areal parameter sets, and
  :class:`Intermediates` (the shared intermediate results of one surface);
* :mod:`.registry` -- :data:`PARAMETERS` (ISO symbol -> unit, family, reference, description, function);
* :mod:`.height`, :mod:`.hybrid`, :mod:`.spatial`, :mod:`.psd`, :mod:`.material_ratio` -- the areal
  parameter functions by ISO symbol and their intermediates (ACF, PSD and angular spectrum, areal
  material ratio curve :func:`material_ratio_curve`);
* :mod:`.segmentation`, :mod:`.features` -- feature parameters (watershed segmentation, Wolf pruning);
* :mod:`.prepare`, :mod:`.filters`, :mod:`.nesting` -- levelling, form removal, ISO 16610 filters,
  cut-offs and nesting indices;
* :mod:`.profile` -- ISO 21920-2 profile parameters (:func:`profile_parameters`) and their registry
  :data:`PROFILE_PARAMETERS`.

Areal and profile functions do not share names: the profile material ratio functions are
:func:`profile_material_ratio`, :func:`profile_material_ratio_height` and
:func:`profile_material_ratio_curve` (arrays of heights, per cent), while :func:`material_ratio_curve`
is the areal curve of a :class:`~surfsight.surface.Surface`. The sub-modules themselves stay
reachable as attributes (``surfsight.metrology.material_ratio`` is the module); ``from
surfsight.metrology import *`` gives exactly the names of :data:`__all__`, which
``tests/metrology/test_registry.py`` checks for clashes.
"""

from __future__ import annotations

from . import (areal, features, filters, height, hybrid, material_ratio, nesting, prepare, profile, psd,
               registry, segmentation, spatial)
from .areal import Intermediates, ParameterWarning, parameters
from .features import (FEATURE_PARAMETERS, FEATURE_UNITS, S5p, S5v, S10z, Sda, Sdv, Sha, Shv, Spc, Spd,
                       feature_parameters)
from .filters import (ALPHA, GAMMA_REGRESSION2, gaussian_mean_surface, gaussian_regression_profile,
                      gaussian_transmission, gaussian_weights, l_filter, profile_filters, profile_gaussian,
                      robust_gaussian_filter, robust_gaussian_profile, s_filter)
from .height import HeightMoments, Sa, Sku, Sp, Sq, Ssk, Sv, Sz, centred_heights, height_moments, height_parameters
from .hybrid import Gradients, SlopeDistribution, SlopeSums, Sdq, Sdr, gradients, slope_distribution, slope_sums
from .material_ratio import (CoreLine, MaterialRatioCurve, Sk, Smc, Smr, Smr1, Smr2, Spk, Spkx, Svk, Svkx, Sxp, Vm,
                             Vmc, Vmp, Vv, Vvc, Vvv, core_line, functional_parameters, material_ratio_curve)
from .nesting import (AREAL_S_NESTING, ISO4288_RA_RANGES, ISO4288_RZ_RANGES,
                      ISO21920_RA_RANGES, ISO21920_RZ_RANGES, PREFERRED_NESTING_INDICES, PROFILE_CUTOFFS, RSM_RANGES,
                      CutoffChoice, ProfileNesting, areal_nesting_for_s, cutoff_from_ra, cutoff_from_rsm,
                      cutoff_from_rz, default_profile_cutoff, nesting_for_cutoff)
from .prepare import (fill_invalid, level_line, level_plane, level_polynomial, polynomial_form, remove_form,
                      remove_outliers)
from .profile import (PROFILE_PARAMETER_NAMES, PROFILE_PARAMETERS, ProfileParameterInfo, amplitude_parameters,
                      mean_width, profile_material_ratio, profile_material_ratio_curve, profile_material_ratio_height,
                      profile_parameters, rk_parameters, rms_slope, row_profile_parameters, section_heights,
                      slope_7point)
from .psd import WORKERS, Spectrum, angular_spectrum, psd_2d, psd_radial
from .registry import DEFAULT_NAMES, FAMILIES, PARAMETERS, ParameterInfo, ParameterRequest, resolve
from .segmentation import DEFAULT_PRUNING, FeatureSegmentation, Motifs, feature_segmentation, segment
from .spatial import ACF, STD_SMOOTHING, Decay, Sal, Ssw, Std, Str, autocorrelation, decay, decay_lengths

__all__ = [
    # areal
    "Intermediates", "parameters", "ParameterWarning",
    # registry
    "ParameterInfo", "PARAMETERS", "DEFAULT_NAMES", "FAMILIES", "resolve", "ParameterRequest",
    # height
    "centred_heights", "HeightMoments", "height_moments", "height_parameters", "Sq", "Ssk", "Sku", "Sp", "Sv",
    "Sz", "Sa",
    # hybrid
    "Gradients", "gradients", "SlopeSums", "slope_sums", "Sdq", "Sdr", "SlopeDistribution", "slope_distribution",
    # spatial
    "ACF", "Decay", "autocorrelation", "decay", "decay_lengths", "Sal", "Str", "Std", "Ssw", "STD_SMOOTHING",
    # psd
    "Spectrum", "psd_2d", "psd_radial", "angular_spectrum", "WORKERS",
    # material_ratio (areal)
    "MaterialRatioCurve", "CoreLine", "material_ratio_curve", "core_line", "Smr", "Smc", "Sxp", "Sk", "Spk",
    "Svk", "Smr1", "Smr2", "Spkx", "Svkx", "Vm", "Vv", "Vmp", "Vmc", "Vvc", "Vvv", "functional_parameters",
    # segmentation
    "Motifs", "FeatureSegmentation", "segment", "feature_segmentation", "DEFAULT_PRUNING",
    # features
    "Spd", "Spc", "S10z", "S5p", "S5v", "Sda", "Sha", "Sdv", "Shv", "feature_parameters", "FEATURE_PARAMETERS",
    "FEATURE_UNITS",
    # prepare
    "level_plane", "level_line", "level_polynomial", "remove_form", "remove_outliers", "fill_invalid",
    "polynomial_form",
    # filters
    "ALPHA", "GAMMA_REGRESSION2", "gaussian_weights", "gaussian_mean_surface", "s_filter", "l_filter",
    "profile_gaussian", "profile_filters", "gaussian_regression_profile", "robust_gaussian_profile",
    "robust_gaussian_filter", "gaussian_transmission",
    # nesting
    "PROFILE_CUTOFFS", "ProfileNesting", "CutoffChoice", "ISO21920_RA_RANGES", "ISO21920_RZ_RANGES",
    "ISO4288_RA_RANGES", "ISO4288_RZ_RANGES", "RSM_RANGES", "AREAL_S_NESTING",
    "PREFERRED_NESTING_INDICES", "nesting_for_cutoff", "cutoff_from_ra", "cutoff_from_rz", "cutoff_from_rsm",
    "default_profile_cutoff", "areal_nesting_for_s",
    # profile
    "PROFILE_PARAMETER_NAMES", "PROFILE_PARAMETERS", "ProfileParameterInfo", "profile_parameters",
    "row_profile_parameters", "amplitude_parameters", "section_heights", "mean_width", "slope_7point",
    "rms_slope", "profile_material_ratio", "profile_material_ratio_height", "profile_material_ratio_curve",
    "rk_parameters",
]
