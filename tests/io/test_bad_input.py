"""Bad input across every reader: random bytes, every real file truncated at several points,
magic bytes followed by garbage, a header claiming an absurd grid. Each must give a surfsight
FormatError naming the file, never a crash, a hang, a MemoryError or a silently wrong surface.

A hang guard (SIGALRM) fails a read that takes longer than a few seconds; the speed itself is
measured in ``benchmarks/bench_bad_input.py``, not asserted here.
"""

from __future__ import annotations

import signal
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import surfsight
from surfsight import FormatError
from surfsight.io.formats import registry
from tests.conftest import TOPOGRAPHY
from tests.io.test_all_files import FILES, NO_HEIGHTS

HANG_SECONDS = 20


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS):
    def _fail(signum, frame):  # pragma: no cover - only on a hang
        raise TimeoutError(f"read did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _must_refuse(path: Path) -> FormatError:
    with hang_guard():
        with pytest.raises(FormatError) as info:
            surfsight.read(path)
    assert path.name in str(info.value), f"message does not name the file: {info.value}"
    return info.value


def _text_cut(data: bytes, position: int) -> int:
    """For text files: a cut right after the first token of a line near ``position``, so the
    last row is visibly incomplete (a cut at a line end could leave a valid shorter file)."""
    start = data.rfind(b"\n", 0, position) + 1
    token_end = start
    while token_end < len(data) and data[token_end:token_end + 1] in b" \t":
        token_end += 1
    while token_end < len(data) and data[token_end:token_end + 1] not in b" \t,;\r\n":
        token_end += 1
    return min(token_end + 1, len(data) - 1)


TEXT_SUFFIXES = (".txt", ".asc", ".csv", ".tx1", ".tx2")
ALL_CUTS = (0.03, 0.4, 0.9, 0.999)


def truncation_cases() -> list[tuple[str, float]]:
    # One data file per format family is cut at every point; the rest at one point (keeps CI fast).
    cases = []
    seen_suffix = set()
    for relative in FILES:
        if relative in NO_HEIGHTS:
            continue
        suffix = Path(relative).suffix
        fractions = ALL_CUTS if suffix not in seen_suffix else (0.5,)
        seen_suffix.add(suffix)
        cases.extend((relative, f) for f in fractions)
    return cases


@pytest.mark.parametrize(("relative", "fraction"), truncation_cases())
def test_truncated_real_files_are_refused(tmp_path, relative, fraction):
    """A cut file is refused; the one exception is a cut that only removes trailing bytes a
    reader does not use (vendor metadata after the data), which must then give exactly the
    heights of the whole file: never a silently different surface."""
    data = (TOPOGRAPHY / relative).read_bytes()
    cut = max(1, int(len(data) * fraction))
    name = Path(relative).name
    if name.lower().endswith(TEXT_SUFFIXES):
        cut = _text_cut(data, cut)
    path = tmp_path / name
    path.write_bytes(data[:cut])
    try:
        with hang_guard():
            obj = surfsight.read(path)
    except FormatError as exc:
        assert path.name in str(exc), f"message does not name the file: {exc}"
        return
    whole = surfsight.read(TOPOGRAPHY / relative)
    np.testing.assert_array_equal(obj.heights, whole.heights,
                                  err_msg=f"{relative} cut at {cut} of {len(data)} bytes read as a different surface")
    assert fraction > 0.9, f"{relative} cut at {fraction:.0%} was read without complaint"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=1, max_size=3000),
       st.sampled_from([s for f in registry() if f.read for s in f.suffixes] + [".bin", ""]))
def test_random_bytes_are_refused(tmp_path, data, suffix):
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        with hang_guard():
            obj = surfsight.read(path)
    except FormatError as exc:
        assert path.name in str(exc)
        return
    # Text formats may legitimately parse random digits; what comes back must be a sound object.
    assert obj.heights.size >= 1


MAGICS = sorted({(f.name, m) for f in registry() if f.read for m in f.magic})


@pytest.mark.parametrize(("name", "magic"), MAGICS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(min_size=0, max_size=2000))
def test_magic_then_garbage_is_refused(tmp_path, name, magic, tail):
    fmt = next(f for f in registry() if f.name == name)
    path = tmp_path / f"garbage{fmt.suffixes[0]}"
    path.write_bytes(b"\0" * fmt.magic_offset + magic + tail)
    _must_refuse(path)


def test_empty_missing_and_folder_inputs(tmp_path):
    empty = tmp_path / "empty.x3p"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match="empty.x3p: file is empty"):
        surfsight.read(empty)
    with pytest.raises(FormatError, match="nothing.sur: no such file"):
        surfsight.read(tmp_path / "nothing.sur")
    with pytest.raises(FormatError, match="is a folder"):
        surfsight.read(tmp_path)


def test_unknown_binary_is_unsupported(tmp_path):
    path = tmp_path / "mystery.bin"
    path.write_bytes(b"\x00\x01\x02MYSTERY" * 20)
    with pytest.raises(surfsight.UnsupportedFormatError, match="mystery.bin: unrecognised file format"):
        surfsight.read(path)


def test_writer_failure_leaves_existing_file_intact(tmp_path):
    target = tmp_path / "keep.npz"
    target.write_bytes(b"precious")
    with pytest.raises(Exception):
        surfsight.write("not a surface", target)  # type: ignore[arg-type]
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]


def test_peak_memory_stays_bounded_for_a_huge_claim(tmp_path):
    """A Gwyddion simple field header claiming 10^6 x 10^6 points over 16 bytes of data."""
    header = b"Gwyddion Simple Field 1.0\nXRes = 1000000\nYRes = 1000000\nXReal = 1e-3\nYReal = 1e-3\n"
    header += b"\0" * (4 - len(header) % 4)
    path = tmp_path / "huge.gsf"
    path.write_bytes(header + b"\0" * 16)
    tracemalloc.start()
    try:
        _must_refuse(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"peak allocation {peak} bytes while refusing a huge claim"
