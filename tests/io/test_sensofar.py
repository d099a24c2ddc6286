"""Sensofar .plu and .plux readers: the real PLu neox file against the upstream reference
values, the metadata-only .plux refused, closed-form synthetic files and bad input."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError, UnsupportedFormatError
from surfsight.io import sensofar
from surfsight.surface import Profile, Surface
from tests.conftest import topo_file


def rms_valid(h: np.ndarray) -> float:
    v = h[~np.isnan(h)]
    return float(np.sqrt(np.mean((v - v.mean()) ** 2)))


def make_plu(z_um: np.ndarray, *, mppx=1.5, mppy=2.0, rgb: np.ndarray | None = None, mtype=3,
             layers=1, trailer=b"") -> bytes:
    ny, nx = z_um.shape
    h = bytearray(500)
    date = b"Fri Mar 10 16:35:59 2023"
    h[:len(date)] = date
    struct.pack_into("<3I7f", h, 388, ny, nx, 0, 1.0, mppx, mppy, 0.0, 0.0, 1.0, 0.0)
    struct.pack_into("<5I", h, 428, mtype, 3, 0, 14, 3)
    struct.pack_into("<6B", h, 488, 0, layers, 0, 6, 0 if rgb is None else 1, 0)
    struct.pack_into("<I", h, 496, 1)
    body = b""
    for _ in range(layers):
        body += struct.pack("<II", ny, nx) + z_um.astype("<f4").tobytes() + struct.pack("<2f", -1, 1)
        if rgb is not None:
            body += rgb.astype(np.uint8).tobytes()
    return bytes(h) + body + trailer


Z = np.array([[1.0, 2.0, 3.0], [4.0, 1000001.0, 6.0]])


def test_plu_closed_form(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 10
    rgb[..., 1] = 20
    rgb[..., 2] = 30
    path = tmp_path / "a.plu"
    path.write_bytes(make_plu(Z, rgb=rgb, trailer=b"operator and sample"))
    s = sensofar.read_plu(path)
    assert isinstance(s, Surface) and s.shape == (2, 3)
    assert s.spacing == pytest.approx((2e-6, 1.5e-6))
    expected = Z * 1e-6
    expected[1, 1] = np.nan
    np.testing.assert_allclose(s.heights, expected, equal_nan=True)
    assert set(s.layers) == {"red", "green", "blue"} and s.layers["blue"][0, 0] == 30
    assert s.metadata["date"] == "2023-03-10T16:35:59"
    assert s.metadata["instrument"] == "PLu neox"


def test_plu_grey_image_is_intensity_and_profile(tmp_path):
    grey = np.full((1, 3, 3), 7, np.uint8)
    path = tmp_path / "p.plu"
    path.write_bytes(make_plu(np.array([[1.0, 2.0, 4.0]]), rgb=grey, mtype=1))
    p = sensofar.read_plu(path)
    assert isinstance(p, Profile) and p.dx == pytest.approx(1.5e-6)
    # profiles (type 1) carry no colour images in the file; the grey bytes are a trailer
    (tmp_path / "s.plu").write_bytes(make_plu(Z, rgb=np.full((2, 3, 3), 9, np.uint8)))
    assert set(sensofar.read_plu(tmp_path / "s.plu").layers) == {"intensity"}


def test_plu_second_layer_and_unsupported_type(tmp_path):
    path = tmp_path / "two.plu"
    path.write_bytes(make_plu(Z, layers=2))
    assert sensofar.plu_channels(path) == ["height", "height 2"]
    assert sensofar.read_plu(path, channel="height 2").metadata["channel"] == "height 2"
    with pytest.raises(FormatError, match="no channel"):
        sensofar.read_plu(path, channel="colour")
    (tmp_path / "img.plu").write_bytes(make_plu(Z, mtype=0))
    with pytest.raises(UnsupportedFormatError, match="image measurement"):
        sensofar.read_plu(tmp_path / "img.plu")


def test_plu_reference_values():
    s = sensofar.read_plu(topo_file("surfacetopography_examples/plu-1.plu"))
    assert s.shape == (576, 768)                        # (nx, ny) = (768, 576)
    ly, lx = s.size_m
    assert lx == pytest.approx(1274.880066e-6, rel=1e-8)
    assert ly == pytest.approx(956.160049e-6, rel=1e-8)
    assert not s.has_invalid
    assert rms_valid(s.heights) == pytest.approx(2.834391e-6, rel=1e-6)
    assert set(s.layers) == {"intensity"} and s.layers["intensity"].shape == (576, 768)
    assert s.metadata["date"] == "2023-03-10T16:35:59"


def test_plux_metadata_only_refused():
    path = topo_file("x3ptools/test_metadata_only.plux")
    with pytest.raises(UnsupportedFormatError, match="holds no height data") as info:
        sensofar.read_plux(path)
    assert "test_metadata_only.plux" in str(info.value)
    assert sensofar.plux_channels(path) == ["LAYER_0"]
    assert sensofar.FORMATS[1].sniff(path.read_bytes()[:4096], path)


def make_plux(z_um: np.ndarray, *, member=True, size=None) -> bytes:
    ny, nx = z_um.shape
    index = f"""<?xml version="1.0" encoding="utf-8"?><xml><GENERAL><DATE>2018-08-24 15:15:20</DATE>
    <FOV_X>0.5</FOV_X><FOV_Y>0.25</FOV_Y><IMAGE_SIZE_X>{nx if size is None else size}</IMAGE_SIZE_X>
    <IMAGE_SIZE_Y>{ny if size is None else size}</IMAGE_SIZE_Y></GENERAL>
    <INFO><ITEM_0><NAME>Device</NAME><VALUE>S neox</VALUE></ITEM_0></INFO>
    <LAYER_0><FILENAME_Z>LAYER_0.raw</FILENAME_Z><FILENAME_COLOR/></LAYER_0></xml>"""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.xml", index)
        if member:
            z.writestr("LAYER_0.raw", z_um.astype("<f4").tobytes())
    return buf.getvalue()


def test_plux_closed_form(tmp_path):
    z = np.array([[1.0, np.nan], [3.0, 4.0]])
    path = tmp_path / "a.plux"
    path.write_bytes(make_plux(z))
    s = sensofar.read_plux(path)
    assert s.spacing == pytest.approx((0.25e-6, 0.5e-6))
    np.testing.assert_allclose(s.heights, z * 1e-6, equal_nan=True)
    assert s.metadata["instrument"] == "S neox"
    (tmp_path / "b.plux").write_bytes(make_plux(z, size=10**6))
    with pytest.raises(FormatError, match="b.plux"):
        sensofar.read_plux(tmp_path / "b.plux")
    (tmp_path / "c.plux").write_bytes(make_plux(np.zeros((2, 3)), size=2))
    with pytest.raises(FormatError, match="truncated or corrupt"):
        sensofar.read_plux(tmp_path / "c.plux")


# --- bad input -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plu_bytes():
    return topo_file("surfacetopography_examples/plu-1.plu").read_bytes()


@pytest.mark.parametrize("n", [30, 200, 450, 504, 800_000, 1_769_990, 2_000_000])
def test_truncated_real_file(tmp_path, plu_bytes, n):
    path = tmp_path / "cut.plu"
    path.write_bytes(plu_bytes[:n])
    with pytest.raises(FormatError) as info:
        sensofar.read_plu(path)
    assert "cut.plu" in str(info.value)


def test_huge_grid_refused_without_allocating(tmp_path, plu_bytes):
    data = bytearray(plu_bytes)
    struct.pack_into("<II", data, 500, 10**6, 10**6)
    path = tmp_path / "huge.plu"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="huge.plu.*1000000x1000000"):
            sensofar.read_plu(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 3000))
def test_random_bytes_after_date(tmp_path, seed, size):
    path = tmp_path / "random.plu"
    path.write_bytes(b"Fri Mar 10 16:35:59 2023\0" + np.random.default_rng(seed).bytes(size))
    try:
        out = sensofar.read_plu(path)
    except FormatError as exc:
        assert "random.plu" in str(exc)
    else:
        assert isinstance(out, (Surface, Profile))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_truncation_is_detected(tmp_path, data):
    full = make_plu(Z, rgb=np.zeros((2, 3, 3), np.uint8), layers=2)
    cut = data.draw(st.integers(0, len(full) - 1))
    path = tmp_path / "t.plu"
    path.write_bytes(full[:cut])
    with pytest.raises(FormatError, match="t.plu"):
        sensofar.read_plu(path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_plux_truncations(tmp_path, data):
    full = make_plux(np.ones((4, 5)))
    cut = data.draw(st.integers(0, len(full) - 1))
    path = tmp_path / "t.plux"
    path.write_bytes(full[:cut])
    with pytest.raises(FormatError, match="t.plux"):
        sensofar.read_plux(path)


def test_sniff():
    assert sensofar._sniff_plu(b"Fri Mar 10 16:35:59 2023" + bytes(200), None)
    assert not sensofar._sniff_plu(b"Hello world, this is text" + bytes(200), None)
    assert not sensofar._sniff_plu(b"\xff" * 300, None)
