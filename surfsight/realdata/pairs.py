"""Labelled real images: the ``PAIRS.csv`` list, image reading and mask reading.

``PAIRS.csv`` is a plain CSV file with a header row and at least the columns ``image`` and ``mask``:

.. code-block:: text

    image,mask
    MT_Crack/Imgs/exp1_num_249594.jpg,MT_Crack/Imgs/exp1_num_249594.png
    MT_Free/Imgs/exp0_num_743.jpg,

Relative paths are taken relative to the folder of the CSV file. An empty ``mask`` cell means a
defect-free image (an all-background mask). Extra columns are kept in :attr:`Pair.extra`.

Masks are binary or labelled images (PNG, or anything Pillow reads); a pixel is a defect where its
value is greater than the threshold (0 by default, so any non-zero label is a defect). Palette
("P" mode) PNGs are read by index, not by colour; colour masks use the largest channel.

Images are photographs (JPEG/PNG/TIFF read with Pillow) or height maps in any format
:func:`surfsight.read` knows. Both become ``float32`` arrays ``[channels, rows, cols]`` scaled to
about [0, 1]: photographs by their bit depth, height maps by their robust range (the 0.5 and 99.5
percentiles of the valid points; NaN becomes the median).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FormatError, InputError

#: Suffixes read with Pillow as photographs; anything else goes through :func:`surfsight.read`.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


@dataclass(frozen=True)
class Pair:
    """One labelled image: its path, its mask path (``None``: defect-free) and extra CSV columns."""

    image: Path
    mask: Path | None
    extra: dict[str, str] = field(default_factory=dict)


def read_pairs(csv_path: str | Path) -> list[Pair]:
    """Read a ``PAIRS.csv`` file (see the module docstring).

    Raises
    ------
    FormatError
        The file has no ``image``/``mask`` columns, no rows, or names a file that does not exist.
    """
    csv_path = Path(csv_path)
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise FormatError(csv_path, f"cannot read the pairs list ({exc.strerror or exc})") from None
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise FormatError(csv_path, "the pairs list has no rows (expected a header 'image,mask' and one row per image)")
    columns = {c.strip().lower(): c for c in rows[0].keys() if c is not None}
    if "image" not in columns or "mask" not in columns:
        raise FormatError(csv_path, f"the pairs list needs the columns 'image' and 'mask'; found {list(rows[0])}")
    base = csv_path.parent
    pairs = []
    for number, row in enumerate(rows, start=2):
        image_cell = (row.get(columns["image"]) or "").strip()
        mask_cell = (row.get(columns["mask"]) or "").strip()
        if not image_cell:
            raise FormatError(csv_path, f"line {number}: empty 'image' cell")
        image = _resolve(base, image_cell)
        mask = _resolve(base, mask_cell) if mask_cell else None
        for what, path in (("image", image), ("mask", mask)):
            if path is not None and not path.is_file():
                raise FormatError(csv_path, f"line {number}: {what} file {path} does not exist")
        extra = {k: v for k, v in row.items() if k not in (columns["image"], columns["mask"]) and k is not None}
        pairs.append(Pair(image, mask, extra))
    return pairs


def write_pairs(pairs: list[Pair], csv_path: str | Path) -> Path:
    """Write a ``PAIRS.csv`` with absolute paths (atomically: temporary file, then rename)."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = csv_path.with_suffix(csv_path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "mask"])
        for pair in pairs:
            writer.writerow([str(Path(pair.image).resolve()), "" if pair.mask is None else str(Path(pair.mask).resolve())])
    tmp.replace(csv_path)
    return csv_path


def _resolve(base: Path, cell: str) -> Path:
    path = Path(cell).expanduser()
    return path if path.is_absolute() else base / path


def read_mask(path: str | Path | None, threshold: float = 0.0, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Binary defect mask: ``True`` where the mask value is greater than ``threshold``.

    Parameters
    ----------
    path
        A mask image; ``None`` gives an all-background mask of ``shape``.
    threshold
        Defect = value > threshold (0: any non-zero label; 127 for soft-edged 8-bit masks).
    shape
        Required when ``path`` is None; otherwise checked against the mask if given.
    """
    from PIL import Image, UnidentifiedImageError

    if path is None:
        if shape is None:
            raise InputError("read_mask: a shape is needed for a defect-free image without a mask")
        return np.zeros(shape, dtype=bool)
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode == "P":                    # labelled PNG: the index is the label
                values = np.asarray(img, dtype=np.float64)
            elif img.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
                values = np.asarray(img, dtype=np.float64)
            else:                                   # colour: the largest channel, alpha ignored
                values = np.asarray(img.convert("RGB"), dtype=np.float64).max(axis=2)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise FormatError(path, f"cannot read the mask image ({exc})") from None
    if values.ndim != 2:
        raise FormatError(path, f"a mask must be a 2-D image; got shape {values.shape}")
    if shape is not None and values.shape != tuple(shape):
        raise FormatError(path, f"mask is {values.shape[1]}x{values.shape[0]} px but its image is "
                                f"{shape[1]}x{shape[0]} px")
    return values > threshold


def read_image(path: str | Path, channels: int = 1) -> np.ndarray:
    """Read a photograph or a height map as ``float32 [channels, rows, cols]`` in about [0, 1].

    Grey images given to a colour model are repeated on every channel; colour images given to a
    grey model become luminance (ITU-R BT.601 weights, Pillow's "L" conversion). Height maps are
    scaled by their robust range (see the module docstring).
    """
    path = Path(path)
    if channels not in (1, 3):
        raise InputError(f"read_image: channels must be 1 or 3, got {channels}")
    if path.suffix.lower() in PHOTO_SUFFIXES or path.suffix.lower() in (".tif", ".tiff") and _is_photo_tiff(path):
        grey = _read_photo(path, channels)
    else:
        grey = _read_heights(path)[None]
        if channels == 3:
            grey = np.repeat(grey, 3, axis=0)
    return np.ascontiguousarray(grey, dtype=np.float32)


def _is_photo_tiff(path: Path) -> bool:
    """A TIFF with 8-bit samples is a photograph; others (float, 16/32-bit) go to the height readers."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return img.mode in ("L", "RGB", "RGBA", "P", "1")
    except Exception:  # noqa: BLE001 - not a TIFF Pillow reads: let surfsight.read decide
        return False


def _read_photo(path: Path, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                values = np.asarray(img, dtype=np.float32)
                scale = 65535.0 if values.max(initial=0) > 255 else 255.0
                grey = (values / scale)[None]
                return np.repeat(grey, 3, axis=0) if channels == 3 else grey
            if channels == 1:
                values = np.asarray(img.convert("L"), dtype=np.float32)[None]
            else:
                values = np.moveaxis(np.asarray(img.convert("RGB"), dtype=np.float32), 2, 0)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise FormatError(path, f"cannot read the image ({exc})") from None
    return values / 255.0


def _read_heights(path: Path) -> np.ndarray:
    from .. import read
    from ..surface import Surface

    obj = read(path)
    if not isinstance(obj, Surface):
        raise FormatError(path, f"holds a {type(obj).__name__}, not an areal surface or image")
    z = np.asarray(obj.heights, dtype=np.float64)
    valid = np.isfinite(z)
    if not valid.any():
        raise FormatError(path, "the height map has no valid points")
    lo, hi = np.percentile(z[valid], [0.5, 99.5])
    z = np.where(valid, z, np.median(z[valid]))
    span = hi - lo if hi > lo else 1.0
    return np.clip((z - lo) / span, 0.0, 1.0)
