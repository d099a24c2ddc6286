""".npy and .npz: the surfsight layout round trip, plain arrays with spacing=, and refusal of
pickles, huge header claims and broken archives."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from surfsight import FormatError, InputError, PointCloud, Profile, Surface
from surfsight.io import numpy_files as N


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


# --- round trips --------------------------------------------------------------------------------
heights_2d = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
                        elements=st.one_of(st.floats(-1e-3, 1e-3), st.just(np.nan)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(z=heights_2d, dy=st.floats(1e-12, 1.0), dx=st.floats(1e-12, 1.0), data=st.data(),
       note=st.text(max_size=20))
def test_npz_round_trip_is_exact(tmp_path, z, dy, dx, data, note):
    mask = data.draw(hnp.arrays(np.bool_, z.shape))
    counts = data.draw(hnp.arrays(np.uint16, z.shape))
    meta = {"instrument": "Confocal X", "note": note, "channels": ["a", "b"], "level": 3,
            "size": (1.5, 2.5), "np_value": np.float32(0.5), "format": "x3p", "source_file": "/x/y.x3p"}
    original = Surface(z, (dy, dx), {"mask": mask, "intensity counts": counts}, meta)
    path = tmp_path / "rt.npz"
    N.write_npz(original, path)
    back = N.read_npz(path)
    assert isinstance(back, Surface)
    assert N.read_npz(path, "heights").spacing == (dy, dx)
    np.testing.assert_array_equal(back.heights, original.heights)  # bit for bit, NaN included
    assert back.spacing == (dy, dx)
    assert back.layers.keys() == original.layers.keys()
    np.testing.assert_array_equal(back.layers["mask"], mask)
    assert back.layers["mask"].dtype == np.bool_ and back.layers["intensity counts"].dtype == np.uint16
    assert back.metadata == {"instrument": "Confocal X", "note": note, "channels": ["a", "b"], "level": 3,
                             "size": [1.5, 2.5], "np_value": 0.5}  # JSON: tuple -> list; format dropped


def test_npz_profile_and_point_cloud(tmp_path):
    profile = Profile(np.array([1.0, np.nan, 3.0]) * 1e-6, 2e-6, metadata={"row": 4})
    N.write_npz(profile, tmp_path / "p.npz")
    back = N.read_npz(tmp_path / "p.npz")
    assert isinstance(back, Profile) and back.dx == 2e-6 and back.metadata == {"row": 4}
    np.testing.assert_array_equal(back.heights, profile.heights)
    cloud = PointCloud(np.arange(12.0).reshape(4, 3), {"kind of": "cloud"})
    N.write_npz(cloud, tmp_path / "c.npz")
    back = N.read_npz(tmp_path / "c.npz")
    assert isinstance(back, PointCloud)
    np.testing.assert_array_equal(back.points, cloud.points)


def test_npz_written_file_is_a_stored_zip_that_numpy_reads(tmp_path):
    surface = Surface(np.zeros((300, 300)), 1e-6)  # all zeros: deflate would exceed the bomb ratio
    N.write_npz(surface, tmp_path / "z.npz")
    with zipfile.ZipFile(tmp_path / "z.npz") as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    with np.load(tmp_path / "z.npz", allow_pickle=False) as plain:
        assert json.loads(str(plain["metadata"][()])) == {}
        np.testing.assert_array_equal(plain["spacing"], [1e-6, 1e-6])
    assert N.read_npz(tmp_path / "z.npz").shape == (300, 300)


def test_npy_write_and_read_needs_spacing(tmp_path):
    surface = Surface(np.arange(6.0).reshape(2, 3), (1e-6, 2e-6))
    N.write_npy(surface, tmp_path / "s.npy")
    with pytest.raises(FormatError, match=r"s\.npy: .*pass spacing="):
        N.read_npy(tmp_path / "s.npy")
    back = N.read_npy(tmp_path / "s.npy", spacing=(1e-6, 2e-6))
    np.testing.assert_array_equal(back.heights, surface.heights)
    assert back.spacing == (1e-6, 2e-6)
    np.save(tmp_path / "p.npy", np.array([1, 2, 3], dtype=np.int16))
    profile = N.read_npy(tmp_path / "p.npy", spacing=5e-7)
    assert isinstance(profile, Profile) and profile.dx == 5e-7
    with pytest.raises(InputError, match="point cloud"):
        N.write_npy(PointCloud(np.zeros((2, 3))), tmp_path / "x.npy")


def test_plain_npz_by_member_name(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez_compressed(path, topo=np.ones((3, 4)), other=np.zeros((2, 2)))
    with pytest.raises(FormatError, match="choose an array with channel=; the archive holds other, topo"):
        N.read_npz(path, spacing=1e-6)
    surface = N.read_npz(path, "topo", spacing=1e-6)
    assert surface.shape == (3, 4) and surface.metadata["channel"] == "topo"
    assert N.npz_channels(path) == ["other", "topo"]
    np.savez(tmp_path / "one.npz", z=np.full((2, 2), np.inf))
    assert N.read_npz(tmp_path / "one.npz", spacing=1e-6).invalid_fraction == 1.0


# --- refusals -----------------------------------------------------------------------------------
def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npy"
    path.write_bytes(_npy_bytes(np.array([{"a": 1}, None], dtype=object)))
    with pytest.raises(FormatError, match="object arrays need pickle"):
        N.read_npy(path, spacing=1e-6)
    with zipfile.ZipFile(tmp_path / "obj.npz", "w") as archive:
        archive.writestr("heights.npy", _npy_bytes(np.array([[object()]], dtype=object)))
    with pytest.raises(FormatError, match="object arrays need pickle"):
        N.read_npz(tmp_path / "obj.npz")


def _claim(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


@pytest.mark.parametrize(("shape", "message"), [
    ((2**40,), "more than"),
    ((100000, 100000), "more than"),
    ((1000, 1000), "only 64 bytes follow"),
    ((0, 5), "empty"),
])
def test_huge_or_empty_header_claims_are_refused_before_loading(tmp_path, shape, message):
    path = tmp_path / "claim.npy"
    path.write_bytes(_claim(shape) + bytes(64))
    with pytest.raises(FormatError, match=rf"claim\.npy: .*{message}"):
        N.read_npy(path, spacing=1e-6)
    with zipfile.ZipFile(tmp_path / "claim.npz", "w") as archive:
        archive.writestr("heights.npy", _claim(shape) + bytes(64))
    with pytest.raises(FormatError, match=rf"claim\.npz: .*{message}"):
        N.read_npz(tmp_path / "claim.npz", spacing=1e-6)


@pytest.mark.parametrize(("members", "message"), [
    ({}, "holds no .npy arrays"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2))), "spacing.npy": _npy_bytes(np.ones(3))},
     r"member 'spacing' has shape \(3,\)"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2)))}, "member 'spacing' is missing"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2, 2))), "spacing.npy": _npy_bytes(np.ones(2))}, "3-D"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2))), "spacing.npy": _npy_bytes(np.ones(2)),
      "metadata.npy": _npy_bytes(np.array("{not json"))}, "not valid JSON"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2))), "spacing.npy": _npy_bytes(np.array([1.0, -1.0]))},
     "inconsistent surfsight .npz"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2))), "spacing.npy": _npy_bytes(np.ones(2)),
      "layer_m.npy": _npy_bytes(np.ones((3, 3)))}, "inconsistent surfsight .npz: .*layer 'm'"),
    ({"heights.npy": _npy_bytes(np.ones((2, 2)))[:-5], "spacing.npy": _npy_bytes(np.ones(2))}, "truncated|follow"),
])
def test_broken_surfsight_npz(tmp_path, members, message):
    path = tmp_path / "bad.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        if not members:
            archive.writestr("readme.txt", "nothing")
    with pytest.raises(FormatError, match=rf"bad\.npz: .*{message}"):
        N.read_npz(path)


def test_truncated_and_random_files(tmp_path):
    N.write_npz(Surface(np.ones((5, 5)), 1e-6), tmp_path / "full.npz")
    data = (tmp_path / "full.npz").read_bytes()
    for cut in (1, 4, 40, len(data) // 2, len(data) - 1):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(FormatError, match=r"cut\.npz: "):
            N.read_npz(tmp_path / "cut.npz")
    npy = _npy_bytes(np.ones((5, 5)))
    for cut in (3, 9, 50, len(npy) - 1):
        (tmp_path / "cut.npy").write_bytes(npy[:cut])
        with pytest.raises(FormatError, match=r"cut\.npy: "):
            N.read_npy(tmp_path / "cut.npy", spacing=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=400))
def test_random_bytes_after_npy_magic(tmp_path, blob):
    path = tmp_path / "r.npy"
    path.write_bytes(b"\x93NUMPY" + blob)
    try:
        N.read_npy(path, spacing=1e-6)
    except FormatError as exc:
        assert "r.npy" in str(exc)


def test_sniffers():
    npy, npz = N.FORMATS
    buffer = io.BytesIO()
    np.savez(buffer, heights=np.zeros(2))
    assert npz.matches_magic(buffer.getvalue()[:4096])
    x3p_like = io.BytesIO()
    with zipfile.ZipFile(x3p_like, "w") as archive:
        archive.writestr("main.xml", "<x/>")
        archive.writestr("bindata/data.bin", b"\0" * 8)
    assert not npz.matches_magic(x3p_like.getvalue())
    assert npy.matches_magic(_npy_bytes(np.zeros(2)))


def test_through_the_registry(tmp_path):
    import surfsight

    surface = Surface(np.arange(12.0).reshape(3, 4) * 1e-7, (1e-6, 3e-6), {"q": np.ones((3, 4))},
                      {"instrument": "X"})
    path = surfsight.write(surface, tmp_path / "s.npz")
    back = surfsight.read(path)
    assert back.metadata == {"instrument": "X", "format": "npz", "source_file": str(path)}
    np.testing.assert_array_equal(back.heights, surface.heights)
    npy = surfsight.write(surface, tmp_path / "s.npy")
    assert surfsight.read(npy, spacing=(1e-6, 3e-6)).metadata["format"] == "npy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy", "s.npz"]  # no temporary left behind
