"""Specifications and decisions: tolerances on parameters, defect acceptance rules, a fatigue
requirement, and ISO 14253-1:2017 decision rules giving conform / nonconform / indeterminate.

* :mod:`.schema` -- the YAML specification (:func:`load_spec`, :class:`Spec`), validated with
  precise errors;
* :mod:`.decision` -- simple and guarded acceptance for one value (:func:`decide`);
* :mod:`.evaluate` -- :func:`evaluate(spec, measurements) <evaluate>` -> :class:`Verdict`.
"""

from __future__ import annotations

from .decision import CONFORM, INDETERMINATE, NONCONFORM, RULES, Check, decide, worst
from .evaluate import Verdict, evaluate
from .schema import DEFECT_KINDS, DefectRule, FailureRule, Filters, ParameterLimit, Spec, known_parameters, load_spec, parse_spec

__all__ = ["CONFORM", "INDETERMINATE", "NONCONFORM", "RULES", "Check", "decide", "worst", "Verdict", "evaluate",
           "DEFECT_KINDS", "DefectRule", "FailureRule", "Filters", "ParameterLimit", "Spec", "known_parameters",
           "load_spec", "parse_spec"]
