"""Bruker .opdx reader: the real Dektak profile against its vendor ASCII twin, closed-form
synthetic files (profile and map) and bad input."""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surfsight.errors import FormatError, UnsupportedFormatError
from surfsight.io import bruker
from surfsight.surface import Profile, Surface
from tests.conftest import topo_file


# --- a tiny writer for synthetic files ---------------------------------------------------

def _name(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def _varlen(n: int) -> bytes:
    return b"\x04" + struct.pack("<I", n)


def item(name: str, kind: int, payload: bytes) -> bytes:
    return _name(name) + bytes([kind]) + payload


TERM = _name("") + b"\x7f\xff\xff"


def container(name: str, *items: bytes, kind: int = 0x7D) -> bytes:
    body = b"".join(items) + TERM
    return item(name, kind, _varlen(len(body)) + body)


def quantity(name: str, value: float, symbol: str) -> bytes:
    body = struct.pack("<d", value) + _name("Unit") + _name(symbol) + bytes(12)
    return item(name, 0x13, _varlen(len(body)) + body)


def string(name: str, text: str) -> bytes:
    raw = text.encode()
    return item(name, 0x12, _varlen(len(raw)) + raw)


def double_array(name: str, values: np.ndarray) -> bytes:
    body = b"\x0d" + struct.pack("<I", 8) + values.astype("<f8").tobytes()
    return item(name, 0x40, _name("double * __ptr64") + _varlen(len(body)) + body)


def make_profile(values: np.ndarray, *, extent_um=10.0, scale=0.5, scale_unit="nm", count=None) -> bytes:
    n = len(values) if count is None else count
    raw = container("Raw", double_array("Array", values), item("NumPoints", 0x0B, struct.pack("<Q", n)),
                    quantity("Extent", extent_um, "µm"), quantity("DataScale", scale, scale_unit),
                    string("DataKind", "Height"), kind=0x46)
    channels = container("1D_Channels", item("Height", 0x42, _name("vector<wstring>") + _varlen(7) + _name("Raw")))
    stamp = b"\x01" + bytes.fromhex("8be1abc9ffcfd701")   # FILETIME of 2021-11-02 15:39:13 UTC
    meta = container("MetaData", string("DataKind", "Surface Profile"), channels,
                     item("TimeStamp", 0x15, stamp),
                     container("MeasurementSettings", string("InstrumentName", "Dektak Profiler")),
                     item("Flag", 0x01, b"\x01"), item("Count", 0x06, struct.pack("<i", -3)))
    return bruker.MAGIC + container("1D_Data", raw) + container("2D_Data") + meta + TERM


def make_map(z: np.ndarray, *, ext_x=3.0, ext_y=2.0) -> bytes:
    ny, nx = z.shape
    matrix_body = struct.pack("<II", ny, nx) + z.astype("<f4").tobytes()
    matrix = item("Matrix", 0x00, _name("Matrix<float>") + struct.pack("<I", 1) + _name("inner")
                  + _varlen(len(matrix_body)) + matrix_body)
    raw = container("Raw", matrix, item("Dimension1Points", 0x07, struct.pack("<I", ny)),
                    item("Dimension2Points", 0x07, struct.pack("<I", nx)),
                    quantity("Dimension1Extent", ext_y, "µm"), quantity("Dimension2Extent", ext_x, "µm"),
                    quantity("DataScale", 1.0, "nm"), kind=0x47)
    meta = container("MetaData", string("DataKind", "Surface Height"), string("PrimaryData2D", "Raw"))
    return bruker.MAGIC + container("1D_Data") + container("2D_Data", raw) + meta + TERM


VALUES = np.array([1.0, -2.0, 4.0, 8.0, 0.0, np.inf])


def test_closed_form_profile(tmp_path):
    path = tmp_path / "a.opdx"
    path.write_bytes(make_profile(VALUES, extent_um=10.0, scale=0.5, scale_unit="nm"))
    p = bruker.read(path)
    assert isinstance(p, Profile) and p.shape == (6,)
    assert p.dx == pytest.approx(2e-6)                 # extent spans first to last point
    expected = VALUES * 0.5e-9
    expected[-1] = np.nan
    np.testing.assert_allclose(p.heights, expected, equal_nan=True)
    assert p.metadata["instrument"] == "Dektak Profiler"
    assert p.metadata["date"].startswith("2021-11-02T15:39:13")
    assert bruker.channels(path) == ["Raw"]
    with pytest.raises(FormatError, match="no channel 'Other'"):
        bruker.read(path, channel="Other")


def test_closed_form_map(tmp_path):
    z = np.arange(12, dtype=float).reshape(3, 4)
    path = tmp_path / "m.opdx"
    path.write_bytes(make_map(z, ext_x=3.0, ext_y=2.0))
    s = bruker.read(path)
    assert isinstance(s, Surface) and s.shape == (3, 4)
    assert s.spacing == pytest.approx((1e-6, 1e-6))
    np.testing.assert_allclose(s.heights, z * 1e-9)


def test_wrong_count_and_units(tmp_path):
    (tmp_path / "n.opdx").write_bytes(make_profile(VALUES, count=7))
    with pytest.raises(FormatError, match="7 points need 56"):
        bruker.read(tmp_path / "n.opdx")
    (tmp_path / "u.opdx").write_bytes(make_profile(VALUES, scale_unit="Volt"))
    with pytest.raises(FormatError, match="not a length unit"):
        bruker.read(tmp_path / "u.opdx")
    (tmp_path / "e.opdx").write_bytes(bruker.MAGIC + container("MetaData", string("DataKind", "x")) + TERM)
    with pytest.raises(UnsupportedFormatError, match="holds no height data"):
        bruker.read(tmp_path / "e.opdx")


def test_opdx_equals_ascii_twin():
    p = bruker.read(topo_file("surfacetopography_examples/opdx-3.opdx"))
    twin = np.loadtxt(topo_file("surfacetopography_examples/opdx-3.txt"))
    assert isinstance(p, Profile) and p.shape == (3001,)
    # the twin holds metres with 8 significant digits; the file stores µm
    np.testing.assert_allclose(p.heights, twin[:, 1], rtol=1e-7, atol=0)
    np.testing.assert_allclose(np.arange(3001) * p.dx, twin[:, 0], rtol=1e-7, atol=1e-15)
    assert p.length_m == pytest.approx(49.9833e-6, rel=1e-5)       # SurfaceTopography 1.27.1
    rms = float(np.sqrt(np.mean((p.heights - p.heights.mean()) ** 2)))
    assert rms == pytest.approx(0.00530751e-6, rel=1e-5)
    assert p.metadata["instrument"] == "Dektak Profiler"
    assert p.metadata["original_units"]["z"] == "µm"
    # the FILETIME stamp (UTC) is authoritative: the local Date text is D/M/Y on this machine
    assert p.metadata["date"].startswith("2021-11-02T15:39:13")
    assert p.metadata["local_date_text"] == "2/11/2021 11:39:13 PM"


# --- bad input -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def opdx_bytes():
    return topo_file("surfacetopography_examples/opdx-3.opdx").read_bytes()


@pytest.mark.parametrize("n", [0, 11, 20, 100, 24_000, 37_000, 72_600, 74_000, len])
def test_truncated_real_file(tmp_path, opdx_bytes, n):
    path = tmp_path / "cut.opdx"
    path.write_bytes(opdx_bytes[:(len(opdx_bytes) - 1 if n is len else n)])
    with pytest.raises(FormatError) as info:
        bruker.read(path)
    assert "cut.opdx" in str(info.value)


def test_huge_count_refused_without_allocating(tmp_path, opdx_bytes):
    data = bytearray(opdx_bytes)
    at = data.index(b"NumPoints") + len(b"NumPoints")
    assert data[at] == 0x0B
    struct.pack_into("<Q", data, at + 1, 10**12)          # 10^6 x 10^6 points
    path = tmp_path / "huge.opdx"
    path.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="huge.opdx.*1000000000000"):
            bruker.read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_huge_matrix_refused(tmp_path):
    data = bytearray(make_map(np.zeros((2, 2))))
    at = data.index(b"Dimension1Points")
    body = data.index(b"inner") + len(b"inner") + 5
    struct.pack_into("<II", data, body, 10**6, 10**6)
    (tmp_path / "m.opdx").write_bytes(bytes(data))
    assert at > 0
    with pytest.raises(FormatError, match="m.opdx"):
        bruker.read(tmp_path / "m.opdx")


def test_deep_nesting_refused(tmp_path):
    blob = b""
    for _ in range(100):
        blob = container("c", blob)
    (tmp_path / "deep.opdx").write_bytes(bruker.MAGIC + blob + TERM)
    with pytest.raises(FormatError, match="nested too deeply"):
        bruker.read(tmp_path / "deep.opdx")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(0, 3000))
def test_random_bytes_after_magic(tmp_path, seed, size):
    path = tmp_path / "random.opdx"
    path.write_bytes(bruker.MAGIC + np.random.default_rng(seed).bytes(size))
    try:
        out = bruker.read(path)
    except FormatError as exc:
        assert "random.opdx" in str(exc)
    else:
        assert isinstance(out, (Profile, Surface))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from(["profile", "map"]))
def test_every_truncation_is_detected(tmp_path, data, kind):
    full = make_profile(VALUES) if kind == "profile" else make_map(np.ones((2, 3)))
    cut = data.draw(st.integers(0, len(full) - 1))
    path = tmp_path / "t.opdx"
    path.write_bytes(full[:cut])
    with pytest.raises(FormatError, match="t.opdx"):
        bruker.read(path)


@pytest.mark.parametrize("kind", ["profile", "map"])
def test_a_cut_between_top_level_items_is_detected(tmp_path, kind):
    # cuts at item boundaries of the top level leave every container whole: only the missing
    # closing terminator of the file shows the loss (hypothesis found the profile at 294 bytes)
    full = make_profile(VALUES) if kind == "profile" else make_map(np.ones((2, 3)))
    path = tmp_path / "t.opdx"
    for cut in range(len(full)):
        path.write_bytes(full[:cut])
        with pytest.raises(FormatError, match="t.opdx"):
            bruker.read(path)


def test_sniff():
    fmt = bruker.FORMATS[0]
    assert fmt.matches_magic(bruker.MAGIC + bytes(10))
    assert not fmt.matches_magic(b"VCA DATA\x01\x00\x00\x56")
