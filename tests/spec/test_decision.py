"""ISO 14253-1 decision rules: closed cases and the invariants as property tests."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surfsight.errors import InputError
from surfsight.spec import CONFORM, INDETERMINATE, NONCONFORM, decide, worst

RANK = {CONFORM: 0, INDETERMINATE: 1, NONCONFORM: 2}
finite = st.floats(-1e3, 1e3, allow_nan=False)
uncert = st.floats(0, 50, allow_nan=False)


def test_simple_and_guarded_cases():
    assert decide("Sa", 1.0, 0.2, upper=1.5).status == CONFORM
    assert decide("Sa", 1.4, 0.2, upper=1.5).status == CONFORM                     # simple: value alone
    assert decide("Sa", 1.4, 0.2, upper=1.5, rule="guarded").status == INDETERMINATE
    assert decide("Sa", 1.2, 0.2, upper=1.5, rule="guarded").status == CONFORM
    assert decide("Sa", 1.6, 0.2, upper=1.5, rule="guarded").status == INDETERMINATE
    assert decide("Sa", 1.8, 0.2, upper=1.5, rule="guarded").status == NONCONFORM
    assert decide("Sa", 1.5, 0.0, upper=1.5).status == CONFORM                     # limits belong to the zone
    assert decide("Sa", 0.5, 0.1, lower=1.0, upper=2.0).status == NONCONFORM
    # a zone narrower than 2U can never be accepted under the guarded rule
    assert decide("x", 1.5, 1.0, lower=1.0, upper=2.0, rule="guarded").status == INDETERMINATE
    assert decide("Sa", None, 0.1, upper=1.5).status == INDETERMINATE


def test_reason_carries_the_numbers():
    c = decide("Sa", 1.4e-6, 0.2e-6, upper=1.5e-6, rule="guarded", unit="m")
    assert (c.value, c.U, c.upper, c.rule) == (1.4e-6, 0.2e-6, 1.5e-6, "guarded")
    assert "Sa" in c.message and "guarded" in c.message and "1.4 µm" in c.message


def test_bad_arguments():
    with pytest.raises(InputError):
        decide("x", 1.0, -0.1, upper=2.0)
    with pytest.raises(InputError):
        decide("x", 1.0, 0.1, lower=3.0, upper=2.0)
    with pytest.raises(InputError):
        decide("x", 1.0, 0.1, upper=2.0, rule="lenient")


def test_worst():
    assert worst([]) == CONFORM
    assert worst([CONFORM, INDETERMINATE]) == INDETERMINATE
    assert worst([INDETERMINATE, NONCONFORM, CONFORM]) == NONCONFORM


@given(finite, uncert, finite, st.floats(0, 100), st.sampled_from(["simple", "guarded"]))
def test_farther_inside_never_worse_upper_limit(limit, U, value, shift, rule):
    # moving the value away from an upper limit (downwards) never worsens the verdict
    a = decide("x", value, U, upper=limit, rule=rule)
    b = decide("x", value - shift, U, upper=limit, rule=rule)
    assert RANK[b.status] <= RANK[a.status]


@given(finite, st.floats(0, 100), uncert, finite, st.sampled_from(["simple", "guarded"]))
def test_farther_inside_never_worse_two_sided(lower, width, U, value, rule):
    upper = lower + width
    middle = (lower + upper) / 2
    closer = middle + (value - middle) * 0.5      # halfway towards the middle of the zone
    a = decide("x", value, U, lower=lower, upper=upper, rule=rule)
    b = decide("x", closer, U, lower=lower, upper=upper, rule=rule)
    assert RANK[b.status] <= RANK[a.status]


@given(finite, st.floats(0, 100), uncert, finite)
def test_guarded_never_accepts_what_simple_rejects(lower, width, U, value):
    simple = decide("x", value, U, lower=lower, upper=lower + width, rule="simple")
    guarded = decide("x", value, U, lower=lower, upper=lower + width, rule="guarded")
    if simple.status == NONCONFORM:
        assert guarded.status != CONFORM
    if guarded.status == CONFORM:
        assert simple.status == CONFORM
    if guarded.status == NONCONFORM:
        assert simple.status == NONCONFORM


@given(st.one_of(st.none(), finite), st.one_of(st.none(), st.floats(0, 100)), finite)
def test_zero_uncertainty_makes_guarded_simple(lower, width, value):
    upper = None if width is None or lower is None else lower + width
    simple = decide("x", value, 0.0, lower=lower, upper=upper, rule="simple")
    guarded = decide("x", value, 0.0, lower=lower, upper=upper, rule="guarded")
    assert simple.status == guarded.status

