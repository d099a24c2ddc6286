"""Surface Data File (BCR / ISO 25178-71) reader and writer: the real ISO example, every data
type of the binary variant, round trips (hypothesis) of both variants, bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from surfsight.errors import FormatError
from surfsight.io import sdf
from surfsight.surface import Profile, Surface
from tests.conftest import topo_file

REAL = "surfacetopography_examples/sdf-1.sdf"


def rms(heights: np.ndarray) -> float:
    valid = heights[~np.isnan(heights)]
    return float(np.sqrt(np.mean((valid - valid.mean()) ** 2)))


def test_sdf_reproduces_reference_values():
    s = sdf.read_sdf(topo_file(REAL))
    assert s.shape == (4, 7)  # NumProfiles = 4 rows of NumPoints = 7; reference (nx, ny) = (7, 4)
    ly, lx = s.size_m
    assert lx == pytest.approx(7.0e-6, rel=1e-6) and ly == pytest.approx(4.0e-6, rel=1e-6)
    assert rms(s.heights) == pytest.approx(0.0136029e-6, rel=1e-6)
    assert s.heights[0, 0] == pytest.approx(1e-6) and s.heights[3, 5] == pytest.approx(0.94907e-6)
    assert s.metadata["sdf_version"] == "aISO-1.0"
    assert s.metadata["date"] == "2010-01-04T08:53:00"
    assert "S2 Softgauges Example" in s.metadata["trailer"]


HEADER = ("ManufacID = test\nCreateDate = 010120200000\nModDate = 010120200000\nNumPoints = {cols}\n"
          "NumProfiles = {rows}\nXscale = 2.0E-6\nYscale = 1.0E-6\nZscale = {z}\nZresolution = -1\n"
          "Compression = 0\nDataType = {dtype}\nCheckType = 0\n*\n")


def binary_sdf(values: np.ndarray, dtype_code: int, *, zscale: float = 1e-9, version: bytes = b"bBCR-1.0",
               claim: tuple[int, int] | None = None, compression: int = 0, tail: bytes = b"") -> bytes:
    rows, cols = values.shape if claim is None else claim
    header = struct.pack("<8s10s12s12sHHddddbbb", version, b"test", b"010120200000", b"010120200000", cols, rows,
                         2e-6, 1e-6, zscale, 1e-10, compression, dtype_code, 0)
    return header + values.astype(sdf.DTYPES[dtype_code]).tobytes() + tail


@pytest.mark.parametrize(("code", "marker"), [(0, None), (1, 65535), (2, 2**32 - 1), (3, None), (4, None),
                                               (5, -32768), (6, -(2**31)), (7, None)])
def test_sdf_binary_data_types_and_invalid_markers(tmp_path, code, marker):
    values = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.float64) * (3 if code in (3, 7) else 1)
    if marker is not None:
        values[1, 2] = marker
    path = tmp_path / f"type{code}.sdf"
    path.write_bytes(binary_sdf(values, code, zscale=1e-9, tail=b"*\nnote\n*\n"))
    s = sdf.read_sdf(path)
    expected = values * 1e-9
    if marker is not None:
        expected[1, 2] = np.nan
    np.testing.assert_array_equal(s.heights, expected)
    assert s.spacing == (1e-6, 2e-6)
    assert s.metadata["trailer"] == "note"


def test_sdf_ascii_bad_points_and_single_profile(tmp_path):
    path = tmp_path / "bad.sdf"
    path.write_text("aBCR-1.0\n" + HEADER.format(cols=3, rows=2, z="1.0E-6", dtype=3) + "1 BAD 3\n4 5 6\n*\n")
    s = sdf.read_sdf(path)
    assert np.isnan(s.heights[0, 1]) and s.heights[1, 2] == pytest.approx(6e-6)
    path.write_text("aBCR-1.0\n" + HEADER.format(cols=3, rows=1, z="1.0E-6", dtype=3) + "1 2 3\n*\n")
    p = sdf.read_sdf(path)
    assert isinstance(p, Profile) and p.dx == 2e-6 and p.heights[2] == pytest.approx(3e-6)


heights_strategy = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
                              elements=st.floats(-1e-3, 1e-3) | st.just(np.nan))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(heights=heights_strategy, ascii=st.booleans(), dx=st.floats(1e-9, 1e-2), dy=st.floats(1e-9, 1e-2))
def test_sdf_round_trip(tmp_path, heights, ascii, dx, dy):
    path = tmp_path / "rt.sdf"
    original = Surface(heights, (dy, dx), metadata={"date": "2024-05-06T07:08:00"})
    sdf.write_sdf(original, path, ascii=ascii)
    back = sdf.read_sdf(path)
    if heights.shape[0] == 1:
        assert isinstance(back, Profile)
        np.testing.assert_array_equal(back.heights, heights[0])
        assert back.dx == dx
    else:
        np.testing.assert_array_equal(back.heights, heights)  # exact: float64 and repr() both round-trip
        assert back.spacing == (dy, dx)
    assert back.metadata["date"] == "2024-05-06T07:08:00"
    assert back.metadata["sdf_version"] == ("aISO-1.0" if ascii else "bISO-1.0")


def test_sdf_profile_round_trip_and_writer_limits(tmp_path):
    profile = Profile(np.array([1e-6, np.nan, -2e-6]), 5e-7)
    path = tmp_path / "profile.sdf"
    sdf.write_sdf(profile, path)
    back = sdf.read_sdf(path)
    assert isinstance(back, Profile) and back.dx == 5e-7
    np.testing.assert_array_equal(back.heights, profile.heights)
    with pytest.raises(FormatError, match="wide.sdf: SDF holds at most 65535 points per side"):
        sdf.write_sdf(Surface(np.zeros((2, 70000)), 1e-6), tmp_path / "wide.sdf")


def test_sdf_unsupported_features_are_refused(tmp_path):
    path = tmp_path / "zip.sdf"
    path.write_bytes(binary_sdf(np.zeros((2, 2)), 7, compression=1))
    with pytest.raises(FormatError, match=r"zip.sdf: compressed SDF data \(Compression = 1\)"):
        sdf.read_sdf(path)
    path = tmp_path / "dtype.sdf"
    path.write_text("aISO-1.0\n" + HEADER.format(cols=1, rows=1, z="1", dtype=9) + "1\n*\n")
    with pytest.raises(FormatError, match="dtype.sdf: DataType 9 is not defined"):
        sdf.read_sdf(path)
    path = tmp_path / "junk.sdf"
    path.write_bytes(binary_sdf(np.zeros((2, 2)), 7, tail=b"JUNK"))
    with pytest.raises(FormatError, match="junk.sdf: 4 bytes after the data"):
        sdf.read_sdf(path)


@pytest.mark.parametrize("cut", [5, 40, 218, 300, 470, 490, 544])
def test_sdf_truncated_real_file(tmp_path, cut):
    """Cuts in the version line, the header, the data and the trailer (the file is 545 bytes)."""
    data = topo_file(REAL).read_bytes()
    path = tmp_path / "cut.sdf"
    path.write_bytes(data[:cut])
    with pytest.raises(FormatError, match="cut.sdf"):
        sdf.read_sdf(path)


def test_sdf_truncated_binary(tmp_path):
    data = binary_sdf(np.arange(12.0).reshape(3, 4), 7)
    for cut in (4, 60, 81, 100, len(data) - 1):
        path = tmp_path / "cutb.sdf"
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError, match="cutb.sdf"):
            sdf.read_sdf(path)


def test_sdf_huge_claims_are_refused_in_bounded_memory(tmp_path):
    ascii_path = tmp_path / "huge.sdf"
    ascii_path.write_text("aISO-1.0\n" + HEADER.format(cols=1_000_000, rows=1_000_000, z="1", dtype=7) + "1 2\n*\n")
    binary_path = tmp_path / "hugeb.sdf"  # NumPoints/NumProfiles are 16-bit: 65535^2 is the largest claim
    binary_path.write_bytes(binary_sdf(np.zeros((1, 1)), 7, claim=(65535, 65535)))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"huge.sdf: data: .*1e\+12 points"):
            sdf.read_sdf(ascii_path)
        with pytest.raises(FormatError, match=r"hugeb.sdf: data: .*4.29e\+09 points"):
            sdf.read_sdf(binary_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from([b"aISO-1.0", b"bISO-1.0", b"aBCR-1.0", b"bBCR-1.0"]), tail=st.binary(max_size=3000))
def test_sdf_magic_then_random_bytes(tmp_path, version, tail):
    path = tmp_path / "garbage.sdf"
    path.write_bytes(version + tail)
    with pytest.raises(FormatError, match="garbage.sdf"):
        sdf.read_sdf(path)


def test_sdf_format_entry():
    fmt = sdf.FORMATS[0]
    assert fmt.write is not None and fmt.matches_magic(b"aISO-1.0\n") and fmt.matches_magic(b"bBCR-1.0")
    assert not fmt.matches_magic(b"aISOTOPE")
