"""PAIRS.csv reading, mask thresholds (binary, labelled, palette), image channels, augmentations."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from surfsight.errors import FormatError
from surfsight.realdata import splits
from surfsight.realdata.pairs import Pair, read_image, read_mask, read_pairs, write_pairs


def test_read_pairs_relative_and_empty_mask(tiny_pairs):
    pairs = read_pairs(tiny_pairs / "PAIRS.csv")
    assert len(pairs) == 6
    assert pairs[0].image == tiny_pairs / "img0.png" and pairs[0].mask == tiny_pairs / "img0_label.png"
    assert pairs[5].mask is None
    out = write_pairs(pairs, tiny_pairs / "copy" / "PAIRS.csv")
    again = read_pairs(out)
    assert [p.image.resolve() for p in again] == [p.image.resolve() for p in pairs]


def test_read_pairs_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("picture,label\na.png,b.png\n")
    with pytest.raises(FormatError, match="columns 'image' and 'mask'"):
        read_pairs(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("image,mask\nnot_there.png,\n")
    with pytest.raises(FormatError, match="line 2: image file .* does not exist"):
        read_pairs(missing)
    with pytest.raises(FormatError, match="cannot read"):
        read_pairs(tmp_path / "absent.csv")


def test_masks_binary_soft_and_palette(tmp_path):
    soft = np.array([[0, 100, 128, 255]], np.uint8)
    Image.fromarray(soft).save(tmp_path / "soft.png")
    assert read_mask(tmp_path / "soft.png").tolist() == [[False, True, True, True]]
    assert read_mask(tmp_path / "soft.png", threshold=127).tolist() == [[False, False, True, True]]
    labels = Image.fromarray(np.array([[0, 1, 2, 0]], np.uint8), mode="P")
    labels.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    labels.save(tmp_path / "labels.png")
    assert read_mask(tmp_path / "labels.png").tolist() == [[False, True, True, False]]
    assert read_mask(None, shape=(2, 3)).shape == (2, 3)
    with pytest.raises(FormatError, match="mask is 4x1 px but its image is"):
        read_mask(tmp_path / "soft.png", shape=(2, 2))
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match="cannot read the mask"):
        read_mask(tmp_path / "junk.png")


def test_images_grey_and_colour(tmp_path):
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 255
    Image.fromarray(rgb).save(tmp_path / "red.png")
    grey = read_image(tmp_path / "red.png", 1)
    assert grey.shape == (1, 4, 5) and grey.dtype == np.float32
    assert grey[0, 0, 0] == pytest.approx(76 / 255, abs=1 / 255)          # BT.601 luma of pure red
    assert read_image(tmp_path / "red.png", 3)[0, 0, 0] == pytest.approx(1.0)


def test_kolektor_anomaly_split_is_disjoint():
    try:
        split = splits.kolektor_anomaly()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(str(exc))
    fit = {p.image for p in split["fit"]}
    assert fit.isdisjoint({p.image for p in split["test"]})
    assert all(p.extra["defective"] == "0" and p.extra["item"] in ("kos01", "kos02", "kos03") for p in split["fit"])
    assert sum(p.extra["defective"] == "1" for p in split["test"]) == 52


def test_augment_keeps_image_and_mask_aligned():
    torch = pytest.importorskip("torch")
    from surfsight.realdata.augment import Augment, augment_batch

    rng = np.random.default_rng(0)
    mask = (torch.rand(6, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.7).float()
    geometric = Augment(crop=0.0, vflip=True, rotate90=True, brightness=0, contrast=0, gamma=0, blur=0, noise=0)
    images, masks = augment_batch(mask.clone(), mask, rng, geometric)
    assert torch.equal(images, masks)                         # same flips / rotations on both
    assert not torch.equal(masks, mask)                       # something did move
    a = augment_batch(mask, mask, np.random.default_rng(5))
    b = augment_batch(mask, mask, np.random.default_rng(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])   # same seed, same batch
    assert float(a[0].min()) >= 0 and float(a[0].max()) <= 1
    assert set(torch.unique(a[1]).tolist()) <= {0.0, 1.0}


def test_height_map_files_are_fed_as_heights(tmp_path):
    """A height map (here surfsight's .npz) goes in as heights with its own spacing, NaN kept."""
    import surfsight
    from surfsight import Surface
    from surfsight.realdata.inputs import load_one, resize

    z = np.outer(np.linspace(0, 1e-6, 20), np.ones(30))
    z[3, 4] = np.nan
    surfsight.write(Surface(z, spacing=2e-6), tmp_path / "s.npz")
    array, kind, spacing = load_one(tmp_path / "s.npz")
    assert kind == "heights" and spacing == pytest.approx(2e-6) and np.isnan(array[3, 4])
    small = resize(array, (10, 15))
    assert small.shape == (10, 15) and np.isfinite(small).mean() > 0.9
    import tifffile

    tifffile.imwrite(tmp_path / "grey.tif", (255 * np.eye(8)).astype(np.uint8))
    assert load_one(tmp_path / "grey.tif")[1] == "image"
