"""Copy-paste of labelled defects onto other training tiles: more defect contexts from few labels.

With 50 labelled magnetic tiles the fine-tuned network fits its own tiles far better than unseen
ones (IoU 0.76 against 0.37, docs/realdata.md): each defect is seen on one background only. Simple
copy-paste (Ghiasi et al., "Simple Copy-Paste is a Strong Data Augmentation Method for Instance
Segmentation", CVPR 2021) cuts labelled instances out of one image and pastes them onto another,
the masks following, so every defect appears on many backgrounds and good tiles become defective
ones. Dwibedi, Misra & Hebert ("Cut, Paste and Learn", ICCV 2017) showed that the seam of a pasted
patch teaches the network to find seams rather than objects unless it is blended, so here:

* an *instance* is a connected component of a labelled mask (8-connected) of at least
  :data:`MIN_PIXELS` pixels; its patch is its bounding box grown by a margin;
* its alpha is the component dilated by one pixel and blurred (Gaussian, sigma 1 px, cut at 2 px,
  zero outside), so the patch fades into the new background over about two pixels, only the defect
  and its rim are carried, and the border of the box (alpha 0) leaves no seam;
* the patch is shifted by the difference between the mean of the new background and of its own
  background under the rim (the pixels of the grown box outside the dilated component), so a defect
  from a bright tile does not arrive on a dark one as a bright square;
* a small instance (box at most half the tile side both ways) goes to a uniformly random place,
  mirrored left-right half of the time; a large one (an uneven band across the tile, a long crack)
  keeps its place, because where it lies is part of what it is;
* the mask of the new tile is the union of its own and the pasted component (hard, unblurred).

Works on raw tiles (grey levels or heights, ``[B, 1, H, W]`` tensors) before normalisation, so that
the normalisation sees the tile as it would look with the defect in it. Heights may hold NaN
(invalid points): means ignore them and a NaN in the patch leaves the target pixel as it was.
Every draw comes from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Components smaller than this (pixels at the working size) are not pasted: mask fragments.
MIN_PIXELS = 8
#: Margin of the patch around a component's bounding box, pixels.
MARGIN = 4
#: Feathering of the alpha: Gaussian sigma and truncation (radius 2 px: it ends inside the margin,
#: so the border of the patch has alpha 0 and no seam of the source tile is carried).
FEATHER_SIGMA, FEATHER_TRUNCATE = 1.0, 2.0


@dataclass(frozen=True)
class Instance:
    """One labelled defect: the tile it comes from, its patch box ``(top, left, rows, cols)`` in that
    tile, its hard mask and its soft alpha over the box."""

    tile: int
    box: tuple[int, int, int, int]
    mask: "object"      # torch bool (rows, cols)
    alpha: "object"     # torch float32 (rows, cols) in [0, 1]
    ring: "object"      # torch bool (rows, cols): background under the rim, for the brightness match
    movable: bool       # small enough to go anywhere


def instances(masks, min_pixels: int = MIN_PIXELS, margin: int = MARGIN) -> list[Instance]:
    """Every defect instance of the labelled ``masks`` (N, 1, H, W) in {0, 1}."""
    import scipy.ndimage as ndi
    import torch

    n, _, h, w = masks.shape
    found: list[Instance] = []
    structure = np.ones((3, 3), dtype=bool)
    for k in range(n):
        mask = masks[k, 0].detach().cpu().numpy() > 0.5
        if not mask.any():
            continue
        labels, _ = ndi.label(mask, structure=structure)
        for j, box in enumerate(ndi.find_objects(labels), start=1):
            component = labels[box] == j
            if component.sum() < min_pixels:
                continue
            top = max(0, box[0].start - margin)
            left = max(0, box[1].start - margin)
            bottom = min(h, box[0].stop + margin)
            right = min(w, box[1].stop + margin)
            hard = labels[top:bottom, left:right] == j
            grown = ndi.binary_dilation(hard, structure=structure)
            soft = ndi.gaussian_filter(grown.astype(np.float32), FEATHER_SIGMA, mode="constant",
                                       truncate=FEATHER_TRUNCATE)
            alpha = torch.from_numpy(np.clip(np.maximum(soft, hard), 0.0, 1.0).astype(np.float32))
            ring = torch.from_numpy(~grown)
            rows, cols = bottom - top, right - left
            found.append(Instance(k, (top, left, rows, cols), torch.from_numpy(hard), alpha, ring,
                                  movable=rows <= h // 2 and cols <= w // 2))
    return found


def paste(images, masks, index, bank: list[Instance], sources, rng: np.random.Generator,
          probability: float = 0.5, most: int = 2, targets=None):
    """Copies of the tiles ``images`` and ``masks`` (B, 1, H, W; the batch drawn at ``index`` of the
    labelled set) with, on each tile with probability ``probability``, 1 to ``most`` instances of
    ``bank`` pasted (taken from the labelled raw tiles ``sources``, (N, 1, H, W)); an instance is
    never pasted onto the tile it came from. ``targets`` (a boolean per labelled tile; None: all)
    says which tiles may receive pastes; the others are left as they are and draw nothing. Inputs
    are not modified."""
    import torch

    if probability <= 0 or not bank:
        return images, masks
    images, masks = images.clone(), masks.clone()
    h, w = images.shape[-2:]
    for i in range(images.shape[0]):
        if targets is not None and not targets[int(index[i])]:
            continue
        if rng.random() >= probability:
            continue
        for _ in range(int(rng.integers(1, most + 1))):
            inst = bank[int(rng.integers(len(bank)))]
            if inst.tile == int(index[i]):
                continue
            top, left, rows, cols = inst.box
            patch = sources[inst.tile, 0, top:top + rows, left:left + cols].to(images.device)
            alpha, hard, ring = (t.to(images.device) for t in (inst.alpha, inst.mask, inst.ring))
            if inst.movable:
                top, left = int(rng.integers(0, h - rows + 1)), int(rng.integers(0, w - cols + 1))
                if rng.random() < 0.5:
                    patch, alpha, hard, ring = patch.flip(-1), alpha.flip(-1), hard.flip(-1), ring.flip(-1)
            target = images[i, 0, top:top + rows, left:left + cols]
            offset = torch.nanmean(target[ring]) - torch.nanmean(patch[ring])
            if not torch.isfinite(offset):
                offset = torch.zeros((), dtype=patch.dtype, device=patch.device)
            shifted = patch + offset
            a = torch.where(torch.isfinite(shifted), alpha.to(patch.dtype), torch.zeros_like(alpha, dtype=patch.dtype))
            images[i, 0, top:top + rows, left:left + cols] = a * torch.nan_to_num(shifted) + (1 - a) * target
            region = masks[i, 0, top:top + rows, left:left + cols]
            masks[i, 0, top:top + rows, left:left + cols] = torch.maximum(region, hard.to(region.dtype))
    return images, masks

