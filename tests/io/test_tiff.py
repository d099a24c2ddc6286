"""TIFF height maps: spacing from the argument, a sidecar, resolution tags or ImageJ calibration;
z units from the sidecar; refusal when nothing gives a spacing, and on broken or hostile files."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight import FormatError
from surfsight.io import tiff as T

Z = np.array([[0.0, 1.5e-6, np.nan], [-2e-6, 3e-6, 4e-6]], dtype=np.float32)


def _tif(tmp_path: Path, name: str, data=Z, sidecar: dict | None = None, sidecar_name: str | None = None,
         **kwargs) -> Path:
    path = tmp_path / name
    tifffile.imwrite(path, data, **kwargs)
    if sidecar is not None:
        (tmp_path / (sidecar_name or name + ".json")).write_text(json.dumps(sidecar))
    return path


def test_spacing_argument_and_float_metres(tmp_path):
    surface = T.read_tiff(_tif(tmp_path, "a.tif"), spacing=(1e-6, 2e-6))
    assert surface.spacing == (1e-6, 2e-6)
    np.testing.assert_array_equal(surface.heights, Z.astype(np.float64))
    assert np.isnan(surface.heights[0, 2])
    assert surface.metadata["spacing_source"] == "spacing argument"
    assert surface.metadata["channels"] == ["height"]


def test_no_spacing_is_refused_clearly(tmp_path):
    with pytest.raises(FormatError, match=r"a\.tif: the lateral spacing is unknown .*a\.tif\.json"):
        T.read_tiff(_tif(tmp_path, "a.tif"))


def test_sidecar_spacing_units_scale_offset_and_invalid(tmp_path):
    raw = np.array([[0, 100, 65535], [200, 300, 400]], dtype=np.uint16)
    side = {"spacing": ["0.5 um", "250nm"], "z_unit": "nm", "z_scale": 2.0, "z_offset": -10,
            "invalid": 65535, "instrument": "Profiler X", "date": "2024-01-02"}
    surface = T.read_tiff(_tif(tmp_path, "b.tif", raw, side))
    assert surface.spacing == pytest.approx((0.5e-6, 0.25e-6), rel=1e-15)
    expected = (raw * 2.0 - 10) * 1e-9
    expected[0, 2] = np.nan
    np.testing.assert_allclose(surface.heights, expected, rtol=1e-15)
    assert surface.metadata["instrument"] == "Profiler X" and surface.metadata["date"] == "2024-01-02"
    assert surface.metadata["spacing_source"] == "sidecar b.tif.json"


def test_stem_sidecar_and_argument_precedence(tmp_path):
    path = _tif(tmp_path, "c.tiff", sidecar={"spacing": 3e-6, "z_unit": "um"}, sidecar_name="c.json")
    surface = T.read_tiff(path)
    assert surface.spacing == (3e-6, 3e-6)
    np.testing.assert_allclose(surface.heights, Z.astype(np.float64) * 1e-6, rtol=1e-15)
    assert T.read_tiff(path, spacing=1e-9).spacing == (1e-9, 1e-9)  # the argument wins


def test_integer_tiff_without_z_unit_is_refused(tmp_path):
    path = _tif(tmp_path, "i.tif", np.ones((2, 2), dtype=np.int32))
    with pytest.raises(FormatError, match=r"i\.tif: integer TIFF \(int32\) holds raw counts"):
        T.read_tiff(path, spacing=1e-6)


def test_resolution_tags_in_centimetres_and_real_inches(tmp_path):
    cm = _tif(tmp_path, "cm.tif", resolution=(20000, 10000), resolutionunit="CENTIMETER")
    assert T.read_tiff(cm).spacing == pytest.approx((1e-6, 0.5e-6), rel=1e-12)
    inch = _tif(tmp_path, "in.tif", resolution=(25400, 25400), resolutionunit="INCH")
    assert T.read_tiff(inch).spacing == pytest.approx((1e-6, 1e-6), rel=1e-12)
    screen = _tif(tmp_path, "screen.tif", resolution=(72, 72), resolutionunit="INCH")
    with pytest.raises(FormatError, match="72 dpi is an image-program default"):
        T.read_tiff(screen)


def test_imagej_calibration(tmp_path):
    path = _tif(tmp_path, "ij.tif", imagej=True, resolution=(2.0, 2.0), metadata={"unit": "micron"})
    surface = T.read_tiff(path)
    assert surface.spacing == pytest.approx((0.5e-6, 0.5e-6), rel=1e-12)
    assert "ImageJ" in surface.metadata["spacing_source"]


def test_multi_page_channels(tmp_path):
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(Z)
        writer.write(Z * 2)
    assert T.tiff_channels(path) == ["page 0", "page 1"]
    np.testing.assert_allclose(T.read_tiff(path, "page 1", spacing=1e-6).heights, Z.astype(float) * 2)
    with pytest.raises(FormatError, match="no channel 'page 5'"):
        T.read_tiff(path, "page 5", spacing=1e-6)


@pytest.mark.parametrize(("data", "message"), [
    (np.zeros((3, 4, 3), dtype=np.uint8), "single-channel"),
    (np.zeros((2, 2), dtype=np.complex64), "cannot hold heights"),
])
def test_not_a_height_image(tmp_path, data, message):
    with pytest.raises(FormatError, match=message):
        T.read_tiff(_tif(tmp_path, "x.tif", data), spacing=1e-6)


@pytest.mark.parametrize(("sidecar", "message"), [
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
    (json.dumps({"spacing": "5 parsecs"}), "unknown unit"),
    (json.dumps({"spacing": [1e-6, 2e-6, 3e-6]}), r"one length or \[dy, dx\]"),
    (json.dumps({"spacing": -1e-6}), "positive length"),
    (json.dumps({"spacing": 1e-6, "z_scale": 0}), "z_scale must be finite and non-zero"),
    (json.dumps({"spacing": 1e-6, "invalid": "often"}), "invalid value 'often'"),
])
def test_bad_sidecars(tmp_path, sidecar, message):
    path = _tif(tmp_path, "s.tif")
    (tmp_path / "s.tif.json").write_text(sidecar)
    with pytest.raises(FormatError, match=message):
        T.read_tiff(path)


def _hand_made_tiff(width: int, height: int) -> bytes:
    """A minimal little-endian TIFF 6.0 file whose IFD claims ``width x height`` float32 pixels."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 32), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8 + 2 + 10 * 12 + 4), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 16),
               (339, 3, 1, 3)]
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                         else struct.pack("<I", value))
    return b"II*\0" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + bytes(16)


@pytest.mark.parametrize(("width", "height"), [(2**20, 2**20), (4000, 4000)])
def test_huge_claimed_dimensions_refused_before_reading(tmp_path, width, height):
    path = tmp_path / "huge.tif"
    path.write_bytes(_hand_made_tiff(width, height))
    with pytest.raises(FormatError, match=r"huge\.tif: "):
        T.read_tiff(path, spacing=1e-6)


def test_truncated_tiff(tmp_path):
    data = _tif(tmp_path, "full.tif", np.ones((40, 50), dtype=np.float32)).read_bytes()
    for cut in (3, 8, 20, len(data) // 2, len(data) - 1):
        path = tmp_path / "cut.tif"
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError, match=r"cut\.tif: "):
            T.read_tiff(path, spacing=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 10**6), value=st.integers(0, 255))
def test_byte_corruption_gives_surface_or_format_error(tmp_path, position, value):
    data = bytearray(_tif(tmp_path, "base.tif", np.ones((6, 5), dtype=np.float32)).read_bytes())
    data[position % len(data)] = value
    path = tmp_path / "flip.tif"
    path.write_bytes(bytes(data))
    try:
        surface = T.read_tiff(path, spacing=1e-6)
    except FormatError as exc:
        assert "flip.tif" in str(exc)
        return
    assert surface.heights.ndim == 2


def test_magic():
    fmt = T.FORMATS[0]
    assert fmt.matches_magic(b"II*\0\x08\0\0\0") and fmt.matches_magic(b"MM\0*\0\0\0\x08")
    assert not fmt.matches_magic(b"PK\x03\x04")


def test_through_the_registry(tmp_path):
    import surfsight

    path = _tif(tmp_path, "reg.tif")
    surface = surfsight.read(path, spacing=2e-6)
    assert surface.metadata["format"] == "tiff" and surface.spacing == (2e-6, 2e-6)
    with pytest.raises(FormatError, match="spacing is unknown"):
        surfsight.read(path)
