"""The parameter registry and ``parameters()``: every name computes, names are validated,
intermediates are shared, undefined parameters are reported explicitly."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from surfsight import ParameterError, Profile, Surface
from surfsight.metrology import (DEFAULT_NAMES, FAMILIES, PARAMETERS, Intermediates, ParameterWarning, Sa, Sdr, Sk,
                                 Vmc, parameters, resolve)


@pytest.fixture(scope="module")
def rough():
    rng = np.random.default_rng(7)
    z = gaussian_filter(rng.standard_normal((96, 112)), 2.5) * 1e-6
    return Surface(z, spacing=(0.5e-6, 0.4e-6))


def test_every_entry_is_complete():
    for name, info in PARAMETERS.items():
        assert info.name == name
        assert info.unit and info.family in FAMILIES
        assert info.reference.startswith("ISO") and info.description
        assert callable(info.function)
    assert {"Sa", "Sq", "Sdr", "Sal", "Str", "Std", "Sk", "Vmc", "Spd", "S10z", "Shv"} <= set(PARAMETERS)
    assert PARAMETERS["Sdr"].unit == PARAMETERS["Smr1"].unit == PARAMETERS["Smr2"].unit == "%"
    assert "Smr" not in DEFAULT_NAMES and "Vm" not in DEFAULT_NAMES


def test_every_registered_name_computes(rough):
    names = list(DEFAULT_NAMES) + ["Smr(0.1um)", "Smc(10)", "Vm(10)", "Vv(80)"]
    values = parameters(rough, names)
    assert list(values) == names
    for key, value in values.items():
        assert isinstance(value, float) and math.isfinite(value), key


def test_values_match_single_functions(rough):
    values = parameters(rough, "Sa, Sdr,Sk ,Vmc")
    assert values == {"Sa": Sa(rough), "Sdr": Sdr(rough), "Sk": Sk(rough), "Vmc": Vmc(rough)}


def test_invalid_points_everywhere_the_definition_allows(rough):
    z = rough.heights.copy()
    rng = np.random.default_rng(0)
    z[rng.random(z.shape) < 0.1] = np.nan
    z[40:50, 30:60] = np.nan
    holed = Surface(z, spacing=rough.spacing)
    areal = [n for n in DEFAULT_NAMES if PARAMETERS[n].family != "feature"]
    values = parameters(holed, areal, on_error="raise")
    assert all(math.isfinite(v) for v in values.values())
    # feature area/volume statistics need complete motifs: with 10 % scattered holes there may be
    # none, which is reported, never silently NaN
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        features = parameters(holed, [n for n in DEFAULT_NAMES if n not in areal], on_error="nan")
    undefined = {k for k, v in features.items() if math.isnan(v)}
    reported = {str(w.message).split(":")[0] for w in caught if issubclass(w.category, ParameterWarning)}
    assert undefined == reported


def test_name_validation():
    with pytest.raises(ParameterError, match=r"unknown parameter name\(s\) 'Foo'.*known: Sq"):
        resolve(["Sa", "Foo"])
    with pytest.raises(ParameterError, match="needs its argument"):
        resolve(["Smr"])
    with pytest.raises(ParameterError, match="takes no argument"):
        resolve(["Sa(3)"])
    with pytest.raises(ParameterError, match="argument"):
        resolve(["Smc(ten)"])
    with pytest.raises(ParameterError, match="unknown unit"):
        resolve(["Smr(3parsec)"])
    req = resolve("Sa,Smr(1um),Vm(10%),Sa")
    assert [r.key for r in req] == ["Sa", "Smr(1um)", "Vm(10%)"]
    assert req[1].argument == pytest.approx(1e-6) and req[2].argument == 10.0


def test_intermediates_shared_and_explicit(rough):
    inter = Intermediates(rough)
    parameters(rough, ["Sk", "Vmc", "Sa"], intermediates=inter)
    assert set(inter.built) == {"values", "moments", "curve", "core"}
    curve = inter.get("curve")
    parameters(rough, ["Spk", "Sxp"], intermediates=inter)
    assert inter.get("curve") is curve
    with pytest.raises(ParameterError, match="another surface"):
        parameters(rough.copy(), ["Sa"], intermediates=inter)
    with pytest.raises(ParameterError, match="unknown intermediate"):
        inter.get("wavelets")


def test_undefined_parameter_raise_or_nan():
    x = np.arange(128)
    lay = Surface(np.tile(1e-6 * np.sin(2 * np.pi * x / 16), (64, 1)), spacing=1e-6)
    with pytest.raises(ParameterError, match="Str"):
        parameters(lay, ["Sa", "Str"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = parameters(lay, ["Sa", "Str"], on_error="nan")
    assert math.isnan(values["Str"]) and math.isfinite(values["Sa"])
    assert any(issubclass(w.category, ParameterWarning) and "Str" in str(w.message) for w in caught)
    with pytest.raises(ParameterError, match="on_error"):
        parameters(lay, ["Sa"], on_error="ignore")


def test_profile_is_refused():
    with pytest.raises(ParameterError, match="profile_parameters"):
        parameters(Profile(np.arange(10.0) * 1e-6, dx=1e-6), ["Sa"])


def test_package_namespace_has_no_clashes():
    """``from surfsight.metrology import *`` gives each public name of the sub-modules once, and the
    package attribute is the very object its defining module exports (no areal/profile shadowing)."""
    import importlib
    import types

    import surfsight.metrology as metrology

    namespace: dict = {}
    exec("from surfsight.metrology import *", namespace)
    exported = set(namespace) - {"__builtins__"}
    assert exported == set(metrology.__all__)
    assert len(metrology.__all__) == len(set(metrology.__all__))
    modules = ("areal", "registry", "height", "hybrid", "spatial", "psd", "material_ratio", "segmentation",
               "features", "prepare", "filters", "nesting", "profile")
    owners: dict[str, object] = {}
    for name in modules:
        module = importlib.import_module(f"surfsight.metrology.{name}")
        assert isinstance(getattr(metrology, name), types.ModuleType)  # a sub-module stays a sub-module
        assert name not in metrology.__all__
        for public in module.__all__:
            assert public in metrology.__all__, (name, public)
            obj = getattr(module, public)
            if public in owners:
                assert owners[public] is obj, f"{public} means two things ({name})"
            owners[public] = obj
            assert getattr(metrology, public) is obj, (name, public)
    # the areal material ratio curve takes a Surface; the profile ones have their own names
    assert metrology.material_ratio_curve is metrology.material_ratio.material_ratio_curve
    assert metrology.profile_material_ratio_curve is metrology.profile.profile_material_ratio_curve


def test_overlapped_feature_segmentation_gives_the_same_values():
    """On large surfaces the feature segmentation runs in a background thread; the values and
    their order must not depend on it."""
    import numpy as np

    from surfsight import Surface
    from surfsight.metrology import DEFAULT_NAMES, areal, parameters

    rng = np.random.default_rng(3)
    z = rng.standard_normal((300, 300)).cumsum(axis=0).cumsum(axis=1) * 1e-9
    z[40:60, 100:130] = np.nan
    s = Surface(z, 1e-6)
    names = ["Spd", *[n for n in DEFAULT_NAMES if n != "Spd"]]
    overlapped = parameters(s, names, on_error="nan")
    saved = areal._OVERLAP_MIN_POINTS
    areal._OVERLAP_MIN_POINTS = 10**12
    try:
        serial = parameters(s, names, on_error="nan")
    finally:
        areal._OVERLAP_MIN_POINTS = saved
    assert list(overlapped) == names == list(serial)
    np.testing.assert_array_equal(np.array(list(overlapped.values())), np.array(list(serial.values())))
