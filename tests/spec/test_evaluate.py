"""evaluate(spec, measurements): verdicts with reasons, defects, failure, missing data."""

from pathlib import Path

import pytest

from surfsight.errors import InputError
from surfsight.failure import assess
from surfsight.spec import evaluate, load_spec

SEAT = load_spec(Path(__file__).resolve().parents[2] / "examples" / "specs" / "ground_shaft_seat.yaml")


def _good():
    return {"parameters": {"Sa": {"value": 1.0e-6, "u": 0.05e-6}, "Sq": {"value": 1.3e-6, "u": 0.05e-6},
                           "Sdr": {"value": 2.0, "u": 0.2}},
            "defects": [{"kind": "scratch", "depth_m": 0.4e-6, "length_m": 0.5e-3, "u_depth_m": 0.05e-6}],
            "failure": {"safety_factor": {"value": 1.8, "u": 0.1, "interval": [1.6, 2.0]}}}


def test_conforming_part():
    v = evaluate(SEAT, _good())
    assert v.status == "conform", str(v)
    names = [c.check for c in v.reasons]
    assert names[:3] == ["Sa", "Sq", "Sdr"] and "any count" in names and "safety factor" in names
    assert all(c.rule == "guarded" for c in v.reasons)


def test_guarded_indeterminate_near_the_limit_and_nonconform_far():
    m = _good()
    m["parameters"]["Sa"] = {"value": 1.45e-6, "u": 0.05e-6}       # U = 0.1 um: within U of 1.5 um
    v = evaluate(SEAT, m)
    assert v.status == "indeterminate" and [c.check for c in v.deciding] == ["Sa"]
    m["parameters"]["Sa"] = {"value": 1.7e-6, "u": 0.05e-6}
    assert evaluate(SEAT, m).status == "nonconform"
    m["parameters"]["Sa"] = {"value": 1.45e-6, "U": 0.0}            # expanded U given directly
    assert evaluate(SEAT, m).status == "conform"


def test_defect_rules():
    m = _good()
    m["defects"].append({"kind": "scratch", "depth_m": 1.5e-6, "length_m": 0.2e-3})
    v = evaluate(SEAT, m)
    assert v.status == "nonconform" and v.deciding[0].check == "defect 1 (scratch) depth"
    m = _good()
    m["defects"] = [{"kind": "pit", "depth_m": 3e-6}] * 4                 # pits have no size limit, but any count <= 3
    v = evaluate(SEAT, m)
    assert v.status == "nonconform" and v.deciding[0].check == "any count"
    m = _good()
    del m["defects"]
    assert evaluate(SEAT, m).status == "indeterminate"                    # no inspection: cannot accept
    m["defects"] = []
    assert evaluate(SEAT, m).status == "conform"


def test_failure_rule_interval():
    m = _good()
    m["failure"]["safety_factor"] = {"value": 1.25, "u": 0.1, "interval": [1.05, 1.45]}
    assert evaluate(SEAT, m).status == "indeterminate"
    m["failure"]["safety_factor"] = {"value": 1.0, "u": 0.05, "interval": [0.9, 1.1]}
    assert evaluate(SEAT, m).status == "nonconform"
    del m["failure"]
    assert evaluate(SEAT, m).status == "indeterminate"


def test_with_the_failure_module():
    m = _good()
    m["failure"] = assess("steel_42CrMo4_QT", 250e6, samples=2000).as_measurement()
    assert evaluate(SEAT, m).status == "conform"
    m["failure"] = assess("steel_42CrMo4_QT", 450e6, samples=2000).as_measurement()    # S = 1.1 < 1.2
    assert evaluate(SEAT, m).status in ("nonconform", "indeterminate")
    assert "safety factor" in [c.check for c in evaluate(SEAT, m).deciding]


def test_simple_rule_and_missing_parameter():
    spec = load_spec({"name": "t", "parameters": {"Ra": {"max": "0.8um"}, "Rz": {"max": "6.3um"}},
                      "decision_rule": "simple"})
    v = evaluate(spec, {"parameters": {"Ra": {"value": 0.79e-6, "u": 0.1e-6}}})
    assert v.reasons[0].status == "conform" and v.reasons[1].status == "indeterminate"
    assert v.status == "indeterminate" and "not measured" in v.reasons[1].message
    assert "INDETERMINATE" in str(v)
    assert v.as_dict()["reasons"][0]["value"] == 0.79e-6


def test_bad_measurements():
    with pytest.raises(InputError):
        evaluate(SEAT, [1, 2])
    with pytest.raises(InputError, match="Sa.value"):
        evaluate(SEAT, {"parameters": {"Sa": {"value": "big"}}})
    with pytest.raises(InputError, match="NaN"):
        evaluate(SEAT, {"parameters": {"Sa": float("nan")}})
