"""The main job: inspect parts against a specification.

* :mod:`.pipeline` -- one part: read, prepare (level, S/L filters), model (defects, estimates),
  measure (ISO parameters with defects excluded, with uncertainties), failure risk, verdict;
* :mod:`.model_step` -- the adapter to the learnt model, and the rule-based detector used without it;
* :mod:`.batch` -- many inputs, worker processes, results written as parts finish, ``resume``;
* :mod:`.results` -- the row schema of ``results.jsonl``.
"""

from __future__ import annotations

from .batch import BatchResult, expand_inputs, exit_status, read_results, run_batch
from .model_step import Detection, detect, rule_based_detection
from .pipeline import Inspection, inspect_file, inspect_surface, prepare
from .results import ROW_KEYS, validate_row

__all__ = ["BatchResult", "expand_inputs", "exit_status", "read_results", "run_batch", "Detection", "detect",
           "rule_based_detection", "Inspection", "inspect_file", "inspect_surface", "prepare", "ROW_KEYS",
           "validate_row"]
