"""Alicona AL3D reader: the real InfiniteFocus file, synthetic files from the tag layout, bad input."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError
from surfsight.io import alicona
from tests.conftest import topo_file

REAL = "surfacetopography_examples/al3d-1.al3d"


def rms(heights: np.ndarray) -> float:
    valid = heights[~np.isnan(heights)]
    return float(np.sqrt(np.mean((valid - valid.mean()) ** 2)))


def test_al3d_reproduces_reference_values():
    s = alicona.read_al3d(topo_file(REAL))
    assert s.shape == (296, 200)  # reference (nx, ny) = (200, 296)
    ly, lx = s.size_m
    assert lx == pytest.approx(8.76054e-05, rel=1e-6)
    assert ly == pytest.approx(0.000129656, rel=1e-6)
    assert rms(s.heights) == pytest.approx(7.68827e-06, rel=1e-6)
    assert not s.has_invalid
    assert s.metadata["instrument"] == "Alicona (MeasureSuite 5.3.6)"
    assert s.metadata["original_units"] == "m"
    # TexturePtr "0;1;2" names the colour planes; a fourth plane is kept under its index
    assert set(s.layers) == {"texture_red", "texture_green", "texture_blue", "texture_plane_3"}
    assert all(layer.shape == s.shape and layer.dtype == np.uint8 for layer in s.layers.values())


def tag(key: str, value: str) -> bytes:
    return key.encode().ljust(20, b"\0") + value.encode().ljust(30, b"\0") + b"\r\n"


def al3d_bytes(depth: np.ndarray, *, invalid: str | None = "NaN", dx: float = 1e-6, dy: float = 2e-6,
               texture: np.ndarray | None = None, claim: tuple[int, int] | None = None) -> bytes:
    """An AL3D file: magic, Version, TagCount, tags, 256-byte comment, padded depth rows, texture."""
    rows, cols = depth.shape if claim is None else claim
    stride = (cols * 4 + 7) // 8 * 8
    tags = {"Cols": str(cols), "Rows": str(rows), "PixelSizeXMeter": repr(dx), "PixelSizeYMeter": repr(dy),
            "IconOffset": "0", "NumberOfPlanes": "0", "TextureImageOffset": "0"}
    if invalid is not None:
        tags["InvalidPixelValue"] = invalid
    if texture is not None:
        tags["NumberOfPlanes"] = str(texture.shape[0])
        tags["TexturePtr"] = "0;1;2"
    count = len(tags) + 1  # + DepthImageOffset
    header_size = 17 + 52 * (2 + count) + 256
    tags["DepthImageOffset"] = str(header_size)
    depth_size = depth.shape[0] * stride
    if texture is not None:
        tags["TextureImageOffset"] = str(header_size + depth_size)
    out = bytearray(alicona.MAGIC + tag("Version", "1") + tag("TagCount", str(count)))
    for key, value in tags.items():
        out += tag(key, value)
    out += b"surfsight test".ljust(254, b"\0") + b"\r\n"
    assert len(out) == header_size
    for row in depth.astype("<f4"):
        out += row.tobytes().ljust(stride, b"\0")
    if texture is not None:
        out += texture.astype(np.uint8).tobytes()
    return bytes(out)


@pytest.mark.parametrize("cols", [3, 4, 5])  # odd columns exercise the 8-byte row padding
def test_al3d_synthetic_rows_invalid_and_texture(tmp_path, cols):
    rows = 3
    depth = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) * np.float32(1e-6)
    depth[1, 1] = 3.000000028082e+15
    depth[2, 0] = np.nan
    texture = np.arange(3 * rows * cols).reshape(3, rows, cols) % 256
    path = tmp_path / "synthetic.al3d"
    path.write_bytes(al3d_bytes(depth, invalid="3.000000028082e+15", texture=texture))
    s = alicona.read_al3d(path)
    expected = depth.astype(np.float64)
    expected[1, 1] = np.nan
    np.testing.assert_array_equal(s.heights, expected)
    assert s.spacing == (2e-6, 1e-6)
    np.testing.assert_array_equal(s.layers["texture_green"], texture[1])


def test_al3d_without_texture_and_with_nan_marker(tmp_path):
    depth = np.array([[1.0, np.nan], [2.0, 3.0]], dtype=np.float32)
    path = tmp_path / "plain.al3d"
    path.write_bytes(al3d_bytes(depth, invalid="NaN"))
    s = alicona.read_al3d(path)
    assert s.layers == {} and np.isnan(s.heights[0, 1]) and s.heights[1, 1] == 3.0


@pytest.mark.parametrize("fraction", [0.001, 0.02, 0.3, 0.6, 0.999])
def test_al3d_truncated_real_file(tmp_path, fraction):
    data = topo_file(REAL).read_bytes()
    path = tmp_path / "cut.al3d"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(FormatError, match="cut.al3d"):
        alicona.read_al3d(path)


def test_al3d_huge_claim_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.al3d"
    path.write_bytes(al3d_bytes(np.zeros((1, 2), np.float32), claim=(1_000_000, 1_000_000)))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"huge.al3d: depth image: .*1e\+12 points"):
            alicona.read_al3d(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_al3d_missing_and_broken_tags(tmp_path):
    data = al3d_bytes(np.zeros((2, 2), np.float32))
    broken = tmp_path / "crlf.al3d"
    broken.write_bytes(data[:17 + 50] + b"XX" + data[17 + 52:])
    with pytest.raises(FormatError, match="crlf.al3d: header tag 0 .*CRLF"):
        alicona.read_al3d(broken)
    nospacing = tmp_path / "nospacing.al3d"
    nospacing.write_bytes(data.replace(b"PixelSizeXMeter", b"PixelSizeXFoo\0\0"))
    with pytest.raises(FormatError, match="nospacing.al3d: header tag 'PixelSizeXMeter' is missing"):
        alicona.read_al3d(nospacing)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=3000))
def test_al3d_magic_then_random_bytes(tmp_path, tail):
    path = tmp_path / "garbage.al3d"
    path.write_bytes(alicona.MAGIC + tail)
    with pytest.raises(FormatError, match="garbage.al3d"):
        alicona.read_al3d(path)
