"""Training crops of whole tiles, most of a defective tile's centred near a defect.

A fully convolutional network trains on crops and still predicts whole tiles; a crop of a quarter
of a tile's pixels costs about a quarter of a whole-tile step, so the same time buys four times the
steps (:mod:`surfsight.realdata.finetune`). Crops are taken after each tile is normalised whole, as
at inference, so a crop inside a large defect keeps its brightness relative to the part.
"""

from __future__ import annotations

import numpy as np


def crop_shape(crop: int, size: tuple[int, int]) -> tuple[int, int] | None:
    """(rows, cols) of a ``crop``-sided crop of tiles of ``size``, clipped to the tile; None when
    ``crop`` is 0 or covers the whole tile (train on whole tiles)."""
    h, w = size
    if crop <= 0 or (crop >= h and crop >= w):
        return None
    return min(crop, h), min(crop, w)


def sample_crops(images, masks, crop: int, defect_crop: float, rng: np.random.Generator):
    """One crop of each tile of ``images`` (B, C, H, W) and ``masks`` (B, 1, H, W), the same window for
    both: with probability ``defect_crop`` (for a tile with a defect pixel) a window holding a random
    defect pixel at least an eighth of its side from its border, otherwise a uniform window. Every
    draw comes from ``rng``."""
    import torch

    h, w = images.shape[-2:]
    shape = crop_shape(crop, (h, w))
    if shape is None:
        return images, masks
    ch, cw = shape
    out_i, out_m = [], []
    for k in range(images.shape[0]):
        m = masks[k, 0]
        top = left = None
        if defect_crop > 0 and rng.random() < defect_crop:
            ys, xs = torch.nonzero(m > 0.5, as_tuple=True)
            if len(ys):
                j = int(rng.integers(len(ys)))
                cy, cx = int(ys[j]), int(xs[j])
                top = int(np.clip(cy - rng.integers(ch // 8, ch - ch // 8), 0, h - ch))
                left = int(np.clip(cx - rng.integers(cw // 8, cw - cw // 8), 0, w - cw))
        if top is None:
            top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        out_i.append(images[k, :, top:top + ch, left:left + cw])
        out_m.append(masks[k, :, top:top + ch, left:left + cw])
    return torch.stack(out_i), torch.stack(out_m)
