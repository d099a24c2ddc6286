"""FRT MicroProf reader: the real file (z scale from block 0x006c, invalid count 1), synthetic
block files for both versions and both image parts, bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError
from surfsight.io import frt
from tests.conftest import topo_file

REAL = "surfacetopography_examples/frt-2.frt"


def rms(heights: np.ndarray) -> float:
    valid = heights[~np.isnan(heights)]
    return float(np.sqrt(np.mean((valid - valid.mean()) ** 2)))


def test_frt_reproduces_reference_values():
    s = frt.read_frt(topo_file(REAL))
    assert s.shape == (300, 150)  # reference (nx, ny) = (150, 300)
    ly, lx = s.size_m
    assert lx == pytest.approx(0.03, rel=1e-6) and ly == pytest.approx(0.06, rel=1e-6)
    assert rms(s.heights) == pytest.approx(8.82676e-06, rel=1e-6)
    assert s.has_invalid and s.invalid_fraction == pytest.approx(12314 / 45000)
    assert s.metadata["channels"] == ["topography (top sensor) 1", "intensity (top sensor) 1"]
    assert s.metadata["parameter_set"] == "TexSimEx_Pin_New"
    assert s.metadata["height_per_count_m"] == pytest.approx(9.765923032319103e-09)
    assert list(s.layers) == ["intensity (top sensor) 1"]


def test_frt_height_scale_comes_from_block_006c():
    """Heights are raw counts times zscale of block 0x006c; count 1 is the invalid marker."""
    path = topo_file(REAL)
    data = path.read_bytes()
    _, blocks = frt.read_blocks(data, path)
    offset, _ = blocks[0x006C]
    _, zscale = struct.unpack_from("<Id", data, offset)
    offset, _ = blocks[0x000B]
    counts = np.frombuffer(data, "<u2", 150 * 300, offset).reshape(300, 150)
    s = frt.read_frt(path)
    np.testing.assert_array_equal(np.isnan(s.heights), counts == 1)
    np.testing.assert_array_equal(s.heights[counts != 1], counts[counts != 1] * zscale)
    intensity = frt.read_frt(path, channel="intensity (top sensor) 1")
    assert intensity.metadata["original_units"] == "counts (not a height)"
    assert np.nanmax(intensity.heights) == 907


def block(kind: int, payload: bytes, size_fmt: str = "<I") -> bytes:
    return struct.pack("<H", kind) + struct.pack(size_fmt, len(payload)) + payload


def frt_bytes(counts: np.ndarray, *, bits: int = 16, version: str = "1.00", multi: bool = False,
              zscale: float = 2e-9, valid: tuple[int, int] | None = None, claim: tuple[int, int] | None = None,
              drop: tuple[int, ...] = (), extra_count: int = 0) -> bytes:
    size_fmt = "<I" if version == "1.00" else "<Q"
    rows, cols = counts.shape if claim is None else claim
    raw = counts.astype("<u2" if bits == 16 else "<i4").tobytes()
    blocks = [
        (0x0065, b"surfsight test\0"),
        (0x0066, struct.pack("<III", cols, rows, bits)),
        (0x0067, struct.pack("<dddddI", 3e-3, 1e-3, 0.0, 0.0, 1 / 3, 1)),
        (0x006C, struct.pack("<Id", 5, zscale)),
    ]
    if valid is not None:
        blocks.append((0x0070, struct.pack("<II", *valid)))
    if multi:
        intensity = (np.arange(counts.size).reshape(counts.shape) % 50 + 10).astype("<u2" if bits == 16 else "<i4")
        images = (struct.pack("<4I", 0x4, cols, rows, bits) + raw
                  + struct.pack("<4I", 0x2, cols, rows, bits) + intensity.tobytes())
        blocks.append((0x007D, struct.pack("<4H", 2, 0, 4, 0) + images))
    else:
        blocks.append((0x000B, raw))
    blocks = [b for b in blocks if b[0] not in drop]
    body = b"".join(block(k, p, size_fmt) for k, p in blocks)
    return b"FRTM_GLIDERV" + version.encode() + struct.pack("<H", len(blocks) + extra_count) + body


@pytest.mark.parametrize("version", ["1.00", "1.01"])
@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("bits", [16, 32])
def test_frt_synthetic_versions_parts_and_widths(tmp_path, version, multi, bits):
    counts = np.array([[1, 200, 300], [400, 1, 600]])
    if bits == 32:
        counts = counts - 500  # signed 32-bit counts
        counts[0, 0] = counts[1, 1] = 1
    path = tmp_path / "synthetic.frt"
    path.write_bytes(frt_bytes(counts, bits=bits, version=version, multi=multi, zscale=2e-9))
    s = frt.read_frt(path)
    expected = counts * 2e-9
    expected = np.where(counts == 1, np.nan, expected)
    np.testing.assert_allclose(s.heights, expected, rtol=1e-15, equal_nan=True)
    assert s.spacing == (pytest.approx(0.5e-3), pytest.approx(1e-3))
    assert s.metadata["frt_version"] == version
    assert ("intensity (top sensor) 1" in s.layers) == multi


def test_frt_valid_range_block_marks_out_of_range_counts(tmp_path):
    counts = np.array([[3, 5, 6], [100, 65530, 65529]])
    path = tmp_path / "range.frt"
    path.write_bytes(frt_bytes(counts, valid=(5, 65529)))
    s = frt.read_frt(path)
    np.testing.assert_array_equal(np.isnan(s.heights), [[True, False, False], [False, True, False]])


def test_frt_missing_blocks_are_reported(tmp_path):
    counts = np.full((2, 2), 7)
    for kind, message in ((0x006C, "sensor block 0x006c"), (0x0067, "scan size block 0x0067"),
                          (0x0066, "image size block 0x0066"), (0x000B, "no image data")):
        path = tmp_path / f"no{kind:04x}.frt"
        path.write_bytes(frt_bytes(counts, drop=(kind,)))
        with pytest.raises(FormatError, match=f"{path.name}: .*{message}"):
            frt.read_frt(path)


def test_frt_cut_at_a_block_boundary_is_caught_by_the_block_count(tmp_path):
    path = tmp_path / "boundary.frt"
    path.write_bytes(frt_bytes(np.full((2, 2), 7), extra_count=1))
    with pytest.raises(FormatError, match="boundary.frt: truncated: the file lists 6 blocks, only 5"):
        frt.read_frt(path)


@pytest.mark.parametrize("fraction", [0.0001, 0.05, 0.3, 0.8, 0.9, 0.999])
def test_frt_truncated_real_file(tmp_path, fraction):
    data = topo_file(REAL).read_bytes()
    path = tmp_path / "cut.frt"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(FormatError, match="cut.frt"):
        frt.read_frt(path)


def test_frt_huge_claim_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.frt"
    path.write_bytes(frt_bytes(np.full((2, 2), 7), claim=(1_000_000, 1_000_000)))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"huge.frt: .*1e\+12 points"):
            frt.read_frt(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(version=st.sampled_from([b"1.00", b"1.01", b"2.00"]), tail=st.binary(max_size=3000))
def test_frt_magic_then_random_bytes(tmp_path, version, tail):
    path = tmp_path / "garbage.frt"
    path.write_bytes(frt.MAGIC + version + tail)
    with pytest.raises(FormatError, match="garbage.frt"):
        frt.read_frt(path)
