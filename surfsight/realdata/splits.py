"""Fixed splits of the real defect data sets, so that every model is compared on the same footing.

Magnetic tile (Huang, Qiu, Yuan, Vis. Comput. 2020), the rule of ``shared/data/README.md``: an image
is in the test split when ``int(sha1(path relative to magnetic_tile/).hexdigest(), 16) % 10 < 3``,
else in train; both lists sorted by relative path (429 train, 163 test). Masks: defect = value > 127
(the masks have soft edges). "Evenly spread" subsets of N training images are the images at indices
``floor(linspace(0, n_train - 1, N))``.

KolektorSDD (Tabernik et al., J. Intell. Manuf. 2020): images are grouped by item (``kosNN``), so
that views of one commutator never fall on both sides. The fine-tuning split puts an item in test
when ``int(sha1(item name).hexdigest(), 16) % 10 < 3`` or when it is kos04 or kos05 (the complete
items, so that the test split has defect-free images too). The anomaly split fits on the defect-free
images of kos01 to kos03 and scores every other image (all of kos04 and kos05, and the defective
images of every item). Masks: defect = value > 0.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from .pairs import Pair

#: Mask threshold of each data set (defect = value > threshold).
MAGNETIC_TILE_THRESHOLD = 127.0
KOLEKTOR_THRESHOLD = 0.0


def data_root() -> Path:
    """``$SURFSIGHT_DATA``, else ``../shared/data`` beside the project root."""
    default = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return Path(os.environ.get("SURFSIGHT_DATA", default))


def _folder(root: str | Path | None, name: str) -> Path:
    folder = (data_root() if root is None else Path(root)) / "defects" / name
    if not folder.is_dir():
        raise InputError(f"the {name} data set is not at {folder} (set SURFSIGHT_DATA to the shared data folder)")
    return folder


def in_test(key: str) -> bool:
    """The fixed rule: ``int(sha1(key).hexdigest(), 16) % 10 < 3``."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 10 < 3


def magnetic_tile(root: str | Path | None = None) -> dict[str, list[Pair]]:
    """The fixed magnetic-tile split: ``{"train": [...], "test": [...]}``, each sorted by relative path.

    ``Pair.extra`` holds ``relative`` (path relative to ``magnetic_tile/``) and ``kind`` (``Blowhole``,
    ``Break``, ``Crack``, ``Fray``, ``Uneven`` or ``Free``). Every image has its mask (MT_Free masks
    are empty).
    """
    folder = _folder(root, "magnetic_tile")
    split: dict[str, list[Pair]] = {"train": [], "test": []}
    images = sorted(folder.glob("MT_*/Imgs/*.jpg"), key=lambda p: p.relative_to(folder).as_posix())
    for image in images:
        relative = image.relative_to(folder).as_posix()
        mask = image.with_suffix(".png")
        kind = relative.split("/")[0][3:]
        pair = Pair(image, mask if mask.is_file() else None, {"relative": relative, "kind": kind})
        split["test" if in_test(relative) else "train"].append(pair)
    return split


def evenly_spread_index(length: int, n: int | None) -> np.ndarray:
    """Indices ``floor(linspace(0, length - 1, n))`` of ``n`` evenly spread items of ``length``
    (all of them when ``n`` is None or at least ``length``)."""
    if n is None or n >= length:
        return np.arange(length)
    if n < 1:
        raise InputError(f"evenly_spread: n must be at least 1, got {n}")
    return np.floor(np.linspace(0, length - 1, n)).astype(int)


def evenly_spread(pairs: list[Pair], n: int | None) -> list[Pair]:
    """The ``n`` pairs at :func:`evenly_spread_index` (all of them when ``n`` is None)."""
    return [pairs[i] for i in evenly_spread_index(len(pairs), n)]


def kolektor_items(root: str | Path | None = None) -> dict[str, list[Pair]]:
    """KolektorSDD images grouped by item; ``extra["defective"]`` is ``"1"`` for the listed positives."""
    folder = _folder(root, "kolektorsdd")
    positives = set()
    listing = folder / "positives.txt"
    if listing.is_file():
        positives = {line.strip() for line in listing.read_text().splitlines() if line.strip()}
    items: dict[str, list[Pair]] = {}
    for item in sorted(p for p in folder.iterdir() if p.is_dir()):
        pairs = []
        for image in sorted(item.glob("Part*.jpg"), key=lambda p: int(p.stem[4:]) if p.stem[4:].isdigit() else 0):
            mask = image.with_name(image.stem + "_label.png")
            key = f"{item.name}/{image.stem}"
            pairs.append(Pair(image, mask if mask.is_file() else None,
                              {"relative": f"{key}.jpg", "item": item.name, "defective": "1" if key in positives else "0"}))
        if pairs:
            items[item.name] = pairs
    return items


def kolektor(root: str | Path | None = None) -> dict[str, list[Pair]]:
    """Fine-tuning split of KolektorSDD by item (see the module docstring)."""
    split: dict[str, list[Pair]] = {"train": [], "test": []}
    for item, pairs in kolektor_items(root).items():
        split["test" if in_test(item) or item in ("kos04", "kos05") else "train"].extend(pairs)
    return split


def kolektor_anomaly(root: str | Path | None = None, fit_items: tuple[str, ...] = ("kos01", "kos02", "kos03"),
                     ) -> dict[str, list[Pair]]:
    """Anomaly split: ``fit`` = defect-free images of ``fit_items``; ``test`` = every other image."""
    split: dict[str, list[Pair]] = {"fit": [], "test": []}
    for item, pairs in kolektor_items(root).items():
        for pair in pairs:
            good = pair.extra["defective"] == "0"
            split["fit" if item in fit_items and good else "test"].append(pair)
    return split
