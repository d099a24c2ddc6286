"""Zygo MetroPro ``.dat`` and ``.datx`` (HDF5) readers.

MetroPro: the real file reproduces SurfaceTopography's asserted values; the 8x disagreement with
surfalize is pinned to the phase-resolution flag; synthetic files check the phase -> height
formula ``counts * S * W * O / R`` for every resolution, the sign flag and invalid points.
DATX: no real file exists here, so files are built with h5py following the published layout
(MetaData link table, /Data/Surface/{guid} with Unit, No Data and converter attributes).
"""

from __future__ import annotations

import struct
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from surfsight.errors import FormatError
from surfsight.io import zygo
from tests.conftest import topo_file

REAL = "surfacetopography_examples/metropro-1.dat"


def rms(heights: np.ndarray) -> float:
    valid = heights[~np.isnan(heights)]
    return float(np.sqrt(np.mean((valid - valid.mean()) ** 2)))


# ---------------------------------------------------------------------------- MetroPro: real file

def test_metropro_reproduces_surfacetopography_reference():
    s = zygo.read_metropro(topo_file(REAL))
    assert s.shape == (480, 640)  # (ny, nx) = (rows, cols); reference (nx, ny) = (640, 480)
    ly, lx = s.size_m
    assert lx == pytest.approx(0.0007028812979115173, rel=1e-6)
    assert ly == pytest.approx(0.000527160973433638, rel=1e-6)
    assert rms(s.heights) == pytest.approx(7.528822204734589e-08, rel=1e-6)
    assert not s.has_invalid
    assert s.metadata["instrument"] == "Zygo"
    assert s.metadata["channels"] == ["height", "intensity"]
    assert s.metadata["date"].startswith("2011-07-23")
    assert s.layers["intensity"].shape == s.shape


def test_metropro_height_scale_explains_the_8x_peer_disagreement():
    """S = 0.5, W = 570 nm, O = 1, phase_res = 1 (high: R = 32768 counts per fringe).

    surfalize maps the flags {1, 2, 3} to {4096, 32768, 131072}, so it reads flag 1 as R = 4096
    and reports Sq = 0.602306 um, exactly 32768 / 4096 = 8 times the true 75.29 nm.
    """
    s = zygo.read_metropro(topo_file(REAL))
    meta = s.metadata
    assert meta["interferometric_scale_factor"] == 0.5
    assert meta["wavelength_m"] == pytest.approx(570e-9, rel=1e-7)
    assert meta["obliquity_factor"] == 1.0
    assert meta["phase_resolution_flag"] == 1 and meta["counts_per_fringe"] == 32768
    assert meta["height_per_count_m"] == pytest.approx(0.5 * 570e-9 / 32768, rel=1e-7)
    wrong = rms(s.heights) * 32768 / 4096
    assert wrong == pytest.approx(0.602306e-6, rel=1e-5)  # surfalize's Sq, reproduced by the wrong R
    assert s.dx == pytest.approx(1.09825e-6, rel=1e-5)  # the lateral step both peers agree on


def test_metropro_intensity_channel_is_raw_counts():
    s = zygo.read_metropro(topo_file(REAL), channel="intensity")
    assert s.metadata["quantity"] == "intensity"
    assert 0 < np.nanmin(s.heights) and np.nanmax(s.heights) <= 255  # ac_range is 255
    with pytest.raises(FormatError, match="no channel 'phase'"):
        zygo.read_metropro(topo_file(REAL), channel="phase")


# ---------------------------------------------------------------------------- MetroPro: synthetic

MAGIC = {1: b"\x88\x1b\x03\x6f", 2: b"\x88\x1b\x03\x70", 3: b"\x88\x1b\x03\x71"}


def metropro_bytes(counts: np.ndarray, *, intensity: np.ndarray | None = None, phase_res: int = 0,
                   sign: int = 0, scale: float = 0.5, wavelength: float = 632.8e-9, obliquity: float = 1.0,
                   lateral: float = 2e-6, header_format: int = 1, claim: tuple[int, int] | None = None) -> bytes:
    """A MetroPro file following the Reference Guide's offsets (big-endian header)."""
    size = 4096 if header_format == 3 else 834
    h = bytearray(size)
    rows, cols = counts.shape if claim is None else claim
    buckets = 0 if intensity is None else 1
    ih, iw = (0, 0) if intensity is None else intensity.shape
    struct.pack_into(">4sHIh", h, 0, MAGIC[header_format], header_format, size, 1)
    struct.pack_into(">hhHHHhI", h, 48, 0, 0, iw, ih, buckets, 255, 2 * buckets * iw * ih)
    struct.pack_into(">hhHHI", h, 64, 0, 0, cols, rows, (4 * cols * rows) & 0xFFFFFFFF)
    struct.pack_into(">i", h, 76, 1_600_000_000)
    struct.pack_into(">6f", h, 164, scale, wavelength, 0.0, obliquity, 0.0, lateral)
    struct.pack_into(">h", h, 218, phase_res)
    struct.pack_into(">h", h, 232, sign)
    body = b"" if intensity is None else intensity.astype(">u2").tobytes()
    return bytes(h) + body + counts.astype(">i4").tobytes()


@pytest.mark.parametrize(("phase_res", "per_fringe"), [(0, 4096), (1, 32768), (2, 131072)])
@pytest.mark.parametrize("header_format", [1, 2, 3])
def test_metropro_phase_to_height(tmp_path, phase_res, per_fringe, header_format):
    counts = np.array([[0, 1000, -2000], [per_fringe, 5, 2147483640]], dtype=np.int64)
    path = tmp_path / "s.dat"
    path.write_bytes(metropro_bytes(counts, phase_res=phase_res, scale=0.5, wavelength=600e-9,
                                    obliquity=1.25, lateral=3e-6, header_format=header_format))
    s = zygo.read_metropro(path)
    q = 0.5 * float(np.float32(600e-9)) * 1.25 / per_fringe
    expected = counts.astype(float) * q
    expected[1, 2] = np.nan
    np.testing.assert_allclose(s.heights, expected, rtol=1e-12, equal_nan=True)
    # one full fringe of counts is S * W * O of height: 0.375 um here
    assert s.heights[1, 0] == pytest.approx(0.5 * 600e-9 * 1.25, rel=1e-7)
    assert s.spacing == (pytest.approx(3e-6), pytest.approx(3e-6))


def test_metropro_sign_flag_inverts_and_intensity_is_cropped(tmp_path):
    counts = np.arange(6, dtype=np.int64).reshape(2, 3) * 100
    intensity = np.arange(6).reshape(2, 3) + 10
    intensity[0, 0] = 65535
    path = tmp_path / "inverted.dat"
    path.write_bytes(metropro_bytes(counts, intensity=intensity, sign=1))
    s = zygo.read_metropro(path)
    assert np.all(s.heights.ravel()[1:] < 0) and s.metadata["data_inverted"]
    np.testing.assert_array_equal(s.layers["intensity"][0, 1:], intensity[0, 1:])
    assert np.isnan(s.layers["intensity"][0, 0])


def test_metropro_unknown_lateral_resolution_needs_spacing(tmp_path):
    path = tmp_path / "nolateral.dat"
    path.write_bytes(metropro_bytes(np.zeros((2, 2)), lateral=0.0))
    with pytest.raises(FormatError, match="nolateral.dat: lateral resolution"):
        zygo.read_metropro(path)
    assert zygo.read_metropro(path, spacing=(1e-6, 2e-6)).spacing == (1e-6, 2e-6)


def test_metropro_bad_flags_are_refused(tmp_path):
    path = tmp_path / "flag.dat"
    path.write_bytes(metropro_bytes(np.zeros((2, 2)), phase_res=3))
    with pytest.raises(FormatError, match="flag.dat: unknown phase resolution flag 3"):
        zygo.read_metropro(path)
    data = bytearray(metropro_bytes(np.zeros((2, 2)), header_format=1))
    data[4:6] = struct.pack(">H", 3)  # magic of format 1 with format 3 in the header
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="header format"):
        zygo.read_metropro(path)


# ---------------------------------------------------------------------------- MetroPro: bad input

@pytest.mark.parametrize("fraction", [0.0005, 0.1, 0.5, 0.9, 0.9999])
def test_metropro_truncated_real_file(tmp_path, fraction):
    data = topo_file(REAL).read_bytes()
    path = tmp_path / "cut.dat"
    path.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(FormatError, match="cut.dat"):
        zygo.read_metropro(path)


@pytest.mark.parametrize("side", [32767, 65535])
def test_metropro_huge_claim_is_refused_in_bounded_memory(tmp_path, side):
    """Sizes are 16-bit: 32767^2 (1.1e9 points, byte count consistent) and 65535^2 (4.3e9 points,
    the 32-bit byte count wraps) are the largest claims a header can make."""
    path = tmp_path / "huge.dat"
    path.write_bytes(metropro_bytes(np.zeros((1, 1)), claim=(side, side))[:834] + b"\0" * 64)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="huge.dat: .*(phase data: header claims|does not match)"):
            zygo.read_metropro(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(magic=st.sampled_from(sorted(MAGIC.values())), tail=st.binary(max_size=3000))
def test_metropro_magic_then_random_bytes(tmp_path, magic, tail):
    path = tmp_path / "garbage.dat"
    path.write_bytes(magic + tail)
    with pytest.raises(FormatError, match="garbage.dat"):
        zygo.read_metropro(path)


def test_metropro_format_entry_detects_by_magic():
    fmt = next(f for f in zygo.FORMATS if f.name == "metropro")
    assert fmt.matches_magic(b"\x88\x1b\x03\x70" + b"\0" * 10)
    assert not fmt.matches_magic(b"\x88\x1b\x03\x72" + b"\0" * 10)


# ---------------------------------------------------------------------------- DATX (HDF5)

STR = h5py.string_dtype()
CONVERTER = np.dtype([("Category", STR), ("BaseUnit", STR), ("Parameters", h5py.vlen_dtype(np.float64))])
SURFACE = "/Data/Surface/{11111111-2222-3333-4444-555555555555}"
INTENSITY = "/Data/Intensity/{66666666-2222-3333-4444-555555555555}"


def converter(category: str, unit: str, parameters: list[float]) -> np.ndarray:
    c = np.empty(1, dtype=CONVERTER)
    c[0] = (category, unit, np.asarray(parameters, dtype=np.float64))
    return c


def write_datx(path: Path, values: np.ndarray, *, unit: str = "NanoMeters", no_data: float | None = None,
               dx: float = 1e-6, dy: float = 1e-6, intensity: np.ndarray | None = None,
               old_layout: bool = False, extra: dict | None = None, shape: tuple | None = None) -> None:
    """A DATX file as Zygo Mx writes it (the layout SurfaceTopography, prysm, Gwyddion read)."""
    with h5py.File(path, "w") as h5:
        surface_path = "/Measurement/Surface" if old_layout else SURFACE
        rows = [("Root", "Measurement", "{M}"), ("{M}", "Surface", "{S}"), ("{S}", "Path", surface_path)]
        if intensity is not None and not old_layout:
            rows += [("{M}", "Intensity", "{I}"), ("{I}", "Path", INTENSITY)]
        if not old_layout:
            h5.create_dataset("MetaData", data=np.array(rows, dtype=[("Source", STR), ("Link", STR),
                                                                     ("Destination", STR)]))
        if shape is not None:  # a claimed (huge) shape with no data written
            dataset = h5.create_dataset(surface_path, shape=shape, dtype="f4", chunks=(64, 64))
        else:
            dataset = h5.create_dataset(surface_path, data=values)
        if intensity is not None:
            h5.create_dataset("/Measurement/Intensity" if old_layout else INTENSITY, data=intensity)
        dataset.attrs["X Converter"] = converter("LateralCat", "Pixels", [0.0, dx, 0.0, 0.0])
        dataset.attrs["Y Converter"] = converter("LateralCat", "Pixels", [0.0, dy, 0.0, 0.0])
        dataset.attrs["Z Converter"] = converter("HeightCat", unit, [632.8e-9, 0.5, 1.0, 0.0])
        dataset.attrs["Unit"] = np.array([unit], dtype=STR)
        if no_data is not None:
            dataset.attrs["No Data"] = np.array([no_data])
        for key, value in (extra or {}).items():
            dataset.attrs[key] = np.array([value])


UNITS = {"NanoMeters": 1e-9, "MicroMeters": 1e-6, "MilliMeters": 1e-3, "Meters": 1.0}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
                         elements=st.floats(-1e6, 1e6) | st.just(np.nan)),
       unit=st.sampled_from(sorted(UNITS)), dx=st.floats(1e-9, 1e-3), dy=st.floats(1e-9, 1e-3),
       marked=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=4))
def test_datx_round_trip_of_values(tmp_path, values, unit, dx, dy, marked):
    no_data = float(np.finfo(np.float64).max)
    stored = values.copy()
    for r, c in marked:
        stored[r % stored.shape[0], c % stored.shape[1]] = no_data
    if (np.isnan(stored) | (stored == no_data)).all():
        stored[0, 0] = 1.0  # a surface needs at least one measured point
    path = tmp_path / "rt.datx"
    write_datx(path, stored, unit=unit, no_data=no_data, dx=dx, dy=dy)
    s = zygo.read_datx(path)
    expected = np.where(stored == no_data, np.nan, stored) * UNITS[unit]
    np.testing.assert_array_equal(s.heights, expected)  # NaN where marked or NaN in the file
    assert s.spacing == (dy, dx)
    assert s.shape == stored.shape  # rows along y, columns along x
    assert s.metadata["original_units"] == unit


def test_datx_orientation_intensity_and_metadata(tmp_path):
    values = np.arange(12, dtype=np.float64).reshape(3, 4)
    intensity = np.arange(12, dtype=np.uint16).reshape(3, 4) * 7
    path = tmp_path / "layout.datx"
    write_datx(path, values, dx=1e-6, dy=2e-6, intensity=intensity, no_data=5.0,
               extra={"Wavelength": 632.8e-9})
    s = zygo.read_datx(path)
    assert s.shape == (3, 4) and s.size_m == pytest.approx((6e-6, 4e-6))
    assert s.heights[0, 3] == pytest.approx(3e-9) and s.heights[2, 1] == pytest.approx(9e-9)
    assert np.isnan(s.heights[1, 1]) and s.invalid_fraction == pytest.approx(1 / 12)
    np.testing.assert_array_equal(s.layers["intensity"], intensity)
    assert s.metadata["channels"] == ["height", "intensity"]
    assert s.metadata["wavelength_m"] == pytest.approx(632.8e-9)
    assert zygo.read_datx(path, channel="intensity").metadata["quantity"] == "intensity"


def test_datx_old_layout_and_fringes(tmp_path):
    values = np.array([[0.0, 1.0], [2.0, -1.0]])
    path = tmp_path / "old.datx"
    write_datx(path, values, unit="Fringes", old_layout=True,
               extra={"Wavelength": 600e-9, "Interferometric Scale Factor": 0.5, "Obliquity Factor": 1.1})
    s = zygo.read_datx(path)
    np.testing.assert_allclose(s.heights, values * 600e-9 * 0.5 * 1.1)
    bad = tmp_path / "nowave.datx"
    write_datx(bad, values, unit="Fringes", old_layout=True)
    with pytest.raises(FormatError, match="nowave.datx: heights are in Fringes"):
        zygo.read_datx(bad)


def test_datx_refuses_an_oversized_dataset_before_reading(tmp_path):
    path = tmp_path / "huge.datx"
    write_datx(path, None, shape=(1_000_000, 1_000_000))
    assert path.stat().st_size < 1_000_000  # the claim costs nothing on disk
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=r"huge.datx: .*1e\+12 points"):
            zygo.read_datx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


def test_datx_bad_files(tmp_path):
    good = tmp_path / "good.datx"
    write_datx(good, np.ones((40, 50)))
    data = good.read_bytes()
    for fraction in (0.01, 0.3, 0.7, 0.99):
        cut = tmp_path / f"cut{int(fraction * 100)}.datx"
        cut.write_bytes(data[:int(len(data) * fraction)])
        with pytest.raises(FormatError, match=cut.name):
            zygo.read_datx(cut)
    other = tmp_path / "other.datx"
    with h5py.File(other, "w") as h5:
        h5.create_dataset("something", data=np.zeros(3))
    with pytest.raises(FormatError, match="other.datx: .*no Zygo surface dataset"):
        zygo.read_datx(other)
    unit = tmp_path / "unit.datx"
    write_datx(unit, np.ones((2, 2)), unit="Furlongs")
    with pytest.raises(FormatError, match="unit.datx: unknown height unit 'Furlongs'"):
        zygo.read_datx(unit)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=3000))
def test_datx_magic_then_random_bytes(tmp_path, tail):
    path = tmp_path / "garbage.datx"
    path.write_bytes(zygo.HDF5_MAGIC + tail)
    with pytest.raises(FormatError, match="garbage.datx"):
        zygo.read_datx(path)


def test_datx_sniff_does_not_claim_other_hdf5():
    fmt = next(f for f in zygo.FORMATS if f.name == "datx")
    assert fmt.sniff(zygo.HDF5_MAGIC + b"\0" * 100 + b"MetaData", None)
    assert fmt.sniff(zygo.HDF5_MAGIC, Path("x.datx"))
    assert not fmt.sniff(zygo.HDF5_MAGIC + b"\0" * 100, Path("x.h5"))
