"""Specification loading: the examples, units, and precise errors."""

from pathlib import Path

import pytest

from surfsight.errors import InputError
from surfsight.spec import load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "specs"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load(path):
    spec = load_spec(path)
    assert spec.name and spec.source == str(path)


def test_ground_shaft_seat_values_in_si():
    spec = load_spec(EXAMPLES / "ground_shaft_seat.yaml")
    assert spec.parameters["Sa"].max == pytest.approx(1.5e-6) and spec.parameters["Sa"].unit == "m"
    assert spec.filters.S == pytest.approx(2.5e-6) and spec.filters.L == pytest.approx(0.8e-3)
    assert spec.defects["scratch"].max_length == pytest.approx(2e-3)
    assert spec.defects["any"].max_count == 3
    assert spec.decision_rule == "guarded" and spec.coverage_factor == 2
    assert spec.failure.stress_amplitude == pytest.approx(250e6) and spec.failure.min_safety_factor == 1.2


def test_yaml_text_and_units():
    spec = load_spec("name: t\nparameters:\n  Sdr: {max: 5%}\n  Vmc(): null\n".replace("  Vmc(): null\n", "")
                     + "  Str: {min: 0.2}\n  Std: {min: 10deg, max: 0.5rad}\n"
                     + "defects:\n  pit: {max_area: 100um2}\n")
    assert spec.parameters["Sdr"].max == 5
    assert spec.parameters["Std"].min == pytest.approx(10 * 3.141592653589793 / 180)
    assert spec.defects["pit"].max_area == pytest.approx(100e-12)


@pytest.mark.parametrize("data,match", [
    ({"name": "x", "parameters": {"Sx": {"max": "1um"}}}, r"unknown parameter 'Sx'; did you mean .*'Sxp'"),
    ({"name": "x", "parameters": {"sa": {"max": "1um"}}}, r"did you mean 'Sa'"),
    ({"name": "x", "parameters": {"Sa": {"max": "2MPa"}}}, r"Sa.max: '2MPa' is a stress but a length \(m\)"),
    ({"name": "x", "parameters": {"Sa": {"max": 1.5}}}, r"has no unit"),
    ({"name": "x", "parameters": {"Ssk": {"max": "1um"}}}, r"Ssk.max: '1um' is a length but a plain number"),
    ({"name": "x", "parameters": {"Sa": {"min": "2um", "max": "1um"}}}, r"min \(2um\) is greater than max"),
    ({"name": "x", "parameters": {"Sa": {"upper": "1um"}}}, r"unknown key"),
    ({"name": "x", "parameters": {"Smr": {"min": 10}}}, r"needs its argument"),
    ({"name": "x", "defects": {"scrach": {"max_depth": "1um"}}}, r"did you mean 'scratch'"),
    ({"name": "x", "defects": {"scratch": {"max_dept": "1um"}}}, r"max_dept: unknown field \(did you mean 'max_depth'"),
    ({"name": "x", "defects": {"pit": {"max_area": "1um"}}}, r"is a length but an area"),
    ({"name": "x", "filters": {"S": "1mm", "L": "0.8mm"}}, r"S .* must be shorter than L"),
    ({"name": "x", "failure": {"material": "42CrMo4", "stress_amplitude": "250MPa"}}, r"steel_42CrMo4_QT"),
    ({"name": "x", "failure": {"material": "steel_42CrMo4_QT", "stress_amplitude": "250um"}},
     r"failure.stress_amplitude: '250um' is a length but a stress"),
    ({"name": "x", "decision_rule": "strict"}, r"decision_rule"),
    ({"name": "x", "paramters": {}}, r"did you mean 'parameters'"),
    ({"parameters": {}}, r"needs a name"),
])
def test_precise_errors(data, match):
    with pytest.raises(InputError, match=match) as info:
        parse_spec(data, "part.yaml")
    assert str(info.value).startswith("part.yaml: ")


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_spec(bad)


def test_material_file_relative_to_spec(tmp_path):
    (tmp_path / "mat.yaml").write_text(
        "materials:\n  shop_steel:\n    group: steel\n    hardness_HV: 250\n    tensile_strength: 800\n"
        "    fatigue_limit: 360\n    basquin: {sigma_f: 1200, b: -0.087}\n    source: shop tests\n")
    (tmp_path / "spec.yaml").write_text("name: t\nfailure: {material: shop_steel, material_file: mat.yaml, "
                                        "stress_amplitude: 100MPa}\n")
    assert load_spec(tmp_path / "spec.yaml").failure.material == "shop_steel"
