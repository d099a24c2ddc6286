"""Training crops: their shape, the same window for image and mask, defect-centred windows."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.realdata.crops import crop_shape, sample_crops


def test_crop_shape_clips_to_the_tile_and_falls_back_to_whole_tiles():
    assert crop_shape(128, (256, 256)) == (128, 128)
    assert crop_shape(128, (100, 300)) == (100, 128)
    assert crop_shape(0, (256, 256)) is None
    assert crop_shape(300, (256, 256)) is None


def test_whole_tiles_pass_through():
    images, masks = torch.rand(2, 3, 32, 32), torch.zeros(2, 1, 32, 32)
    out_i, out_m = sample_crops(images, masks, 0, 0.6, np.random.default_rng(0))
    assert out_i is images and out_m is masks


@given(st.integers(0, 2**31), st.integers(16, 48), st.integers(0, 63), st.integers(0, 63))
@settings(max_examples=300, deadline=None)
def test_defect_centred_crops_hold_the_defect_away_from_their_border(seed, crop, y, x):
    # the image holds each pixel's own coordinates, so a crop tells where it was taken
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    images = torch.stack([yy, xx])[None].repeat(3, 1, 1, 1)
    masks = torch.zeros(3, 1, 64, 64)
    masks[:, 0, y, x] = 1.0
    out_i, out_m = sample_crops(images, masks, crop, 1.0, np.random.default_rng(seed))
    assert out_i.shape == (3, 2, crop, crop) and out_m.shape == (3, 1, crop, crop)
    for k in range(3):
        top, left = int(out_i[k, 0, 0, 0]), int(out_i[k, 1, 0, 0])
        assert torch.equal(out_m[k], masks[k, :, top:top + crop, left:left + crop])   # the same window
        assert out_m[k].sum() == 1                                                     # the defect is inside
        margin = crop // 8
        if margin <= y and y + margin < 64 and margin <= x and x + margin < 64:       # not clipped at the tile edge
            assert margin <= y - top < crop - margin + 1 and margin <= x - left < crop - margin + 1


def test_the_same_generator_gives_the_same_crops():
    images, masks = torch.rand(4, 1, 40, 40), (torch.rand(4, 1, 40, 40) > 0.9).float()
    a = sample_crops(images, masks, 24, 0.6, np.random.default_rng(5))
    b = sample_crops(images, masks, 24, 0.6, np.random.default_rng(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
