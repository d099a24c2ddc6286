"""Shared test fixtures: where the real third-party data lives, and skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """``$SURFSIGHT_DATA`` or ``../shared/data`` next to the project."""
    return Path(os.environ.get("SURFSIGHT_DATA", ROOT.parent / "shared" / "data"))


TOPOGRAPHY = data_root() / "topography"


@pytest.fixture(scope="session")
def topo() -> Path:
    """Folder of the real instrument files; the test is skipped with a reason if it is missing."""
    if not TOPOGRAPHY.is_dir():
        pytest.skip(f"real topography data not found at {TOPOGRAPHY} (set SURFSIGHT_DATA)")
    return TOPOGRAPHY


def topo_file(relative: str) -> Path:
    """Path to one real file; skips the calling test if absent."""
    path = TOPOGRAPHY / relative
    if not path.exists():
        pytest.skip(f"real data file {path} not found (set SURFSIGHT_DATA)")
    return path
