"""TrueMap / GelSight TMD reader: the real file (values in mm, returned in m), synthetic files,
bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError
from surfsight.io import tmd
from tests.conftest import topo_file

REAL = "surfacetopography_examples/tmd-1.tmd"
IDENT = b"Binary TrueMap Data File v2.0\r\n\0"


def rms(heights: np.ndarray) -> float:
    valid = heights[~np.isnan(heights)]
    return float(np.sqrt(np.mean((valid - valid.mean()) ** 2)))


def test_tmd_reproduces_reference_values_in_metres():
    s = tmd.read_tmd(topo_file(REAL))
    assert s.shape == (300, 300)
    ly, lx = s.size_m
    assert lx == pytest.approx(18.9566e-3, rel=1e-6) and ly == pytest.approx(18.9566e-3, rel=1e-6)
    assert rms(s.heights) == pytest.approx(0.0743413e-3, rel=1e-6)  # 0.0743413 mm
    assert s.metadata["original_units"] == "mm"
    assert s.metadata["software"] == "Created by TrueMap v6"
    assert not s.has_invalid


def tmd_bytes(heights_mm: np.ndarray, *, comment: bytes = b"Created by TrueMap v6\r\n", length=(2.0, 1.0),
              offset=(0.5, -0.25), claim: tuple[int, int] | None = None, ident: bytes = IDENT) -> bytes:
    rows, cols = heights_mm.shape if claim is None else claim
    return (ident + comment + b"\0" + struct.pack("<II4f", cols, rows, *length, *offset)
            + heights_mm.astype("<f4").tobytes())


@pytest.mark.parametrize("comment", [b"Created by TrueMap v6\r\n", b"", b"GelSight"])
def test_tmd_synthetic_mm_to_metres(tmp_path, comment):
    z = np.array([[0.0, 0.5, -1.25], [np.nan, 2.0, np.inf]], dtype=np.float32)
    path = tmp_path / "synthetic.tmd"
    path.write_bytes(tmd_bytes(z, comment=comment, length=(3.0, 1.0)))
    s = tmd.read_tmd(path)
    expected = z.astype(np.float64) * 1e-3
    expected[1, 2] = np.nan  # infinities are not heights
    np.testing.assert_array_equal(s.heights, expected)
    assert s.spacing == (pytest.approx(0.5e-3), pytest.approx(1e-3))  # 1 mm / 2 rows, 3 mm / 3 cols
    assert s.metadata["offset_m"] == (pytest.approx(-0.25e-3), pytest.approx(0.5e-3))


def test_tmd_refuses_other_versions_and_broken_headers(tmp_path):
    path = tmp_path / "v3.tmd"
    path.write_bytes(tmd_bytes(np.zeros((2, 2)), ident=b"Binary TrueMap Data File v3.0\r\n\0"))
    with pytest.raises(FormatError, match=r"v3.tmd: .*version b'3.0' is not supported"):
        tmd.read_tmd(path)
    path = tmp_path / "nonul.tmd"
    path.write_bytes(IDENT + b"x" * 5000)
    with pytest.raises(FormatError, match="nonul.tmd: comment is longer"):
        tmd.read_tmd(path)
    path = tmp_path / "zero.tmd"
    path.write_bytes(tmd_bytes(np.zeros((2, 2)), length=(0.0, 1.0)))
    with pytest.raises(FormatError, match="zero.tmd: x length 0.0 mm"):
        tmd.read_tmd(path)


@pytest.mark.parametrize("fraction", [0.00005, 0.0002, 0.3, 0.9, 0.9999])
def test_tmd_truncated_real_file(tmp_path, fraction):
    data = topo_file(REAL).read_bytes()
    path = tmp_path / "cut.tmd"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(FormatError, match="cut.tmd"):
        tmd.read_tmd(path)


def test_tmd_huge_claim_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.tmd"
    path.write_bytes(tmd_bytes(np.zeros((1, 4)), claim=(1_000_000, 1_000_000)))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"huge.tmd: heights: .*1e\+12 points"):
            tmd.read_tmd(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=3000))
def test_tmd_magic_then_random_bytes(tmp_path, tail):
    path = tmp_path / "garbage.tmd"
    path.write_bytes(tmd.MAGIC + tail)
    with pytest.raises(FormatError, match="garbage.tmd"):
        tmd.read_tmd(path)
