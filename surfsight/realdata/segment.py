"""Segmenting real images with a (fine-tuned) surfsight model, and evaluating it on labelled pairs.

Each image is resized to the model's working size (see :mod:`surfsight.realdata.inputs`), the
defect probability is predicted there and resized back to the image (bilinear) for the outputs:

* ``<name>_mask.png``: 8-bit, 255 where the defect probability exceeds the threshold, else 0;
* ``<name>_overlay.png``: the image in grey with defects tinted red and outlined.

Evaluation (:func:`evaluate`) follows the fixed rule of the magnetic-tile reference figures: image
and mask both at the working size (mask thresholded, then resized nearest), so that results are
comparable with the plain U-Net reference; see :mod:`surfsight.realdata.metrics` for the measures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .inputs import load_one, load_set, predict, resize, tta_views, working_size
from .metrics import segmentation_report
from .pairs import Pair


def probability(model, path: str | Path, device: str = "cpu", tta: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(image or heights as read, defect probability at the image's own size)``; ``tta``: see
    :func:`surfsight.realdata.inputs.predict`."""
    import torch

    array, kind, spacing = load_one(path)
    size = working_size(model)
    small = resize(array, size)
    x = torch.from_numpy(np.asarray(small, np.float32 if kind == "image" else np.float64))[None, None]
    p = predict(model, x, kind, spacing, device=device, tta=tta)[0]
    return array, np.clip(resize(p, array.shape), 0.0, 1.0)


def _grey8(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array, np.float64)
    valid = np.isfinite(a)
    if not valid.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = np.percentile(a[valid], [0.5, 99.5])
    g = np.clip((np.where(valid, a, lo) - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    return (255 * g).astype(np.uint8)


def overlay(array: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """RGB uint8: the image in grey, defect pixels tinted red, their border drawn in bright red."""
    from scipy.ndimage import binary_erosion

    g = _grey8(array).astype(np.float64)
    rgb = np.repeat(g[..., None], 3, axis=2)
    m = np.asarray(mask, bool)
    rgb[m] = 0.55 * rgb[m] + 0.45 * np.array([255.0, 0.0, 0.0])
    edge = m & ~binary_erosion(m, iterations=1, border_value=0)
    rgb[edge] = (255, 32, 32)
    return rgb.astype(np.uint8)


def _write_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    Image.fromarray(array).save(tmp, format="PNG")
    os.replace(tmp, path)


def segment_paths(model, paths: Sequence[str | Path], out: str | Path, threshold: float = 0.5,
                  device: str = "cpu", tta: bool = True) -> list[dict[str, Any]]:
    """Write a mask and an overlay per image into ``out``; returns one summary row per image."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        path = Path(path)
        array, p = probability(model, path, device, tta)
        mask = p > threshold
        _write_png((mask * 255).astype(np.uint8), out / f"{path.stem}_mask.png")
        _write_png(overlay(array, mask), out / f"{path.stem}_overlay.png")
        rows.append({"image": str(path), "mask": str(out / f"{path.stem}_mask.png"),
                     "overlay": str(out / f"{path.stem}_overlay.png"), "max_probability": float(p.max()),
                     "defect_fraction": float(mask.mean()), "defective": bool(mask.any())})
    return rows


def evaluate(model, pairs: Sequence[Pair], mask_threshold: float = 0.0, threshold: float = 0.5,
             device: str = "cpu", tta: bool = True) -> dict[str, Any]:
    """``iou`` (pooled), ``mean_f1``, ``image_auroc`` (max probability), ``pixel_auroc`` on ``pairs``;
    ``tta``: see :func:`surfsight.realdata.inputs.predict` (the report says which views were averaged)."""
    data = load_set(pairs, working_size(model), mask_threshold)
    probs = predict(model, data.images, data.kind, data.spacing, device=device, tta=tta)
    truths = [m[0].numpy() > 0.5 for m in data.masks]
    report = segmentation_report(list(probs), truths, threshold)
    report["size"] = list(working_size(model))
    report["tta_views"] = [list(v) for v in (tta_views(model, tuple(data.images.shape[-2:])) if tta else [(0, False)])]
    return report
