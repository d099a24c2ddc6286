"""Semi-supervised fine-tuning: the mean teacher, the pseudo-label loss, the paired views, and
``finetune(..., unlabelled=...)`` end to end on tiny images with a tiny random model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.errors import InputError
from surfsight.model import load_model
from surfsight.realdata import semisupervised as semi
from surfsight.realdata.augment import Augment
from surfsight.realdata.finetune import Settings, finetune
from surfsight.realdata.inputs import ImageSet, load_set
from surfsight.realdata.pairs import Pair, read_pairs

runner = CliRunner()
FAST = dict(steps=3, batch=4, crop=32, size=(64, 64))
NO_PHOTOMETRIC = Augment(brightness=0, contrast=0, gamma=0, blur=0, noise=0)


def unlabelled_set(tiny_pairs) -> ImageSet:
    return load_set([Pair(p.image, None) for p in read_pairs(tiny_pairs / "PAIRS.csv")], (64, 64))


def test_teacher_is_the_moving_average_with_a_warm_up(tiny_model_dir):
    student = load_model(tiny_model_dir)
    teacher = semi.MeanTeacher(student, decay=0.99)
    assert not teacher.model.training and not any(p.requires_grad for p in teacher.model.parameters())
    name = next(k for k, v in student.named_buffers() if v.dtype.is_floating_point)   # a batch-norm statistic
    before = teacher.model.segment.weight.detach().clone()
    before_stat = dict(teacher.model.named_buffers())[name].clone()
    with torch.no_grad():
        student.segment.weight.add_(1.0)
        dict(student.named_buffers())[name].add_(2.0)
    assert teacher.rate() == pytest.approx(0.1)              # (1 + 0) / (10 + 0): follows the student early
    teacher.update(student)
    expected = 0.1 * before + 0.9 * student.segment.weight.detach()
    assert torch.allclose(teacher.model.segment.weight, expected, atol=1e-6)
    stat = dict(teacher.model.named_buffers())[name]
    assert torch.allclose(stat, 0.1 * before_stat + 0.9 * dict(student.named_buffers())[name], atol=1e-6)
    for t, s in zip(teacher.model.buffers(), student.buffers()):
        if not t.dtype.is_floating_point:
            assert torch.equal(t, s)
    teacher.updates = 10_000
    assert teacher.rate() == 0.99                              # then the set decay
    with pytest.raises(ValueError, match="decay"):
        semi.MeanTeacher(student, decay=1.0)


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 2000), st.integers(1, 1000), st.floats(0.01, 1.0))
def test_ramp_rises_from_exp_minus_5_to_one(position, steps, fraction):
    w = semi.ramp(position, steps, fraction)
    assert math.exp(-5) - 1e-12 <= w <= 1.0
    assert semi.ramp(0, steps, fraction) == pytest.approx(math.exp(-5))
    assert semi.ramp(fraction * steps, steps, fraction) == pytest.approx(1.0)
    assert semi.ramp(position + 1, steps, fraction) >= w      # never falls
    assert semi.ramp(position, steps, 0.0) == 1.0


def test_pseudo_labels_teach_only_confident_pixels():
    teacher = torch.tensor([[[[6.0, -6.0, 0.1, -0.2]]]])       # p = 0.998, 0.002, 0.52, 0.45
    kept_right = torch.tensor([[[[6.0, -6.0, -9.0, 9.0]]]])     # agrees where confident, anything elsewhere
    loss, kept = semi.pseudo_label_loss(kept_right, teacher, 0.9)
    assert float(kept) == pytest.approx(0.5)
    assert float(loss) < 0.01                                   # the doubtful pixels cost nothing
    wrong = torch.tensor([[[[-6.0, 6.0, 0.0, 0.0]]]])
    assert float(semi.pseudo_label_loss(wrong, teacher, 0.9)[0]) > 2.0
    loss, kept = semi.pseudo_label_loss(wrong, teacher, 1.0)    # nothing is that sure
    assert float(kept) == 0.0 and float(loss) == 0.0
    with pytest.raises(ValueError, match="confidence"):
        semi.pseudo_label_loss(wrong, teacher, 0.4)


def test_views_share_crop_and_flips():
    rng = np.random.default_rng(0)
    images = torch.rand(3, 1, 64, 64)
    weak, strong = semi.views(images, "image", 1e-6, 32, np.random.default_rng(5), Augment(), NO_PHOTOMETRIC)
    assert weak.shape == strong.shape == (3, 5, 32, 32)
    assert torch.allclose(weak, strong, atol=1e-6)             # no photometric change: the same pixels
    weak, strong = semi.views(images, "image", 1e-6, 32, rng, Augment())
    assert not torch.allclose(weak, strong)
    # the strong view is a perturbation of the same crop: far closer to it than to another crop
    other, _ = semi.views(torch.rand(3, 1, 64, 64), "image", 1e-6, 32, np.random.default_rng(1), Augment())
    same = torch.corrcoef(torch.stack([weak[:, 3].flatten(), strong[:, 3].flatten()]))[0, 1]
    assert same > 0.5 and same > torch.corrcoef(torch.stack([weak[:, 3].flatten(), other[:, 3].flatten()]))[0, 1]


def test_finetune_with_unlabelled_keeps_the_teacher_and_records(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    extra = unlabelled_set(tiny_pairs)
    a, b, c = load_model(tiny_model_dir), load_model(tiny_model_dir), load_model(tiny_model_dir)
    record = finetune(a, data, Settings(**FAST, seed=4, ramp=0.0), unlabelled=extra)
    finetune(b, data, Settings(**FAST, seed=4, ramp=0.0), unlabelled=extra)
    plain = finetune(c, data, Settings(**FAST, seed=4))
    taught = record["semi_supervised"]
    assert taught["unlabelled"] == 6 and 0.0 <= taught["taught_share"] <= 1.0
    assert taught["result"] == "mean-teacher weights" and "semi_supervised" not in plain
    assert all(np.isfinite(loss) for _, loss in record["loss_history"])
    wa, wb, wc = (m.state_dict()["segment.weight"] for m in (a, b, c))
    assert torch.equal(wa, wb)                                  # same seed, same weights
    assert not torch.equal(wa, wc)                              # the unlabelled images changed the result
    assert record["prior"]["tiles"] == plain["prior"]["tiles"]  # the prior counts the labelled tiles only


def test_finetune_rejects_unusable_unlabelled_sets(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    extra = unlabelled_set(tiny_pairs)
    model = load_model(tiny_model_dir)
    heights = ImageSet(extra.images, extra.masks, extra.paths, "heights", extra.spacing, [])
    with pytest.raises(InputError, match="unlabelled images are heights"):
        finetune(model, data, Settings(**FAST), unlabelled=heights)
    small = ImageSet(extra.images[:, :, :32, :32], extra.masks[:, :, :32, :32], extra.paths, "image", extra.spacing, [])
    with pytest.raises(InputError, match="working size"):
        finetune(model, data, Settings(**FAST), unlabelled=small)
    empty = ImageSet(extra.images[:0], extra.masks[:0], [], "image", [], [])
    with pytest.raises(InputError, match="empty"):
        finetune(model, data, Settings(**FAST), unlabelled=empty)
    with pytest.raises(InputError, match="confidence"):
        finetune(model, data, Settings(**FAST, confidence=0.3), unlabelled=extra)
    with pytest.raises(InputError, match="ema_decay"):
        finetune(model, data, Settings(**FAST, ema_decay=1.0), unlabelled=extra)


def test_cli_finetune_with_an_unlabelled_folder(tiny_model_dir, tiny_pairs, tmp_path):
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (50, 60), dtype=np.uint8)).save(folder / f"part{i}.jpg")
    out = tmp_path / "tuned"
    args = ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--out", str(out), "--model", str(tiny_model_dir),
            "--steps", "2", "--size", "64", "--batch", "2", "--fp32"]
    result = runner.invoke(app, [*args, "--unlabelled", str(folder)])
    assert result.exit_code == 0, result.output
    assert load_model(out).metadata["realdata"]["semi_supervised"]["unlabelled"] == 3
    assert "3 unlabelled images" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, [*args[:4], str(tmp_path / "o2"), *args[5:], "--unlabelled", str(empty)])
    assert result.exit_code == 2 and "no images found" in result.output and not (tmp_path / "o2").exists()
