"""Gwyddion .gwy (read) and .gsf (read and write): the real AFM file, constructed files that follow
the published layouts, round trips, and hostile or broken input."""

from __future__ import annotations

import math
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight import FormatError, Surface
from surfsight.io import gwyddion as G
from tests.conftest import topo_file

SAMPLE = "afmreader_gwy/sample_0.gwy"
TITLES = ["ZSensor", "Peak Force Error", "Stiffness", "LogStiffness", "Adhesion", "Deformation",
          "Dissipation", "Height"]


# --- a minimal GWY serializer for constructed test files (format: Gwyddion user guide) -----------
def _component(name: str, value) -> bytes:
    key = name.encode() + b"\0"
    if isinstance(value, bool):
        return key + b"b" + bytes([value])
    if isinstance(value, int):
        return key + b"i" + struct.pack("<i", value)
    if isinstance(value, float):
        return key + b"d" + struct.pack("<d", value)
    if isinstance(value, str):
        return key + b"s" + value.encode() + b"\0"
    if isinstance(value, np.ndarray):
        return key + b"D" + struct.pack("<I", value.size) + value.astype("<f8").tobytes()
    if isinstance(value, tuple):  # ("TypeName", {components})
        return key + b"o" + _object(*value)
    raise TypeError(value)


def _object(type_name: str, components: dict) -> bytes:
    body = b"".join(_component(k, v) for k, v in components.items())
    return type_name.encode() + b"\0" + struct.pack("<I", len(body)) + body


def _unit(text: str) -> tuple:
    return ("GwySIUnit", {"unitstr": text})


def _field(data: np.ndarray, xreal: float, yreal: float, xy: str = "m", z: str = "m", **extra) -> tuple:
    yres, xres = data.shape
    return ("GwyDataField", {"xres": xres, "yres": yres, "xreal": xreal, "yreal": yreal, **extra,
                             "si_unit_xy": _unit(xy), "si_unit_z": _unit(z), "data": data.ravel()})


def gwy_file(path: Path, container: dict) -> Path:
    path.write_bytes(b"GWYP" + _object("GwyContainer", container))
    return path


# --- the real file ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample() -> Path:
    return topo_file(SAMPLE)


def test_real_file_channels(sample):
    assert G.gwy_channels(sample) == TITLES


def test_real_file_default_channel_reproduces_afmreader(sample):
    surface = G.read_gwy(sample)
    assert surface.metadata["channel"] == "ZSensor"
    assert surface.metadata["channels"] == TITLES
    assert surface.shape == (512, 512)
    # AFMReader 0.0.7: pixel_to_nm_scaling 0.8468632812499975 and sum of the ZSensor image in nm
    # 33836850.232917726. AFMReader only multiplies Gwyddion's SI values (metres) by 1e9, so in
    # metres the spacing is 0.8468632812499975e-9 and the sum 0.033836850232917726.
    assert surface.spacing == pytest.approx((0.8468632812499975e-9,) * 2, rel=1e-15)
    assert surface.size_m == pytest.approx((433.594e-9, 433.594e-9), rel=1e-12)
    assert surface.heights.sum() == pytest.approx(0.033836850232917726, rel=1e-13)
    assert surface.heights.sum() * 1e9 == pytest.approx(33836850.232917726, rel=1e-13)
    assert not surface.has_invalid
    assert surface.metadata["original_units"] == {"xy": "m", "z": "m"}


def test_real_file_peer_values_identify_their_channels(sample):
    # SurfaceTopography 1.27.1 reports rms 1.69117e-09 m for its default channel: that is ZSensor
    # (channel 0). surfalize 0.19.2 reports Sq 0.00301185 um: that is the channel titled "Height"
    # (channel 7). Both are rms about the mean, without levelling.
    def rms(h):
        return float(np.sqrt(np.mean((h - h.mean()) ** 2)))

    assert rms(G.read_gwy(sample).heights) == pytest.approx(1.69117e-09, rel=1e-5)
    assert rms(G.read_gwy(sample, "Height").heights) == pytest.approx(0.00301185e-6, rel=1e-5)
    assert rms(G.read_gwy(sample, "ZSensor").heights) != pytest.approx(0.00301185e-6, rel=1e-2)


def test_real_file_channel_by_name_number_and_non_height_units(sample):
    assert G.read_gwy(sample, "height").metadata["channel"] == "Height"  # case-insensitive
    assert G.read_gwy(sample, "7").metadata["channel"] == "Height"
    assert G.read_gwy(sample, "/2/data").metadata["channel"] == "Stiffness"
    stiffness = G.read_gwy(sample, "Stiffness")
    assert stiffness.metadata["z_unit"] == "Pa"  # a signal, left in its own unit
    assert 1e7 < np.median(stiffness.heights) < 1e10
    assert G.read_gwy(sample, "LogStiffness").metadata["original_units"]["z"] == ""
    with pytest.raises(FormatError, match=r"sample_0\.gwy: no channel 'Phase'.*ZSensor"):
        G.read_gwy(sample, "Phase")


@pytest.mark.parametrize("fraction", [0.0, 0.0000005, 0.00001, 0.0003, 0.25, 0.5, 0.9, 0.999999])
def test_truncated_real_file_is_refused(tmp_path, sample, fraction):
    data = sample.read_bytes()
    cut = max(3, int(len(data) * fraction))
    path = tmp_path / "cut.gwy"
    path.write_bytes(data[:cut])
    start = time.perf_counter()
    with pytest.raises(FormatError, match=r"cut\.gwy: "):
        G.read_gwy(path)
    assert time.perf_counter() - start < 10  # a hang guard, not a timing claim


# --- constructed files --------------------------------------------------------------------------
def test_constructed_units_mask_offsets_and_titles(tmp_path):
    z = np.arange(6.0).reshape(2, 3)  # nm
    mask = np.array([[0, 1, 0], [0, 0, 1]], dtype=float)
    path = gwy_file(tmp_path / "c.gwy", {
        "/0/data": _field(np.ones((2, 3)), 3.0, 2.0, xy="um", z="V"),
        "/0/data/title": "Amplitude",
        "/3/data": _field(z, 30.0, 20.0, xy="um", z="nm", xoff=1.0, yoff=2.0),
        "/3/data/title": "Topography",
        "/3/mask": _field(mask, 30.0, 20.0),
    })
    surface = G.read_gwy(path)
    assert surface.metadata["channels"] == ["Amplitude", "Topography"]
    assert surface.metadata["channel"] == "Topography"
    np.testing.assert_allclose(surface.heights, z * 1e-9, rtol=1e-15)
    assert surface.spacing == pytest.approx((10e-6, 10e-6), rel=1e-15)
    assert surface.metadata["offset"] == pytest.approx((2e-6, 1e-6))
    np.testing.assert_array_equal(surface.layers["mask"], mask > 0)
    assert not surface.has_invalid  # a mask never makes heights NaN
    amplitude = G.read_gwy(path, "Amplitude")
    assert amplitude.metadata["z_unit"] == "V"
    np.testing.assert_array_equal(amplitude.heights, 1.0)


def test_default_channel_falls_back_to_length_unit_then_first(tmp_path):
    path = gwy_file(tmp_path / "f.gwy", {
        "/0/data": _field(np.ones((2, 2)), 1.0, 1.0, z="A"),  # ampere, not angstrom
        "/1/data": _field(np.ones((2, 2)), 1.0, 1.0, z="m"),
    })
    surface = G.read_gwy(path)
    assert surface.metadata["channel"] == "Channel 1"
    titled = gwy_file(tmp_path / "t.gwy", {
        "/0/data": _field(np.ones((2, 2)), 1.0, 1.0, z="V"), "/0/data/title": "Height",  # uncalibrated
        "/1/data": _field(np.ones((2, 2)), 1.0, 1.0, z="m"), "/1/data/title": "Error"})
    assert G.read_gwy(titled).metadata["channel"] == "Error"
    only_current = gwy_file(tmp_path / "g.gwy", {"/5/data": _field(np.ones((2, 2)), 1.0, 1.0, z="A")})
    with pytest.raises(FormatError, match=r"g\.gwy: no channel has a length.*Channel 5.*channel="):
        G.read_gwy(only_current)
    assert G.read_gwy(only_current, "5").metadata["z_unit"] == "A"


def test_container_without_channels_and_bad_geometry(tmp_path):
    with pytest.raises(FormatError, match="no image channel"):
        G.read_gwy(gwy_file(tmp_path / "e.gwy", {"/filename": "x"}))
    with pytest.raises(FormatError, match="physical size -1.0 x 1.0 is not positive"):
        G.read_gwy(gwy_file(tmp_path / "n.gwy", {"/0/data": _field(np.ones((2, 2)), -1.0, 1.0)}))
    bad = ("GwyDataField", {"xres": 4, "yres": 4, "xreal": 1.0, "yreal": 1.0, "data": np.ones(3)})
    with pytest.raises(FormatError, match=r"data array holds 3 values but xres\*yres = 4\*4 = 16"):
        G.read_gwy(gwy_file(tmp_path / "s.gwy", {"/0/data": bad}), "0")
    with pytest.raises(FormatError, match="not a GwyContainer"):
        path = tmp_path / "o.gwy"
        path.write_bytes(b"GWYP" + _object("GwySIUnit", {"unitstr": "m"}))
        G.read_gwy(path)


def test_hostile_nesting_is_refused_fast(tmp_path):
    inner = _object("GwySIUnit", {"unitstr": "m"})
    for _ in range(5000):
        body = b"x\0o" + inner
        inner = b"N\0" + struct.pack("<I", len(body)) + body
    path = tmp_path / "deep.gwy"
    path.write_bytes(b"GWYP" + inner)
    with pytest.raises(FormatError, match=r"deep\.gwy: .*nested more than"):
        G.read_gwy(path)


@pytest.mark.parametrize("count", [2**32 - 1, 2**31, 10**9])
def test_array_claiming_huge_count_is_refused(tmp_path, count):
    body = b"xres\0i" + struct.pack("<i", 2**15) + b"yres\0i" + struct.pack("<i", 2**15)
    body += b"data\0D" + struct.pack("<I", count) + b"\0" * 64
    field = b"GwyDataField\0" + struct.pack("<I", len(body)) + body
    top = b"/0/data\0o" + field
    path = tmp_path / "huge.gwy"
    path.write_bytes(b"GWYP" + b"GwyContainer\0" + struct.pack("<I", len(top)) + top)
    with pytest.raises(FormatError, match=r"huge\.gwy: .*claims \d+ items"):
        G.read_gwy(path)


def test_object_size_beyond_file_and_trailing_bytes(tmp_path):
    path = tmp_path / "size.gwy"
    path.write_bytes(b"GWYP" + b"GwyContainer\0" + struct.pack("<I", 2**31) + b"abc")
    with pytest.raises(FormatError, match="claims 2147483648 bytes"):
        G.read_gwy(path)
    good = _object("GwyContainer", {"/0/data": _field(np.ones((2, 2)), 1.0, 1.0)})
    path.write_bytes(b"GWYP" + good + b"junk")
    with pytest.raises(FormatError, match="unexpected bytes"):
        G.read_gwy(path)
    path.write_bytes(b"GWYO" + good)
    with pytest.raises(FormatError, match="GWYO"):
        G.read_gwy(path)


def test_all_component_types_parse():
    body = (b"b\0b\x01" + b"c\0cZ" + b"q\0q" + struct.pack("<q", -5) + b"C\0C" + struct.pack("<I", 2) + b"ab"
            + b"I\0I" + struct.pack("<I", 2) + struct.pack("<2i", 1, -1)
            + b"Q\0Q" + struct.pack("<I", 1) + struct.pack("<q", 7)
            + b"S\0S" + struct.pack("<I", 2) + b"x\0yz\0"
            + b"O\0O" + struct.pack("<I", 1) + _object("GwySIUnit", {"unitstr": "m"})
            + b"B\0B" + struct.pack("<I", 3) + b"\x00\x01\x01")
    root = G.parse_gwy(b"GWYP" + b"T\0" + struct.pack("<I", len(body)) + body)
    assert root["b"] is True and root["c"] == "Z" and root["q"] == -5 and root["C"] == b"ab"
    assert list(root["I"]) == [1, -1] and list(root["Q"]) == [7] and root["S"] == ["x", "yz"]
    assert root["O"][0]["unitstr"] == "m" and root["B"] == b"\x00\x01\x01"
    with pytest.raises(FormatError, match="unknown component type 'z'"):
        G.parse_gwy(b"GWYP" + b"T\0" + struct.pack("<I", 3) + b"a\0z")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=10**6), value=st.integers(min_value=0, max_value=255))
def test_byte_corruption_gives_a_surface_or_a_format_error(tmp_path, position, value):
    data = bytearray(b"GWYP" + _object("GwyContainer", {
        "/0/data": _field(np.linspace(0, 1, 12).reshape(3, 4), 4.0, 3.0, xy="um", z="nm"),
        "/0/data/title": "Height"}))
    data[position % len(data)] = value
    path = tmp_path / "flip.gwy"
    path.write_bytes(bytes(data))
    try:
        surface = G.read_gwy(path)
    except FormatError as exc:
        assert "flip.gwy" in str(exc)
        return
    assert isinstance(surface, Surface) and surface.heights.size >= 1


# --- GSF ----------------------------------------------------------------------------------------
def _gsf_bytes(header_lines: list[str], values: np.ndarray) -> bytes:
    header = ("Gwyddion Simple Field 1.0\n" + "".join(f"{line}\n" for line in header_lines)).encode()
    return header + b"\0" * (4 - len(header) % 4) + values.astype("<f4").tobytes()


def test_gsf_reads_a_file_built_from_the_specification(tmp_path):
    values = np.array([[1.0, 2.0, np.nan], [4.0, 5.5, -6.0]])
    path = tmp_path / "spec.gsf"
    path.write_bytes(_gsf_bytes(["XRes = 3", "YRes = 2", "XReal = 6", "YReal = 4", "XYUnits = um",
                                 "ZUnits = nm", "Title = Topo  graphy", "Operator = Ada"], values))
    surface = G.read_gsf(path)
    assert surface.spacing == pytest.approx((2e-6, 2e-6), rel=1e-15)
    np.testing.assert_allclose(surface.heights, values * 1e-9, rtol=1e-15)
    assert np.isnan(surface.heights[0, 2])
    assert surface.metadata["title"] == "Topo  graphy" and surface.metadata["Operator"] == "Ada"
    assert surface.metadata["original_units"] == {"xy": "um", "z": "nm"}


def test_gsf_defaults_and_non_length_z(tmp_path):
    path = tmp_path / "d.gsf"
    path.write_bytes(_gsf_bytes(["XRes = 2", "YRes = 1", "ZUnits = V"], np.array([1.0, 2.0])))
    surface = G.read_gsf(path)
    assert surface.spacing == (1.0, 0.5)  # XReal = YReal = 1 by default, metres assumed
    assert surface.metadata["z_unit"] == "V"
    assert surface.metadata["original_units"]["xy"] is None


@pytest.mark.parametrize(("lines", "payload", "message"), [
    (["YRes = 2"], 8, "mandatory field XRes"),
    (["XRes = 2", "YRes = two"], 8, "not a positive whole number"),
    (["XRes = 2", "YRes = 2"], 12, "only 12 bytes follow: truncated"),
    (["XRes = 2", "YRes = 2"], 20, "corrupt or extra bytes"),
    (["XRes = 2", "YRes = 2", "XReal = -1"], 16, "not positive"),
    (["XRes = 2", "YRes = 2", "XReal = nan"], 16, "not finite"),
    (["XRes = 2", "YRes = 2", "no equals sign"], 16, "not 'name = value'"),
    (["XRes = 2", "YRes = 2", "XYUnits = V"], 16, "not a length"),
    (["XRes = 100000", "YRes = 100000"], 16, "bytes follow|more than"),
    (["XRes = 0", "YRes = 2"], 16, "grid of"),
])
def test_gsf_bad_headers_are_refused(tmp_path, lines, payload, message):
    header = ("Gwyddion Simple Field 1.0\n" + "".join(f"{line}\n" for line in lines)).encode()
    path = tmp_path / "bad.gsf"
    path.write_bytes(header + b"\0" * (4 - len(header) % 4) + b"\0" * payload)
    with pytest.raises(FormatError, match=rf"bad\.gsf: .*({message})"):
        G.read_gsf(path)


def test_gsf_missing_nul_and_bad_padding(tmp_path):
    path = tmp_path / "p.gsf"
    path.write_bytes(b"Gwyddion Simple Field 1.0\nXRes = 1\nYRes = 1\n")
    with pytest.raises(FormatError, match="no NUL terminator"):
        G.read_gsf(path)
    header = b"Gwyddion Simple Field 1.0\nXRes = 1\nYRes = 1\n"  # 45 bytes: padding runs to byte 48
    path.write_bytes(header + b"\0\0x" + b"\0" * 4)
    with pytest.raises(FormatError, match="padding"):
        G.read_gsf(path)
    path.write_bytes(b"Gwyddion Simple Field 2.0\n")
    with pytest.raises(FormatError, match="not a Gwyddion Simple Field"):
        G.read_gsf(path)


finite = st.floats(min_value=-1e-2, max_value=1e-2, allow_nan=False, width=64)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.integers(1, 5), cols=st.integers(1, 5), data=st.data(),
       dy=st.floats(1e-9, 1e-3), dx=st.floats(1e-9, 1e-3),
       title=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=9))
def test_gsf_round_trip(tmp_path, rows, cols, data, dy, dx, title):
    values = np.array(data.draw(st.lists(st.one_of(finite, st.just(math.nan)), min_size=rows * cols,
                                         max_size=rows * cols)), dtype=float).reshape(rows, cols)
    if np.isnan(values).all():
        values[0, 0] = 0.0
    original = Surface(values, (dy, dx), metadata={"title": title, "instrument": "AFM x", "lens": 50,
                                                   "offset": (1e-6, -2e-6)})
    path = tmp_path / "rt.gsf"
    G.write_gsf(original, path)
    raw = path.read_bytes()
    start = len(raw) - rows * cols * 4
    assert start % 4 == 0 and start - 4 <= raw.index(b"\0") < start  # one to four NUL bytes of padding
    back = G.read_gsf(path)
    # Exact to float32: each height is what float32 rounding of the original gives.
    np.testing.assert_array_equal(back.heights, values.astype(np.float32).astype(np.float64))
    error = np.nanmax(np.abs(back.heights - values), initial=0.0)
    assert error <= np.nanmax(np.abs(values), initial=0.0) * 2**-24 + 1e-45
    assert back.spacing == pytest.approx((dy, dx), rel=4e-16)
    assert back.metadata["instrument"] == "AFM x" and back.metadata["lens"] == 50
    assert back.metadata["offset"] == pytest.approx((1e-6, -2e-6), rel=1e-15)
    assert back.metadata.get("title", "") == " ".join(title.split())


def test_gsf_writer_refuses_profiles(tmp_path):
    from surfsight import InputError, Profile

    with pytest.raises(InputError, match="areal surface"):
        G.write_gsf(Profile(np.zeros(3), 1e-6), tmp_path / "p.gsf")


def test_magic_and_registry_entries():
    gwy, gsf = G.FORMATS
    assert gwy.matches_magic(b"GWYPGwyContainer\0") and not gwy.matches_magic(b"GWYO")
    assert gsf.matches_magic(b"Gwyddion Simple Field 1.0\nXRes") and gsf.write is not None
    assert gwy.write is None and gwy.channels is G.gwy_channels


def test_through_the_registry(tmp_path, sample):
    import surfsight

    surface = surfsight.read(sample)
    assert surface.metadata["format"] == "gwy" and surface.metadata["channel"] == "ZSensor"
    assert surfsight.io.channels(sample) == TITLES
    assert surfsight.read(sample, "Height").metadata["channel"] == "Height"
    small = surface.crop((0, 8), (0, 5))
    target = surfsight.write(small, tmp_path / "small.gsf")
    back = surfsight.read(target)
    assert back.metadata["format"] == "gsf" and back.metadata["title"] == "ZSensor"
    np.testing.assert_allclose(back.heights, small.heights, rtol=2**-24)
    moved = tmp_path / "no_suffix.bin"
    moved.write_bytes(target.read_bytes())
    assert surfsight.read(moved).metadata["format"] == "gsf"  # found by magic, not suffix


def test_many_tiny_items_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "MAX_ITEMS", 1000)
    body = b"S\0S" + struct.pack("<I", 5000) + b"\0" * 5000
    path = tmp_path / "many.gwy"
    path.write_bytes(b"GWYP" + b"GwyContainer\0" + struct.pack("<I", len(body)) + body)
    with pytest.raises(FormatError, match=r"many\.gwy: .*more than 1000 components"):
        G.read_gwy(path)
