"""Copy-paste of labelled defects: instances, blending, brightness match, masks, and its place in finetune."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.model import load_model
from surfsight.realdata.copypaste import MARGIN, instances, paste
from surfsight.realdata.finetune import Settings, finetune
from surfsight.realdata.inputs import load_set
from surfsight.realdata.pairs import read_pairs


def _tiles():
    """Tile 0: bright (0.8) with a dark (0.2) 5 x 5 square at (10, 10) and a 3-pixel fragment;
    tile 1: a band 40 rows tall across the whole width; tiles 2, 3: plain, no defect."""
    images = torch.full((4, 1, 64, 64), 0.3)
    masks = torch.zeros(4, 1, 64, 64)
    images[0] = 0.8
    images[0, 0, 10:15, 10:15] = 0.2
    masks[0, 0, 10:15, 10:15] = 1
    masks[0, 0, 50, 50:53] = 1                  # fragment: under MIN_PIXELS
    masks[1, 0, 0:40, :] = 1
    images[3] = 0.5
    return images, masks


def test_instances_are_components_with_a_margin_and_small_ones_move():
    _, masks = _tiles()
    bank = instances(masks)
    assert [b.tile for b in bank] == [0, 1]                      # the fragment is dropped, good tiles give none
    square, band = bank
    assert square.box == (10 - MARGIN, 10 - MARGIN, 5 + 2 * MARGIN, 5 + 2 * MARGIN)
    assert int(square.mask.sum()) == 25 and square.movable
    assert float(square.alpha.max()) == 1.0 and float(square.alpha[0, 0]) == 0.0   # fades out inside the margin
    assert bool(square.ring[0, 0]) and not bool(square.ring[MARGIN, MARGIN])      # background under the rim only
    assert not band.movable and band.box == (0, 0, 40 + MARGIN, 64)               # too large: keeps its place


def test_a_pasted_defect_takes_the_brightness_of_its_new_background():
    images, masks = _tiles()
    bank = instances(masks)[:1]
    index = np.array([2, 3])
    out_i, out_m = paste(images[index], masks[index], index, bank, images, np.random.default_rng(0), 1.0, 1)
    for k, background in enumerate((0.3, 0.5)):
        mask = out_m[k, 0] > 0.5
        assert int(mask.sum()) == 25
        # the defect keeps its contrast to the background: 0.2 - 0.8 below the new level
        assert torch.allclose(out_i[k, 0][mask], torch.tensor(background - 0.6), atol=1e-6)
        # the source's background arrives at the new level, so outside the defect there is no seam
        outside = out_m[k, 0] == 0
        assert torch.allclose(out_i[k, 0][outside], torch.tensor(background), atol=1e-6)
    assert torch.equal(images[2], torch.full((1, 64, 64), 0.3))       # inputs untouched


def test_nothing_is_drawn_without_pasting():
    images, masks = _tiles()
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    out_i, out_m = paste(images, masks, np.arange(4), instances(masks), images, rng, 0.0)
    assert out_i is images and out_m is masks and rng.bit_generator.state == state
    assert paste(images, masks, np.arange(4), [], images, rng, 1.0)[0] is images


def test_an_instance_is_never_pasted_onto_its_own_tile():
    images, masks = _tiles()
    bank = instances(masks)[:1]
    index = np.array([0, 0, 0])
    out_i, out_m = paste(images[index], masks[index], index, bank, images, np.random.default_rng(1), 1.0, 2)
    assert torch.equal(out_i, images[index]) and torch.equal(out_m, masks[index])


def test_heights_with_invalid_points_stay_invalid_only_where_they_were():
    images, masks = _tiles()
    images = images * 1e-6
    images[0, 0, 9, 9:16] = float("nan")                    # an invalid row through the source's rim
    images[2, 0, 30:34, 30:34] = float("nan")               # invalid points on the target
    index = np.array([2])
    bank = instances(masks)[:1]
    out_i, out_m = paste(images[index], masks[index], index, bank, images, np.random.default_rng(2), 1.0, 2)
    assert torch.equal(torch.isnan(out_i), torch.isnan(images[index]))
    assert int((out_m > 0.5).sum()) >= 25


@given(st.integers(0, 2**31), st.floats(0.0, 1.0), st.integers(1, 3))
@settings(max_examples=60, deadline=None)
def test_masks_only_grow_and_images_stay_finite(seed, probability, most):
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(rng.random((5, 1, 48, 40)).astype(np.float32))
    masks = torch.from_numpy((rng.random((5, 1, 48, 40)) > 0.97).astype(np.float32))
    masks[0, 0, 5:20, 8:12] = 1
    masks[3, 0, 30:45, 0:40] = 1
    index = rng.integers(0, 5, size=4)
    bank = instances(masks, min_pixels=1)
    out_i, out_m = paste(images[index], masks[index], index, bank, images, rng, probability, most)
    assert out_i.shape == (4, 1, 48, 40) and out_m.shape == (4, 1, 48, 40)
    assert torch.all(out_m >= masks[index]) and set(torch.unique(out_m).tolist()) <= {0.0, 1.0}
    assert torch.isfinite(out_i).all()
    untouched = out_m == masks[index]
    assert torch.all(out_i[untouched] >= -1.0) and torch.all(out_i[untouched] <= 2.0)   # blends of shifted grey levels


def test_finetune_with_copy_paste_records_it_and_is_reproducible(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    fast = dict(steps=3, batch=4, crop=32, size=(64, 64), seed=4)
    a, b, c = (load_model(tiny_model_dir) for _ in range(3))
    record = finetune(a, data, Settings(**fast, copy_paste=1.0))
    finetune(b, data, Settings(**fast, copy_paste=1.0))
    plain = finetune(c, data, Settings(**fast, copy_paste=0.0))
    assert record["copy_paste"]["probability"] == 1.0 and record["copy_paste"]["instances"] == 4
    assert plain["copy_paste"]["instances"] == 0
    assert Settings().copy_paste == 0.5                      # the recipe pastes by default
    assert torch.equal(a.state_dict()["segment.weight"], b.state_dict()["segment.weight"])
    assert not torch.equal(a.state_dict()["segment.weight"], c.state_dict()["segment.weight"])
    # the pasted defects are in the masks the loss saw, so the prior correction counts them
    assert record["prior"]["crops"] != pytest.approx(plain["prior"]["crops"], abs=1e-9)


@pytest.mark.parametrize("knobs, message", [(dict(copy_paste=1.5), "copy_paste is a probability"),
                                            (dict(copy_paste=-0.1), "copy_paste is a probability"),
                                            (dict(copy_paste=0.5, copy_paste_most=0), "copy_paste_most")])
def test_bad_copy_paste_settings_are_refused(tiny_model_dir, tiny_pairs, knobs, message):
    from surfsight.errors import InputError

    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    with pytest.raises(InputError, match=message):
        finetune(load_model(tiny_model_dir), data, Settings(steps=1, batch=2, size=(64, 64), **knobs))


def test_cli_finetune_takes_copy_paste(tiny_model_dir, tiny_pairs, tmp_path):
    from typer.testing import CliRunner

    from surfsight.cli import app

    out = tmp_path / "m"
    result = CliRunner().invoke(app, ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--out", str(out),
                                      "--model", str(tiny_model_dir), "--steps", "2", "--batch", "2", "--size", "64",
                                      "--copy-paste", "0.7"])
    assert result.exit_code == 0, result.output
    assert load_model(out).metadata["realdata"]["copy_paste"]["probability"] == 0.7
    bad = CliRunner().invoke(app, ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--out", str(tmp_path / "x"),
                                   "--model", str(tiny_model_dir), "--steps", "2", "--copy-paste", "2"])
    assert bad.exit_code != 0 and "copy_paste is a probability" in bad.output
    assert not (tmp_path / "x").exists()


def test_tiles_that_are_not_targets_receive_nothing():
    images, masks = _tiles()
    bank = instances(masks)
    index = np.array([2, 3, 0])
    targets = np.array([True, True, False, True])       # tile 2 (good) stays a pure negative
    out_i, out_m = paste(images[index], masks[index], index, bank, images, np.random.default_rng(0), 1.0, 2, targets)
    assert torch.equal(out_i[0], images[2]) and torch.equal(out_m[0], masks[2])
    assert float(out_m[1].sum()) > 0                     # tile 3 may receive
