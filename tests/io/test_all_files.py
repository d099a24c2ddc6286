"""Every real instrument file in the shared data opens (or, for the metadata-only .plux, is
refused with a clear message), and every gridded result obeys the data-model conventions."""

from __future__ import annotations

import re

import numpy as np
import pytest

import surfsight
from surfsight import FormatError, PointCloud, Profile, Surface
from surfsight.summary import rms_height
from tests.conftest import TOPOGRAPHY

#: Files that are not measurement data: licences, manifests, settings, schemas, read-me texts.
NOT_DATA = re.compile(r"MANIFEST|LICENSE|COPYING|README|DESCRIPTION|\.md$|\.toml$|\.tx3$|[Ll]icen[cs]e|"
                      r"ExamplesReadMe|fdam1\.xml$")
#: Files that hold no heights and must be refused.
NO_HEIGHTS = {"x3ptools/test_metadata_only.plux"}


def data_files() -> list[str]:
    if not TOPOGRAPHY.is_dir():
        return []
    return sorted(str(p.relative_to(TOPOGRAPHY)) for p in TOPOGRAPHY.rglob("*")
                  if p.is_file() and not NOT_DATA.search(str(p.relative_to(TOPOGRAPHY))))


FILES = data_files()


def test_the_data_is_there(topo):
    assert len(FILES) >= 80, f"expected the shared topography data, found {len(FILES)} files"


@pytest.mark.parametrize("relative", [f for f in FILES if f not in NO_HEIGHTS])
def test_every_real_file_opens(relative):
    obj = surfsight.read(TOPOGRAPHY / relative)
    assert isinstance(obj, (Surface, Profile, PointCloud))
    assert obj.metadata["format"] and obj.metadata["source_file"].endswith(relative.split("/")[-1])
    assert obj.heights.dtype == np.float64
    assert not np.isinf(obj.heights).any()
    if not isinstance(obj, PointCloud):
        assert all(s > 0 for s in obj.spacing)
        assert obj.invalid_fraction < 1.0
        rms = rms_height(obj)
        assert np.isfinite(rms) and 0 <= rms < 1.0, f"rms height {rms} m is not plausible"


@pytest.mark.parametrize("relative", sorted(NO_HEIGHTS))
def test_metadata_only_plux_is_refused_clearly(topo, relative):
    with pytest.raises(FormatError, match=r"test_metadata_only\.plux: .*(no|not).*height"):
        surfsight.read(TOPOGRAPHY / relative)
