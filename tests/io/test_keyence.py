"""Keyence .vk4 and .zon readers on files built from the published layouts (no real sample is
available; see the notes in surfsight/io/keyence.py)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight import FormatError
from surfsight.io import keyence as K

# --- VK4 builder (layout: Gwyddion keyence.c) -------------------------------------------------------
PITCH_X, PITCH_Y, Z_DIGIT = 138_000, 139_000, 1_000  # picometres


def _image(values: np.ndarray, bits: int, byte_size: int | None = None) -> bytes:
    dtype = {8: "<u1", 16: "<u2", 32: "<u4"}.get(bits, "<u2")
    payload = values.astype(dtype).tobytes()
    height, width = values.shape
    size = len(payload) if byte_size is None else byte_size
    return struct.pack("<7I", width, height, bits, 0, size, 0, 255) + bytes(768) + payload


def vk4_bytes(heights: np.ndarray, light: np.ndarray | None = None, *, bits: int = 32, title: str = "scan",
              lens: str = "50x", cond_size: int = 304, pitch=(PITCH_X, PITCH_Y), z_digit: int = Z_DIGIT,
              byte_size: int | None = None, file_type: bytes = b"\0\0\0\0") -> bytes:
    conditions = [0] * 76
    conditions[0] = cond_size
    conditions[1:7] = [2023, 5, 17, 14, 3, 9]
    conditions[18], conditions[24] = 10, 500
    conditions[42], conditions[43], conditions[44] = pitch[0], pitch[1], z_digit
    cond = struct.pack("<76I", *conditions)
    cond = cond[:28] + struct.pack("<i", 540) + cond[32:]  # UTC+09:00
    offsets = [0] * 18
    body = bytearray()
    start = 12 + 72
    offsets[0] = start
    body += cond
    offsets[6] = start + len(body)
    body += _image(heights, bits, byte_size)
    if light is not None:
        offsets[3] = start + len(body)
        body += _image(light, 16)
    offsets[16] = start + len(body)
    for text in (title, lens):
        body += struct.pack("<I", len(text)) + text.encode("utf-16-le")
    return b"VK4_" + bytes([0, 0, 1, 4]) + file_type + struct.pack("<18I", *offsets) + bytes(body)


RAW = np.array([[0, 1, 2, 3], [1000, 2000, 3000, 4_000_000]], dtype=np.uint32)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_vk4_heights_spacing_and_metadata(tmp_path):
    light = np.arange(8, dtype=np.uint16).reshape(2, 4) * 100
    path = _write(tmp_path, "a.vk4", vk4_bytes(RAW, light))
    surface = K.read_vk4(path)
    np.testing.assert_allclose(surface.heights, RAW * 1e-9, rtol=1e-15)  # 1000 pm per digit
    assert surface.spacing == pytest.approx((139e-9, 138e-9), rel=1e-15)
    np.testing.assert_array_equal(surface.layers["intensity"], light)
    meta = surface.metadata
    assert meta["channels"] == ["height", "intensity"] and meta["channel"] == "height"
    assert meta["date"] == "2023-05-17T14:03:09+09:00"
    assert meta["title"] == "scan" and meta["lens"] == "50x"
    assert meta["objective_magnification"] == 50.0 and meta["optical_zoom"] == 1.0
    assert meta["vk4_dll_version"] == "4.1.0.0"
    assert K.vk4_channels(path) == ["height", "intensity"]
    intensity = K.read_vk4(path, "intensity")
    np.testing.assert_array_equal(intensity.heights, light)
    assert intensity.metadata["z_unit"] == "counts"


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_vk4_bit_depths(tmp_path, bits):
    raw = np.array([[0, 7], [200, 255]])
    surface = K.read_vk4(_write(tmp_path, "b.vk4", vk4_bytes(raw, bits=bits, z_digit=2500)))
    np.testing.assert_allclose(surface.heights, raw * 2.5e-9, rtol=1e-15)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"bits": 12}, "bit depth 12"),
    ({"byte_size": 5}, "byte size 5 differs"),
    ({"cond_size": 100}, "fewer than 304"),
    ({"pitch": (0, 5)}, "pitch is zero"),
    ({"z_digit": 0}, "z length per digit is zero"),
    ({"file_type": b"\x01\0\0\0"}, "not a Keyence VK4"),
])
def test_vk4_bad_headers(tmp_path, kwargs, message):
    path = _write(tmp_path, "bad.vk4", vk4_bytes(RAW, **kwargs))
    with pytest.raises(FormatError, match=rf"bad\.vk4: .*{message}"):
        K.read_vk4(path)


def test_vk4_huge_claimed_grid_is_refused_before_allocation(tmp_path):
    data = bytearray(vk4_bytes(RAW))
    image_at = struct.unpack_from("<I", data, 12 + 6 * 4)[0]
    struct.pack_into("<2I", data, image_at, 2**31, 2**31)
    with pytest.raises(FormatError, match=r"huge\.vk4: .*more than"):
        K.read_vk4(_write(tmp_path, "huge.vk4", bytes(data)))
    struct.pack_into("<2I", data, image_at, 4000, 4000)
    with pytest.raises(FormatError, match=r"huge\.vk4: .*truncated"):
        K.read_vk4(_write(tmp_path, "huge.vk4", bytes(data)))


def test_vk4_without_height_image_and_unknown_channel(tmp_path):
    data = bytearray(vk4_bytes(RAW))
    struct.pack_into("<I", data, 12 + 6 * 4, 0)
    with pytest.raises(FormatError, match="holds no height or intensity image"):
        K.read_vk4(_write(tmp_path, "none.vk4", bytes(data)))
    with pytest.raises(FormatError, match="no channel 'height 2'; channels are: height"):
        K.read_vk4(_write(tmp_path, "one.vk4", vk4_bytes(RAW)), "height 2")


def test_vk4_every_truncation_is_refused(tmp_path):
    data = vk4_bytes(RAW, np.ones((2, 4)))
    for cut in sorted({1, 11, 12, 50, 84, 200, 388, 400, 1200, len(data) - 10, len(data) - 1}):
        with pytest.raises(FormatError, match=r"cut\.vk4: "):
            K.read_vk4(_write(tmp_path, "cut.vk4", data[:cut]))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 10**6), value=st.integers(0, 255))
def test_vk4_byte_corruption_gives_surface_or_format_error(tmp_path, position, value):
    data = bytearray(vk4_bytes(RAW, np.ones((2, 4))))
    data[position % len(data)] = value
    try:
        surface = K.read_vk4(_write(tmp_path, "flip.vk4", bytes(data)))
    except FormatError as exc:
        assert "flip.vk4" in str(exc)
        return
    assert surface.heights.shape[0] >= 1


def test_vk4_sniff():
    vk4 = K.FORMATS[0]
    assert vk4.matches_magic(vk4_bytes(RAW)[:64])
    assert not vk4.matches_magic(b"VK4_\0\0\0\0\1\0\0\0")
    assert not vk4.matches_magic(b"VK6_abcd")


# --- ZON builder (layout: SurfaceTopography ZON.py, surfalize zon.py) --------------------------------
CALIBRATION_XML = (b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Calibration>"
                   b"<XYCalibration><MeterPerPixel>2.5E-07</MeterPerPixel></XYCalibration>"
                   b"<ZCalibration><MeterPerUnit>1E-09</MeterPerUnit></ZCalibration></Calibration>")


def _grid(values: np.ndarray, pad: int = 0, itemsize: int = 4) -> bytes:
    height, width = values.shape
    rows = [values[r].astype("<i4").tobytes() + b"\xee" * pad for r in range(height)]
    return struct.pack("<4I", width, height, itemsize, width * 4 + pad) + b"".join(rows)


def zon_bytes(members: dict[str, bytes], *, bmp: bool = True, zstd_names: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if name in zstd_names:
                import zstandard

                content = zstandard.ZstdCompressor().compress(content)
            archive.writestr(name, content)
    thumbnail = b"BM" + struct.pack("<I", 62) + bytes(56)
    prefix = b"KPK\0" + struct.pack("<I", len(thumbnail)) + (thumbnail if bmp else b"XX" + thumbnail[2:])
    return prefix + buffer.getvalue()


ZRAW = np.array([[-5, 0, 7], [1_000_000, -2_000_000, 3]], dtype=np.int32)


def _zon(tmp_path: Path, name: str = "a.zon", **kwargs) -> Path:
    members = {K.ZON_CALIBRATION: CALIBRATION_XML, K.ZON_HEIGHTS: _grid(ZRAW, pad=4),
               "772e6d38-40aa-4590-85d3-b041fa243570": b"<Inventory/>"}
    members.update(kwargs.pop("members", {}))
    return _write(tmp_path, name, zon_bytes({k: v for k, v in members.items() if v is not None}, **kwargs))


def test_zon_heights_and_spacing(tmp_path):
    surface = K.read_zon(_zon(tmp_path))
    np.testing.assert_allclose(surface.heights, ZRAW * 1e-9, rtol=1e-15)  # signed, row stride honoured
    assert surface.spacing == (2.5e-7, 2.5e-7)
    assert surface.metadata["channels"] == ["height"]


def test_zon_zstd_members(tmp_path):
    pytest.importorskip("zstandard")
    path = _zon(tmp_path, zstd_names=(K.ZON_CALIBRATION, K.ZON_HEIGHTS))
    np.testing.assert_allclose(K.read_zon(path).heights, ZRAW * 1e-9, rtol=1e-15)


@pytest.mark.parametrize(("members", "message"), [
    ({K.ZON_CALIBRATION: None}, "no calibration member"),
    ({K.ZON_HEIGHTS: None}, "no height member"),
    ({K.ZON_HEIGHTS: _grid(ZRAW, itemsize=2)}, "item size 2"),
    ({K.ZON_HEIGHTS: _grid(ZRAW)[:-3]}, "truncated"),
    ({K.ZON_HEIGHTS: b"\1\0\0\0"}, "shorter than its 16-byte header"),
    ({K.ZON_HEIGHTS: struct.pack("<4I", 2**20, 2**20, 4, 2**22)}, "more than"),
    ({K.ZON_CALIBRATION: CALIBRATION_XML.replace(b"1E-09", b"-1")}, "not a positive length"),
    ({K.ZON_CALIBRATION: b"<Calibration><XYCalibration/></Calibration>"}, "lacks XYCalibration/MeterPerPixel"),
    ({K.ZON_CALIBRATION: b"<Calibration><unclosed></Calibration>"}, "not well-formed"),
    ({K.ZON_CALIBRATION: b'<!DOCTYPE a [<!ENTITY e "xxxxxxxx">]><Calibration>&e;</Calibration>'}, "refused"),
])
def test_zon_bad_members(tmp_path, members, message):
    with pytest.raises(FormatError, match=rf"bad\.zon: .*{message}"):
        K.read_zon(_zon(tmp_path, "bad.zon", members=members))


def test_zon_truncated_and_not_zon(tmp_path):
    data = _zon(tmp_path).read_bytes()
    for cut in (5, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(FormatError, match=r"cut\.zon: "):
            K.read_zon(_write(tmp_path, "cut.zon", data[:cut]))
    with pytest.raises(FormatError, match="not a Keyence ZON"):
        K.read_zon(_zon(tmp_path, "nobmp.zon", bmp=False))


def test_zon_sniff_does_not_claim_other_zips(tmp_path):
    zon = K.FORMATS[1]
    assert zon.matches_magic(_zon(tmp_path).read_bytes()[:4096])
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("main.xml", "<x/>")
    assert not zon.matches_magic(plain.getvalue())  # an x3p-like zip
    npz = io.BytesIO()
    np.savez(npz, heights=np.zeros(2))
    assert not zon.matches_magic(npz.getvalue())


def test_through_the_registry(tmp_path):
    import surfsight

    vk4 = _write(tmp_path, "scan.bin", vk4_bytes(RAW))
    assert surfsight.read(vk4).metadata["format"] == "vk4"
    zon = _zon(tmp_path, "scan.dat")
    surface = surfsight.read(zon)
    assert surface.metadata["format"] == "zon"
    np.testing.assert_allclose(surface.heights, ZRAW * 1e-9, rtol=1e-15)
