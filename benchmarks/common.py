"""Shared helpers for the benchmarks: timing, result files, data location."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SURFSIGHT_DATA", ROOT.parent / "shared" / "data"))
RESULTS = Path(__file__).resolve().parent / "results"


def best_time(function: Callable[[], Any], repeat: int = 5, budget_s: float = 20.0) -> float:
    """Median wall time of ``repeat`` calls (fewer if one call already takes ``budget_s / repeat``)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
        if sum(times) > budget_s:
            break
    return statistics.median(times)


def min_time(function: Callable[[], Any], repeat: int) -> float:
    """Best (smallest) wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def save(name: str, payload: dict[str, Any], path: str | os.PathLike | None = None) -> Path:
    """Write ``payload`` with the machine's description to ``results/<name>.json`` (or to ``path``),
    atomically."""
    path = Path(path) if path is not None else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
    tmp.replace(path)
    return path
