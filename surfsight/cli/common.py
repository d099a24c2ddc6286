"""Helpers shared by the command modules: error handling, JSON output, reading inputs."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import typer

from ..errors import SurfsightError


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn surfsight errors into one clear line on stderr and exit status 2 (no traceback)."""
    try:
        yield
    except SurfsightError as exc:
        typer.echo(f"surfsight: error: {exc}", err=True)
        raise typer.Exit(2) from None


def jsonable(value: Any) -> Any:
    """Convert metadata and results into plain JSON types (NaN/inf become null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.size > 64:
            return f"<array shape={list(value.shape)} dtype={value.dtype}>"
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace")
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, ensure_ascii=False) + "\n")
