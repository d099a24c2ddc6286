"""Text formats: ASCII height matrices (Gwyddion export and the "h= w=" dialect, also gzipped),
x/y/z and x/z coordinate lists, Bruker Dektak CSV profiles, Tokyo Seimitsu Surfcom ``.tx1`` /
``.tx2`` profiles, and surfsight's own CSV (written and read back exactly).

Text files carry no magic bytes (except surfsight's CSV), so each format has a ``sniff(head,
path)`` that looks at the first 4 KiB: a ``.txt`` may be a matrix, an x/y/z list or a vendor
profile, and the content decides. The readers live in small modules, one per format:

* :mod:`surfsight.io.text_matrix` -- "matrix"
* :mod:`surfsight.io.text_columns` -- "xyz" (also two-column profiles such as ``opdx-3.txt``)
* :mod:`surfsight.io.text_dektak` -- "dektak"
* :mod:`surfsight.io.text_surfcom` -- "surfcom"
* :mod:`surfsight.io.text_csv` -- "csv"
* :mod:`surfsight.io.text_numbers` -- the shared fast, bounded number parser

See ``docs/formats/text.md`` for layouts, units and the choices made where files are silent.
"""

from __future__ import annotations

from pathlib import Path

from .formats import FileFormat
from .text_columns import read_columns, sniff_columns
from .text_csv import MAGIC as CSV_MAGIC
from .text_csv import read_csv, sniff_csv, write_csv
from .text_dektak import read_dektak, sniff_dektak
from .text_matrix import GZIP_MAGIC, peek_gzip, read_matrix, sniff_matrix
from .text_surfcom import read_surfcom, sniff_surfcom


def _sniff_columns_maybe_gzip(head: bytes, path: Path | None) -> bool:
    try:
        if head.startswith(GZIP_MAGIC):
            head = peek_gzip(head)
        return sniff_columns(head, path)
    except Exception:  # sniffers never raise
        return False


FORMATS: list[FileFormat] = [
    FileFormat(
        name="csv",
        description="surfsight CSV (surface as a height matrix, profile as x, z columns; metres)",
        suffixes=(".csv",),
        read=read_csv,
        write=write_csv,
        magic=(CSV_MAGIC,),
        sniff=sniff_csv,
    ),
    FileFormat(
        name="dektak",
        description="Bruker Dektak stylus profiler CSV export",
        suffixes=(".csv",),
        read=read_dektak,
        sniff=sniff_dektak,
    ),
    FileFormat(
        name="surfcom",
        description="Tokyo Seimitsu Surfcom profile export (.tx1 primary, .tx2 roughness; .tx3 settings)",
        suffixes=(".tx1", ".tx2", ".tx3"),
        read=read_surfcom,
        sniff=sniff_surfcom,
    ),
    FileFormat(
        name="xyz",
        description="x y z point list or x z profile (ASCII columns)",
        suffixes=(".xyz", ".txt", ".asc", ".xyz.gz"),
        read=read_columns,
        sniff=_sniff_columns_maybe_gzip,
    ),
    FileFormat(
        name="matrix",
        description="ASCII height matrix (Gwyddion text export, h/w interferometer export; also .gz)",
        suffixes=(".txt", ".asc", ".txt.gz", ".asc.gz"),
        read=read_matrix,
        sniff=sniff_matrix,
    ),
]
