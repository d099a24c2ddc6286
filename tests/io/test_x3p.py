"""ISO 25178-72 x3p: every real file opens, upstream reference values, twins, round trips, bad input."""

from __future__ import annotations

import hashlib
import math
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError
from surfsight.io import x3p
from surfsight.surface import PointCloud, Profile, Surface
from tests.conftest import TOPOGRAPHY, topo_file

FDAM1 = "x3pio_format_samples/samples/iso25178-72-fdam1"
ALL_X3P = sorted(p.relative_to(TOPOGRAPHY).as_posix() for p in TOPOGRAPHY.rglob("*.x3p")) if TOPOGRAPHY.is_dir() else []


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equal where valid, NaN at the same places."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)) and \
        a[~np.isnan(a)].tobytes() == b[~np.isnan(b)].tobytes()


def _rezip(members: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}


# ------------------------------------------------------------------ every real file opens
@pytest.mark.parametrize("rel", ALL_X3P or ["(no data)"])
def test_every_real_x3p_opens(rel):
    path = topo_file(rel)
    obj = x3p.read(path)
    assert isinstance(obj, (Surface, Profile, PointCloud))
    assert obj.metadata["original_units"] == "m"
    assert obj.metadata["channel"] in obj.metadata["channels"]
    values = obj.heights
    assert values.size > 0 and not np.isinf(values).any()
    assert np.isfinite(values).any()
    assert x3p.sniff(path.read_bytes()[:4096], path)


# ------------------------------------------------------------------ upstream reference values
def test_x3p2_reference_values():
    s = x3p.read(topo_file("surfacetopography_examples/x3p-2.x3p"))
    assert isinstance(s, Surface) and s.shape == (650, 650)
    ly, lx = s.size_m  # physical sizes (x, y) upstream: x is along columns
    assert lx == pytest.approx(8.29767313942749e-05, rel=1e-6)
    assert ly == pytest.approx(0.0002044783737930349, rel=1e-6)
    assert not s.has_invalid
    z = s.heights[s.valid]
    assert math.sqrt(np.mean((z - z.mean()) ** 2)) == pytest.approx(7.728033273597876e-08, rel=1e-6)
    assert s.metadata["instrument"] == "Mountains Map Technology Software (DIGITAL SURF, version 6.2)"
    assert s.metadata["date"] == "1970-01-01T01:00:00"
    assert "warnings" not in s.metadata  # both MD5 checksums verify


@pytest.mark.parametrize("rel, shape, size_xy, rms", [
    ("opengps_x3p/KautschukInfiniteFocus.x3p", (634, 860), (0.00196079, 0.00144539), 3.39887e-06),
    ("opengps_x3p/SkiInfiniteFocus.x3p", (940, 1197), (0.00440363, 0.00345945), 1.8155e-05),
    ("opengps_x3p/ISO5436-sample1_bin.x3p", (4, 4), (0.064064, 0.064064), 0.610509),
    ("opengps_x3p/ISO5436-sample4_bin.x3p", (4, 4), (0.064064, 0.064064), 0.610538),
])
def test_part_b_sizes_and_rms(rel, shape, size_xy, rms):
    s = x3p.read(topo_file(rel))
    assert s.shape == shape
    ly, lx = s.size_m
    assert (lx, ly) == pytest.approx(size_xy, rel=1e-5)
    assert s.has_invalid  # all four have invalid points (peers report NaN)
    assert float(np.nanstd(s.heights)) == pytest.approx(rms, rel=1e-5)
    assert s.metadata.get("instrument")


def test_sample_land_nested_zip_with_mask():
    s = x3p.read(topo_file("x3ptools/sample-land.x3p"))
    assert s.shape == (256, 918) and s.spacing == (2.58e-06, 2.58e-06)
    assert s.invalid_fraction == pytest.approx(0.108, abs=0.002)
    assert s.metadata["instrument"] == "Sneox1 (Sensofar)"
    mask = s.layers["mask"]
    legend = {e["annotation"]: e for e in s.metadata["mask_legend"]}
    assert legend["background"]["value"] == 0 and legend["background"]["color"] == "#cd7f32"
    broken = mask == legend["break-off"]["value"]
    assert broken.sum() == 20900
    # rows of the mask image are rows of the heights: the break-off is at large y, where the scan
    # has most of its invalid points (flipped, the mask would cover well-measured rows)
    assert np.isnan(s.heights[broken]).mean() > 0.4 > np.isnan(s.heights[::-1][broken]).mean() + 0.3


def test_csafe_logo_z_increment_and_bad_checksum_are_reported():
    s = x3p.read(topo_file("x3ptools/csafe-logo.x3p"))
    assert s.shape == (419, 741)
    assert 1e-7 < np.nanmin(s.heights) < np.nanmax(s.heights) < 1e-6  # metres, increment 1e-6 not applied
    notes = " ".join(s.metadata["warnings"])
    assert "CZ Increment" in notes and "MD5 checksum in md5checksum.hex" in notes


# ------------------------------------------------------------------ XML vs binary twins
@pytest.mark.parametrize("xml_name, bin_name", [
    ("opengps_x3p/ISO5436-sample1.x3p", "opengps_x3p/ISO5436-sample1_bin.x3p"),
    ("opengps_x3p/ISO5436-sample4.x3p", "opengps_x3p/ISO5436-sample4_bin.x3p"),
] + [(f"{FDAM1}/{n}_xml.x3p", f"{FDAM1}/{n}_binary.x3p") for n in (
    "profile", "profile_int16", "profile_int32", "profile_layers", "surface", "surface_int32",
    "surface_layers", "surface_placed", "surface_absolute_placed", "surface_irregular",
    "point_cloud", "point_cloud_int16", "point_cloud_int32", "point_cloud_float64")])
def test_xml_and_binary_twins_are_identical(xml_name, bin_name):
    a, b = x3p.read(topo_file(xml_name)), x3p.read(topo_file(bin_name))
    assert type(a) is type(b)
    if isinstance(a, PointCloud):
        assert _same(a.points, b.points)
    else:
        assert _same(a.heights, b.heights) and a.spacing == b.spacing
        assert a.layers.keys() == b.layers.keys()
        assert all(_same(a.layers[k], b.layers[k]) for k in a.layers)


def test_opengps_samples_decode_as_documented():
    s1 = x3p.read(topo_file("opengps_x3p/ISO5436-sample1.x3p"))
    assert np.isnan(s1.heights[1, 3]) and s1.invalid_fraction == 1 / 16  # x fastest: Datum 8 is (x4, y2)
    assert s1.heights[0, 0] == 4.86219120804151e-1
    s4 = x3p.read(topo_file("opengps_x3p/ISO5436-sample4.x3p"))
    assert s4.heights[0, 0] == 986 * 0.001 + (-0.5)  # int16 with increment and offset
    assert np.nanmax(np.abs(s4.heights - s1.heights)) < 0.0006
    s3 = x3p.read(topo_file("opengps_x3p/ISO5436-sample3.x3p"))  # absolute int16 y: 1 + 2 * (1..4)
    assert s3.spacing == (2.0, 0.016016) and s3.metadata["y_offset"] == 3.0
    assert s3.metadata["z_offset"] == 2.0
    assert np.allclose(s3.heights - 2.0, s1.heights, rtol=0, atol=1e-12, equal_nan=True)
    s2 = x3p.read(topo_file("opengps_x3p/ISO5436-sample2.x3p"))
    assert isinstance(s2, PointCloud) and s2.shape == (16,)
    assert s2.points[1] == pytest.approx([0.1 + 1e-6, 2.0, 2.0 + 3.46341436648013e-3])


def test_absolute_regular_axes_give_a_surface_and_irregular_a_point_cloud():
    placed = x3p.read(topo_file(f"{FDAM1}/surface_placed_binary.x3p"))
    absolute = x3p.read(topo_file(f"{FDAM1}/surface_absolute_placed_binary.x3p"))
    assert isinstance(absolute, Surface) and absolute.shape == placed.shape == (90, 120)
    assert absolute.spacing == pytest.approx(placed.spacing, rel=1e-9)
    assert absolute.metadata["x_offset"] == pytest.approx(1e-6) and absolute.metadata["y_offset"] == pytest.approx(0.005)
    assert _same(absolute.heights, placed.heights)
    assert placed.metadata["rotation"][1][2] == pytest.approx(-0.17364817766693033)
    irregular = x3p.read(topo_file(f"{FDAM1}/surface_irregular_binary.x3p"))
    assert isinstance(irregular, PointCloud) and irregular.shape == (96 * 72,)
    assert irregular.metadata["grid"] == "irregular"


def test_profiles_layers_and_channels():
    p = x3p.read(topo_file(f"{FDAM1}/profile_layers_binary.x3p"))
    assert isinstance(p, Profile) and p.shape == (256,) and p.dx == 2e-6
    assert p.metadata["channels"] == ["layer 1", "layer 2", "layer 3"] and p.metadata["channel"] == "layer 1"
    second = x3p.read(topo_file(f"{FDAM1}/profile_layers_binary.x3p"), channel="layer 2")
    assert second.has_invalid and _same(second.heights, p.layers["layer 2"])
    assert x3p.channels(topo_file(f"{FDAM1}/surface_layers_binary.x3p")) == ["layer 1", "layer 2", "layer 3"]
    with pytest.raises(FormatError, match="no channel 'intensity'"):
        x3p.read(topo_file(f"{FDAM1}/profile_layers_binary.x3p"), channel="intensity")
    ints = x3p.read(topo_file(f"{FDAM1}/profile_int16_binary.x3p"))
    assert ints.invalid_fraction == 4 / 256  # valid.bin bits


def test_vendor_extensions_are_ignored_but_listed():
    s = x3p.read(topo_file(f"{FDAM1}/surface_extensions_binary.x3p"))
    assert s.shape == (80, 100)
    assert "http://www.example.com/lab/notes.txt" in s.metadata["vendor_extensions"]


def test_checksum_mismatch_is_a_warning_not_a_failure(tmp_path):
    members = _members(topo_file("opengps_x3p/ISO5436-sample1_bin.x3p"))
    data = bytearray(members["bindata/data.bin"])
    data[0] ^= 0x01  # flip one bit of the first height
    members["bindata/data.bin"] = bytes(data)
    members["main.xml"] = members["main.xml"].replace(b"user comment", b"edited comment")
    s = x3p.read(_rezip(members, tmp_path / "edited.x3p"))
    notes = " ".join(s.metadata["warnings"])
    assert "bindata/data.bin does not match" in notes and "does not match main.xml" in notes


# ------------------------------------------------------------------ writing and round trips
def test_written_file_is_standard(tmp_path):
    heights = np.arange(12, dtype=float).reshape(3, 4) * 1e-7
    heights[1, 2] = np.nan
    path = tmp_path / "w.x3p"
    x3p.write(Surface(heights, (2e-6, 1e-6), metadata={"instrument": "demo"}), path)
    m = _members(path)
    assert set(m) == {"main.xml", "bindata/data.bin", "bindata/valid.bin", "md5checksum.hex"}
    assert m["md5checksum.hex"] == f"{hashlib.md5(m['main.xml']).hexdigest()} *main.xml\n".encode()
    xml = m["main.xml"].decode()
    assert hashlib.md5(m["bindata/data.bin"]).hexdigest() in xml
    assert hashlib.md5(m["bindata/valid.bin"]).hexdigest() in xml
    assert re.search(r"<SizeX>4</SizeX>\s*<SizeY>3</SizeY>", xml)
    assert xml.index("<Record1>") < xml.index("<Record2>") < xml.index("<Record3>") < xml.index("<Record4>")
    raw = np.frombuffer(m["bindata/data.bin"], "<f8")
    assert np.isnan(raw[6]) and raw[1] == 1e-7  # x fastest; invalid points are NaN ...
    assert np.unpackbits(np.frombuffer(m["bindata/valid.bin"], np.uint8), bitorder="little")[:12].tolist() == \
        [1] * 6 + [0] + [1] * 5  # ... and cleared bits in valid.bin
    back = x3p.read(path)
    assert "warnings" not in back.metadata  # our own MD5s verify
    assert back.metadata["instrument"] == "demo"  # "unknown" placeholders are dropped


def test_no_valid_bin_without_invalid_points(tmp_path):
    x3p.write(Profile(np.linspace(0, 1e-6, 9), 1e-6), tmp_path / "p.x3p")
    assert "bindata/valid.bin" not in _members(tmp_path / "p.x3p")
    p = x3p.read(tmp_path / "p.x3p")
    assert isinstance(p, Profile) and p.dx == 1e-6 and _same(p.heights, np.linspace(0, 1e-6, 9))


def test_real_file_round_trip_keeps_mask_and_metadata(tmp_path):
    s = x3p.read(topo_file("x3ptools/sample-land.x3p"))
    x3p.write(s, tmp_path / "land.x3p")
    r = x3p.read(tmp_path / "land.x3p")
    assert _same(r.heights, s.heights) and r.spacing == s.spacing
    assert np.array_equal(r.layers["mask"], s.layers["mask"])
    assert r.metadata["mask_legend"] == s.metadata["mask_legend"]
    for key in ("instrument", "date", "creator", "comment"):
        assert r.metadata[key] == s.metadata[key]


def test_layers_x3p_cannot_hold_warn(tmp_path):
    s = Surface(np.zeros((2, 3)), 1e-6, layers={"intensity": np.ones((2, 3))})
    with pytest.warns(UserWarning, match="intensity"):
        x3p.write(s, tmp_path / "i.x3p")
    assert x3p.read(tmp_path / "i.x3p").layers == {}


finite = st.floats(-1e-3, 1e-3, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def surfaces(draw):
    ny, nx = draw(st.integers(1, 6)), draw(st.integers(2, 6))
    values = np.array(draw(st.lists(finite, min_size=ny * nx, max_size=ny * nx))).reshape(ny, nx)
    invalid = np.array(draw(st.lists(st.booleans(), min_size=ny * nx, max_size=ny * nx))).reshape(ny, nx)
    values[invalid] = np.nan
    spacing = (draw(st.floats(1e-9, 1e-2)), draw(st.floats(1e-9, 1e-2)))
    layers = {}
    if draw(st.booleans()):
        extra = np.array(draw(st.lists(finite, min_size=ny * nx, max_size=ny * nx))).reshape(ny, nx)
        extra[draw(st.integers(0, ny - 1)), 0] = np.nan
        layers["layer 2"] = extra
    if draw(st.booleans()):
        layers["mask"] = np.array(draw(st.lists(st.integers(0, 5), min_size=ny * nx, max_size=ny * nx)),
                                  dtype=np.uint8).reshape(ny, nx)
    return Surface(values, spacing, layers)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(s=surfaces())
def test_round_trip_surface_is_exact(tmp_path, s):
    path = tmp_path / "rt.x3p"
    x3p.write(s, path)
    r = x3p.read(path)
    assert isinstance(r, Surface) and r.spacing == s.spacing and _same(r.heights, s.heights)
    assert set(r.layers) == set(s.layers)
    if "layer 2" in s.layers:
        assert _same(r.layers["layer 2"], s.layers["layer 2"])
    if "mask" in s.layers:
        assert np.array_equal(r.layers["mask"], s.layers["mask"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(finite, st.just(math.nan)), min_size=1, max_size=20), dx=st.floats(1e-9, 1.0))
def test_round_trip_profile_is_exact(tmp_path, values, dx):
    p = Profile(np.array(values), dx)
    x3p.write(p, tmp_path / "p.x3p")
    r = x3p.read(tmp_path / "p.x3p")
    assert isinstance(r, Profile) and r.dx == dx and _same(r.heights, p.heights)


def test_round_trip_point_cloud(tmp_path):
    points = np.random.default_rng(3).normal(size=(50, 3)) * 1e-6
    points[7, 2] = np.nan
    x3p.write(PointCloud(points), tmp_path / "c.x3p")
    r = x3p.read(tmp_path / "c.x3p")
    assert isinstance(r, PointCloud) and _same(r.points, points)


# ------------------------------------------------------------------ detection
def test_sniff_needs_main_xml(tmp_path):
    real = topo_file("x3ptools/sample-land.x3p")
    assert x3p.sniff(real.read_bytes()[:4096], None)  # head only: main.xml's local header is near the start
    np.savez(tmp_path / "a.npz", z=np.zeros(3))
    plux = topo_file("x3ptools/test_metadata_only.plux")
    other = _rezip({"index.xml": b"<a/>", "deep/er/main.xml": b"<a/>"}, tmp_path / "o.zip")
    for path in (tmp_path / "a.npz", plux, other):
        assert not x3p.sniff(path.read_bytes()[:4096], path)
        assert not x3p.sniff(path.read_bytes()[:4096], None)
    assert not x3p.sniff(b"\x89PNG\r\n\x1a\n", None) and not x3p.sniff(b"PK\x03\x04garbage", None)
    fmt = x3p.FORMATS[0]
    assert fmt.matches_magic(real.read_bytes()[:4096]) and fmt.name == "x3p"


# ------------------------------------------------------------------ bad input
def _fails_fast(path: Path, match: str | None = None) -> FormatError:
    start = time.perf_counter()
    with pytest.raises(FormatError) as info:
        x3p.read(path)
    assert str(path) in str(info.value)
    assert time.perf_counter() - start < 10  # generous: a guard, not a benchmark
    if match:
        assert re.search(match, str(info.value)), str(info.value)
    return info.value


@pytest.mark.parametrize("rel", ["surfacetopography_examples/x3p-2.x3p", "x3ptools/sample-land.x3p",
                                 "opengps_x3p/ISO5436-sample1.x3p"])
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.7, 0.999])
def test_truncated_copies_fail(tmp_path, rel, fraction):
    data = topo_file(rel).read_bytes()
    cut = tmp_path / "cut.x3p"
    cut.write_bytes(data[: int(len(data) * fraction) or 1])
    _fails_fast(cut)


def test_short_data_bin_in_a_valid_zip_fails(tmp_path):
    members = _members(topo_file("surfacetopography_examples/x3p-2.x3p"))
    members["bindata/data.bin"] = members["bindata/data.bin"][:-8]
    _fails_fast(_rezip(members, tmp_path / "short.x3p"), "truncated")


def test_corrupt_member_fails(tmp_path):
    data = bytearray(topo_file("opengps_x3p/KautschukInfiniteFocus.x3p").read_bytes())
    for i in range(100_000, 100_064):
        data[i] ^= 0x5A
    (tmp_path / "bad.x3p").write_bytes(bytes(data))
    _fails_fast(tmp_path / "bad.x3p")


MAIN = """<?xml version="1.0" encoding="UTF-8"?>{dtd}
<p:ISO5436_2 xmlns:p="http://www.opengps.eu/2008/ISO5436_2"><Record1><Revision>ISO5436 - 2000</Revision>
<FeatureType>SUR</FeatureType><Axes>
<CX><AxisType>I</AxisType><DataType>D</DataType><Increment>1e-6</Increment><Offset>0</Offset></CX>
<CY><AxisType>I</AxisType><DataType>D</DataType><Increment>1e-6</Increment><Offset>0</Offset></CY>
<CZ><AxisType>A</AxisType><DataType>D</DataType></CZ></Axes></Record1>
<Record2><Comment>{comment}</Comment></Record2>
<Record3><MatrixDimension><SizeX>{nx}</SizeX><SizeY>{ny}</SizeY><SizeZ>1</SizeZ></MatrixDimension>
<DataLink><PointDataLink>bindata/data.bin</PointDataLink><MD5ChecksumPointData>0</MD5ChecksumPointData></DataLink>
</Record3><Record4><ChecksumFile>md5checksum.hex</ChecksumFile></Record4></p:ISO5436_2>"""


def _main(nx=4, ny=4, dtd="", comment="c") -> bytes:
    return MAIN.format(nx=nx, ny=ny, dtd=dtd, comment=comment).encode()


def test_hand_made_file_reads(tmp_path):  # the template below is a valid file: the failures are real
    s = x3p.read(_rezip({"main.xml": _main(), "bindata/data.bin": np.arange(16.0).tobytes()}, tmp_path / "ok.x3p"))
    assert s.shape == (4, 4) and s.heights[1, 0] == 4.0


def test_zip_bomb_fails(tmp_path):
    path = tmp_path / "bomb.x3p"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("main.xml", _main(nx=3535, ny=3535))
        with z.open("bindata/data.bin", "w", force_zip64=True) as member:
            chunk = bytes(2**20)
            for _ in range(100):  # 100 MB of zeros
                member.write(chunk)
    assert path.stat().st_size < 200_000
    _fails_fast(path, "bomb|over the limit|expands")


def test_billion_laughs_fails(tmp_path):
    dtd = "<!DOCTYPE p [" + '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>"
    main = _main(dtd=dtd, comment="&j;")
    _fails_fast(_rezip({"main.xml": main, "bindata/data.bin": bytes(128)}, tmp_path / "laughs.x3p"), "refused")


def test_huge_grid_claim_fails_before_allocating(tmp_path):
    main = _main(nx=10**6, ny=10**6)
    _fails_fast(_rezip({"main.xml": main, "bindata/data.bin": bytes(1024)}, tmp_path / "huge.x3p"), "1000000x1000000")
    main = _main(nx=3000, ny=3000)  # under the point limit, but the data cannot hold it
    _fails_fast(_rezip({"main.xml": main, "bindata/data.bin": bytes(1024)}, tmp_path / "big.x3p"), "only 1024 bytes")


@pytest.mark.parametrize("xml, match", [
    (b"<a/>", "root element"),
    (_main().replace(b"<DataType>D</DataType></CZ>", b"<DataType>Q</DataType></CZ>"), "DataType"),
    (_main().replace(b"<SizeX>4</SizeX>", b"<SizeX>-4</SizeX>"), "SizeX"),
    (_main().replace(b"<Increment>1e-6</Increment>", b"<Increment>abc</Increment>", 1), "Increment"),
    (_main().replace(b"<PointDataLink>bindata/data.bin", b"<PointDataLink>bindata/other.bin"), "other.bin"),
    (_main()[:-40], "not well-formed"),
])
def test_broken_main_xml_fails(tmp_path, xml, match):
    _fails_fast(_rezip({"main.xml": xml, "bindata/data.bin": bytes(128)}, tmp_path / "b.x3p"), match)


def test_not_an_x3p_zip_fails(tmp_path):
    _fails_fast(_rezip({"index.xml": b"<a/>"}, tmp_path / "n.x3p"), "no main.xml")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(min_size=0, max_size=2000))
def test_random_bytes_fail(tmp_path, blob):
    path = tmp_path / "r.x3p"
    path.write_bytes(b"PK\x03\x04" + blob if blob[:1] == b"P" else blob)
    _fails_fast(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_main_xml_never_crashes(tmp_path, data):
    members = _members(topo_file("opengps_x3p/ISO5436-sample3.x3p"))
    xml = bytearray(members["main.xml"])
    for _ in range(data.draw(st.integers(1, 6))):
        xml[data.draw(st.integers(0, len(xml) - 1))] = data.draw(st.integers(0, 255))
    members["main.xml"] = bytes(xml)
    path = _rezip(members, tmp_path / "m.x3p")
    try:
        obj = x3p.read(path)
    except FormatError as exc:
        assert str(path) in str(exc)
    else:
        assert isinstance(obj, (Surface, Profile, PointCloud))
