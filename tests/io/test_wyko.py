"""Wyko/Vision .opd reader: the real file (with the type-15 blocks that surfalize 0.19 rejects)
against the upstream reference values, closed-form synthetic files and bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError, UnsupportedFormatError
from surfsight.io import wyko
from surfsight.surface import Surface
from tests.conftest import topo_file


def rms_valid(h: np.ndarray) -> float:
    v = h[~np.isnan(h)]
    return float(np.sqrt(np.mean((v - v.mean()) ** 2)))


def make_opd(z: np.ndarray, *, dtype="<f4", wavelength=600.0, mult=None, aspect=None, pixel_mm=0.002,
             image: np.ndarray | None = None, extra_empty=3) -> bytes:
    """``z[row, col]`` with row 0 at the top, written the Vision way (columns, bottom row first)."""
    ny, nx = z.shape
    blocks = []

    def array(name, values, dt):
        payload = struct.pack("<HHH", nx, ny, np.dtype(dt).itemsize) + values[::-1, :].T.astype(dt).tobytes()
        blocks.append((name, 3, payload))

    array("Raw", z, dtype)
    blocks.append(("Wavelength", 7, struct.pack("<f", wavelength)))
    blocks.append(("Pixel_size", 7, struct.pack("<f", pixel_mm)))
    if mult is not None:
        blocks.append(("Mult", 6, struct.pack("<h", mult)))
    if aspect is not None:
        blocks.append(("Aspect", 7, struct.pack("<f", aspect)))
    blocks.append(("Opaque", 15, b"\x12\x01\x03abc"))        # serialised structure: skipped
    blocks.append(("Date", 5, b"7/7/2015"))
    if image is not None:
        array("Image", image, "u1")
    n = len(blocks) + 1 + extra_empty
    directory = struct.pack("<16shiH", b"Directory", 1, 24 * n, 0xFFFF)
    for name, btype, payload in blocks:
        directory += struct.pack("<16shiH", name.encode(), btype, len(payload), 8)
    directory += bytes(24 * extra_empty)
    return b"\x01\x00" + directory + b"".join(p for _, _, p in blocks)


Z = np.array([[0.0, 0.5, 1.0, 1.5], [2.0, 1.7014118e38, 3.0, -1.0], [0.25, 0.75, 1.25, 1.75]])


def test_closed_form_float(tmp_path):
    image = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "a.opd"
    path.write_bytes(make_opd(Z, wavelength=600.0, aspect=1.5, pixel_mm=0.002, image=image))
    s = wyko.read(path)
    assert isinstance(s, Surface) and s.shape == (3, 4)
    assert s.spacing == pytest.approx((3e-6, 2e-6))
    expected = Z * 600e-9
    expected[1, 1] = np.nan
    np.testing.assert_allclose(s.heights, expected, rtol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(s.layers["intensity"], image)
    assert s.metadata["date"] == "2015-07-07"


def test_closed_form_int16_with_mult(tmp_path):
    z = np.array([[0, 100, 32766], [-5, 7, 32767]], dtype=np.int16)
    path = tmp_path / "i.opd"
    path.write_bytes(make_opd(z, dtype="<i2", wavelength=632.8, mult=32))
    s = wyko.read(path)
    expected = z.astype(float) * 632.8e-9 / 32
    expected[z >= 32766] = np.nan
    np.testing.assert_allclose(s.heights, expected, rtol=1e-6, equal_nan=True)


def test_missing_scale_and_channels(tmp_path):
    path = tmp_path / "a.opd"
    path.write_bytes(make_opd(Z))
    assert wyko.channels(path) == ["Raw"]
    with pytest.raises(FormatError, match="no height channel 'Image'"):
        wyko.read(path, channel="Image")
    data = path.read_bytes().replace(b"Wavelength", b"Wavelengxx")
    (tmp_path / "b.opd").write_bytes(data)
    with pytest.raises(FormatError, match="'Wavelength'"):
        wyko.read(tmp_path / "b.opd")
    data = path.read_bytes().replace(b"Raw\0", b"Foo\0")
    (tmp_path / "c.opd").write_bytes(data)
    with pytest.raises(UnsupportedFormatError, match="no height array"):
        wyko.read(tmp_path / "c.opd")


def test_opd_reference_values():
    s = wyko.read(topo_file("surfacetopography_examples/opd-1.opd"))
    assert s.shape == (480, 640)                       # (nx, ny) = (640, 480)
    ly, lx = s.size_m
    assert lx == pytest.approx(0.125909140e-3, rel=1e-8)
    assert ly == pytest.approx(0.094431855e-3, rel=1e-8)
    assert s.metadata["height_scale_factor_mm"] == pytest.approx(0.0005772949829101563, rel=1e-12)
    assert s.has_invalid and np.isnan(s.heights).sum() == 116
    assert s.metadata["channels"] == ["Raw"]            # one channel
    # SurfaceTopography 1.27.1 gives 8.35645e-06 mm over the valid points
    assert rms_valid(s.heights) == pytest.approx(8.35645e-9, rel=1e-5)
    assert s.layers["intensity"].dtype == np.uint8
    assert "PrimaryData2D" in s.metadata["blocks"]      # a type-15 block, skipped by size


# --- bad input -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def opd_bytes():
    return topo_file("surfacetopography_examples/opd-1.opd").read_bytes()


@pytest.mark.parametrize("n", [5, 30, 1000, 24010, 600_000, 2_000_000, 4_020_869])
def test_truncated_real_file(tmp_path, opd_bytes, n):
    path = tmp_path / "cut.opd"
    path.write_bytes(opd_bytes[:n])
    with pytest.raises(FormatError) as info:
        wyko.read(path)
    assert "cut.opd" in str(info.value)


def test_huge_grid_refused_without_allocating(tmp_path, opd_bytes):
    """The array header holds uint16 sizes, so 65535 x 65535 is the largest claim possible."""
    data = bytearray(opd_bytes)
    struct.pack_into("<HH", data, 24020, 65535, 65535)
    path = tmp_path / "huge.opd"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="huge.opd.*65535x65535"):
            wyko.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_huge_directory_refused(tmp_path, opd_bytes):
    data = bytearray(opd_bytes)
    struct.pack_into("<i", data, 20, 24 * 10**6)
    (tmp_path / "dir.opd").write_bytes(bytes(data))
    with pytest.raises(FormatError, match="dir.opd"):
        wyko.read(tmp_path / "dir.opd")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 3000))
def test_random_bytes_after_magic(tmp_path, seed, size):
    path = tmp_path / "random.opd"
    path.write_bytes(wyko.MAGIC + np.random.default_rng(seed).bytes(size))
    try:
        out = wyko.read(path)
    except FormatError as exc:
        assert "random.opd" in str(exc)
    else:
        assert isinstance(out, Surface)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_truncation_is_detected(tmp_path, data):
    full = make_opd(Z, image=np.zeros((3, 4), np.uint8), mult=2, aspect=1.0)
    cut = data.draw(st.integers(0, len(full) - 1))
    path = tmp_path / "t.opd"
    path.write_bytes(full[:cut])
    with pytest.raises(FormatError, match="t.opd"):
        wyko.read(path)


def test_sniff():
    fmt = wyko.FORMATS[0]
    assert fmt.matches_magic(b"\x01\x00Directory\0\0\0" + bytes(100))
    assert not fmt.matches_magic(b"\x02\x00Directory\0\0\0" + bytes(100))
