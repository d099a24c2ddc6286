"""The shared guards: bounded decompression, zip bombs, XML entity attacks, claimed sizes."""

import gzip
import io
import zipfile
import zlib

import numpy as np
import pytest

from surfsight import FormatError
from surfsight.io.binary import Cursor
from surfsight.io.safety import SafeZip, check_grid, decompress_zlib, gunzip, parse_xml


def test_check_grid_refuses_huge_and_truncated_claims():
    with pytest.raises(FormatError, match="f.bin: .*1000000x1000000"):
        check_grid("f.bin", (10**6, 10**6), 8, 1000)
    with pytest.raises(FormatError, match="only 10 bytes follow"):
        check_grid("f.bin", (3, 3), 8, 10)
    with pytest.raises(FormatError, match="0x5"):
        check_grid("f.bin", (0, 5), 8, 1000)
    assert check_grid("f.bin", (3, 3), 8, 72) == 72


def test_cursor_names_the_field_on_truncation():
    c = Cursor(b"\x01\x00\x02", "x.bin")
    assert c.one("H", "width") == 1
    with pytest.raises(FormatError, match="x.bin: truncated .*'height'"):
        c.one("I", "height")
    c = Cursor(np.arange(4, dtype="<f4").tobytes(), "x.bin")
    assert c.array("f4", (2, 2)).tolist() == [[0, 1], [2, 3]]
    with pytest.raises(FormatError):
        Cursor(b"\0" * 16, "x.bin").array("f8", (10**6, 10**6))


def test_zlib_bomb_is_capped_without_inflating_everything():
    bomb = zlib.compress(b"\0" * (50 * 2**20))
    with pytest.raises(FormatError, match="more than 1000 bytes"):
        decompress_zlib(bomb, 1000, "b.sur")
    with pytest.raises(FormatError, match="3 bytes, header promises 10"):
        decompress_zlib(zlib.compress(b"abc"), 10, "b.sur")
    with pytest.raises(FormatError, match="corrupt"):
        decompress_zlib(b"not zlib at all", 10, "b.sur")


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"0 " * (40 * 2**20), compresslevel=9)
    with pytest.raises(FormatError, match="bomb"):
        gunzip(bomb, "m.txt.gz")
    assert gunzip(gzip.compress(b"1 2\n3 4\n"), "m.txt.gz") == b"1 2\n3 4\n"


def test_zip_bomb_and_subfolder_layout():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.bin", b"\0" * (100 * 2**20))
    with pytest.raises(FormatError, match="compression bomb"):
        SafeZip("b.x3p", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("scan/main.xml", b"<a/>")
        z.writestr("scan/bindata/data.bin", b"1234")
        z.writestr("__MACOSX/scan/._main.xml", b"junk")
    archive = SafeZip("n.x3p", buf.getvalue())
    assert archive.prefix == "scan/"
    assert archive.find("main.xml") == "scan/main.xml"
    assert archive.read(archive.find("bindata/data.bin")) == b"1234"
    assert archive.find("missing.xml") is None


def test_xml_entity_expansion_is_refused():
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              b"<l>&c;</l>")
    with pytest.raises(FormatError, match="main.xml.*refused"):
        parse_xml(laughs, "main.xml")
    external = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY e SYSTEM "file:///etc/passwd">]><l>&e;</l>'
    with pytest.raises(FormatError, match="refused"):
        parse_xml(external, "main.xml")
    with pytest.raises(FormatError, match="not well-formed"):
        parse_xml(b"<a><b></a>", "main.xml")
    assert parse_xml(b"<a><b>1</b></a>", "main.xml").find("b").text == "1"
