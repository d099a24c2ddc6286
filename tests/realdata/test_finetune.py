"""Fine-tuning, segmentation and evaluation on tiny images with a tiny random model (a few steps)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch
from PIL import Image
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.errors import InputError
from surfsight.model import load_model, save_model
from surfsight.realdata.finetune import (CPU_BUDGET_S, SMALL_SET, Settings, correct_prior, crop_side, default_steps,
                                         default_time_limit, finetune, loss_fn,
                                         prior_shift, recipe_steps)
from surfsight.realdata.inputs import defect_logit, load_set, predict
from surfsight.realdata.pairs import read_pairs

runner = CliRunner()
FAST = dict(steps=3, batch=4, crop=32, size=(64, 64))


def test_default_schedule_grows_with_the_set():
    assert default_steps(5) == default_steps(10) < default_steps(50) < default_steps(429) <= default_steps(10**6)


def test_default_crop_is_three_quarters_of_the_side_and_steps_keep_the_pixels_seen():
    assert crop_side(Settings(), (256, 256)) == 192
    assert crop_side(Settings(), (100, 300)) == 72          # three quarters of the shorter side, a multiple of 8
    assert crop_side(Settings(), (24, 24)) == 16
    assert crop_side(Settings(crop=0), (256, 256)) == 0     # whole tiles
    assert crop_side(Settings(crop=96), (256, 256)) == 96
    with pytest.raises(InputError, match="crop"):
        crop_side(Settings(crop=-1), (256, 256))
    assert default_steps(50, 4.0) == 4 * default_steps(50) == 7200
    assert default_steps(20, 4.0) == 2880 and default_steps(6, 4.0) == 2760
    assert recipe_steps(50, Settings(), (256, 256)) == 3200 and recipe_steps(20, Settings(), (256, 256)) == 1280


def test_encoder_schedule_defaults_and_bad_values(tiny_model_dir, tiny_pairs):
    from surfsight.realdata.finetune import encoder_lr_factor

    assert encoder_lr_factor(50, Settings()) == 1.0 and encoder_lr_factor(101, Settings()) == pytest.approx(1 / 3)
    assert encoder_lr_factor(429, Settings(encoder_lr_factor=0.5)) == 0.5
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    record = finetune(load_model(tiny_model_dir), data, Settings(**FAST))
    assert record["freeze_steps"] == 0 and record["encoder_lr_factor"] == 1.0     # the recipe: no frozen phase
    for bad in (dict(freeze_fraction=1.0), dict(freeze_fraction=-0.1), dict(freeze_fraction=float("nan"))):
        with pytest.raises(InputError, match="freeze_fraction"):
            finetune(load_model(tiny_model_dir), data, Settings(**FAST, **bad))
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(InputError, match="encoder_lr_factor"):
            finetune(load_model(tiny_model_dir), data, Settings(**FAST, encoder_lr_factor=bad))


def test_default_steps_follow_the_crop(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    model = load_model(tiny_model_dir)
    record = finetune(model, data, Settings(size=(64, 64), batch=2, time_limit_s=0.01))
    assert record["crop"] == 48 and record["steps_planned"] == round(default_steps(6) * 64 ** 2 / 48 ** 2)
    record = finetune(model, data, Settings(size=(64, 64), batch=2, crop=0, time_limit_s=0.01))
    assert record["crop"] == 0 and record["steps_planned"] == default_steps(6)


def test_the_recipe_bounds_small_sets_on_a_cpu_by_time():
    assert default_time_limit(50, Settings()) == CPU_BUDGET_S < 15 * 60
    assert default_time_limit(SMALL_SET + 1, Settings()) is None            # a large set: a deliberate long run
    assert default_time_limit(50, Settings(steps=10)) is None                # steps or epochs given
    assert default_time_limit(50, Settings(epochs=2.0)) is None
    assert default_time_limit(50, Settings(device="cuda")) is None


def test_cli_finetune_applies_the_cpu_budget_unless_lifted(tiny_model_dir, tiny_pairs, tmp_path, monkeypatch):
    from surfsight.realdata import finetune as ft

    common = ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--model", str(tiny_model_dir), "--size", "64",
              "--batch", "2"]
    monkeypatch.setattr(ft, "CPU_BUDGET_S", 0.5)          # the recipe's 1227 steps for 6 images, cut short
    result = runner.invoke(app, [*common, "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    record = load_model(tmp_path / "d").metadata["realdata"]
    assert record["time_limit_s"] == 0.5 and record["steps"] < record["steps_planned"] == round(690 * 64 ** 2 / 48 ** 2)
    assert "bounded to 0.5 s on the CPU" in result.output
    result = runner.invoke(app, [*common, "--out", str(tmp_path / "a"), "--epochs", "0.5"])
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "a").metadata["realdata"]["time_limit_s"] is None and "bounded" not in result.output
    result = runner.invoke(app, [*common, "--out", str(tmp_path / "b"), "--time-limit", "0", "--steps", "1"])
    assert result.exit_code == 0 and load_model(tmp_path / "b").metadata["realdata"]["time_limit_s"] is None
    result = runner.invoke(app, [*common, "--out", str(tmp_path / "c"), "--time-limit", "-1"])
    assert result.exit_code == 2 and "--time-limit" in result.output and not (tmp_path / "c").exists()


def test_loss_is_low_for_right_and_high_for_wrong_logits():
    target = torch.zeros(1, 1, 4, 4)
    target[..., :2, :2] = 1
    right = torch.where(target > 0, 8.0, -8.0)
    assert float(loss_fn(right, target)) < 0.01
    assert float(loss_fn(-right, target)) > 1.5


def test_batch_dice_pools_the_pixels_of_the_batch():
    """Per image, a pin-hole missed costs as much as a large defect missed; pooled over the batch
    the large defect dominates, as in an IoU pooled over a set."""
    target = torch.zeros(2, 1, 8, 8)
    target[0, ..., :6, :6] = 1          # a large defect, found
    target[1, ..., 0, 0] = 1            # a pin-hole, missed
    logit = torch.where(target > 0, 8.0, -8.0)
    logit[1, ..., 0, 0] = -8.0
    bce = float(torch.nn.functional.binary_cross_entropy_with_logits(logit, target))
    image_dice, batch_dice = float(loss_fn(logit, target)) - bce, float(loss_fn(logit, target, pool="batch")) - bce
    assert image_dice == pytest.approx(0.5 * (1 - 1 / 2), abs=5e-3)            # (0 + (1 - 1/2)) / 2
    assert batch_dice == pytest.approx(1 - (2 * 36 + 1) / (36 + 37 + 1), abs=2e-3)
    single = target[:1], logit[:1]
    assert float(loss_fn(single[1], single[0], pool="batch")) == pytest.approx(float(loss_fn(single[1], single[0])))
    with pytest.raises(InputError, match="dice_pool"):
        loss_fn(logit, target, pool="set")


def test_defect_logit_is_one_minus_background():
    seg = torch.randn(2, 6, 3, 3)
    p = torch.sigmoid(defect_logit(seg))[:, 0]
    assert torch.allclose(p, 1 - seg.softmax(dim=1)[:, 0], atol=1e-6)


def test_finetune_changes_weights_and_records(tiny_model_dir, tiny_pairs):
    model = load_model(tiny_model_dir)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    assert data.images.shape == (6, 1, 64, 64) and data.masks[5].sum() == 0
    record = finetune(model, data, Settings(**FAST, freeze_fraction=0.5))
    assert record["steps"] == 3 and record["freeze_steps"] == 2 and record["size"] == [64, 64]
    assert all(np.isfinite(loss) for _, loss in record["loss_history"])
    after = model.state_dict()
    assert not torch.equal(before["segment.weight"], after["segment.weight"])
    assert torch.equal(before["out_instrument.weight"], after["out_instrument.weight"])   # global head untouched
    assert model.metadata["realdata"]["input"] == "image"
    probs = predict(model, data.images, data.kind, data.spacing)
    assert probs.shape == (6, 64, 64) and np.all((probs >= 0) & (probs <= 1))


def test_prior_shift_is_the_log_odds_ratio():
    assert prior_shift(0.2, 0.2) == 0.0
    assert prior_shift(0.0, 0.1) == 0.0 and prior_shift(0.1, 1.0) == 0.0    # nothing labelled / nothing else
    assert prior_shift(0.0618, 0.0969) == pytest.approx(np.log(0.0969 / 0.9031) - np.log(0.0618 / 0.9382))
    assert prior_shift(0.3, 0.1) < 0                                         # crops poorer than tiles: raise


@settings(max_examples=40, deadline=None)
@given(st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.floats(0.001, 0.999))
def test_shifted_logit_is_the_bayes_prior_adjustment(tile, crop, p):
    """Saerens et al. (2002) eq. 2.4: p' = (t/c) p / ((t/c) p + ((1-t)/(1-c)) (1-p))."""
    adjusted = (tile / crop) * p / ((tile / crop) * p + ((1 - tile) / (1 - crop)) * (1 - p))
    shifted = 1 / (1 + np.exp(-(np.log(p / (1 - p)) - prior_shift(tile, crop))))
    assert shifted == pytest.approx(adjusted, rel=1e-9, abs=1e-12)


def test_correct_prior_lowers_every_defect_logit_by_the_shift(tiny_model_dir):
    model = load_model(tiny_model_dir).eval()
    x = torch.rand(2, 1, 32, 32)
    from surfsight.realdata.inputs import model_input

    inputs, _ = model_input(x, "image", 1e-6)
    with torch.no_grad():
        before = defect_logit(model.segment_logits(inputs))
        correct_prior(model, "image", 0.75)
        after = defect_logit(model.segment_logits(inputs))
    assert torch.allclose(before - after, torch.full_like(before, 0.75), atol=1e-5)


def test_finetune_corrects_the_prior_of_its_crops(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    a, b = load_model(tiny_model_dir), load_model(tiny_model_dir)
    record = finetune(a, data, Settings(**FAST, seed=2))
    finetune(b, data, Settings(**FAST, seed=2, prior_correction=False))
    prior = record["prior"]
    assert prior["tiles"] == pytest.approx(float(data.masks.mean()), rel=1e-5)
    assert prior["applied"] and prior["logit_shift"] == pytest.approx(prior_shift(prior["tiles"], prior["crops"]), abs=1e-4)
    bias_a, bias_b = a.state_dict()["segment.bias"], b.state_dict()["segment.bias"]
    assert float(bias_a[0] - bias_b[0]) == pytest.approx(prior["logit_shift"], abs=1e-5)
    assert torch.equal(bias_a[1:], bias_b[1:])
    assert torch.equal(a.state_dict()["segment.weight"], b.state_dict()["segment.weight"])
    assert b.metadata["realdata"]["prior"]["applied"] is False


def test_finetune_same_seed_same_weights(tiny_model_dir, tiny_pairs):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    a, b = load_model(tiny_model_dir), load_model(tiny_model_dir)
    finetune(a, data, Settings(**FAST, seed=3))
    finetune(b, data, Settings(**FAST, seed=3))
    assert torch.equal(a.state_dict()["segment.weight"], b.state_dict()["segment.weight"])


def test_finetune_adds_a_context_block_that_trains_and_is_saved(tiny_model_dir, tiny_pairs, tmp_path):
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    model = load_model(tiny_model_dir)
    assert model.context is None
    record = finetune(model, data, Settings(**FAST, context=(2, 4)))
    assert record["settings"]["context"] == (2, 4) and model.config.context_dilations == (2, 4)
    assert model.context.project.weight.abs().sum() > 0            # trained away from its zero start
    save_model(model, tmp_path / "ctx")
    back = load_model(tmp_path / "ctx")
    assert back.config.context_dilations == (2, 4)
    np.testing.assert_array_equal(predict(back, data.images, data.kind, data.spacing),
                                  predict(model, data.images, data.kind, data.spacing))
    again = finetune(back, data, Settings(**FAST, context=(2, 4)))    # already there: kept, trained on
    assert again["settings"]["context"] == (2, 4)
    with pytest.raises(InputError, match="dilations"):
        finetune(load_model(tiny_model_dir), data, Settings(**FAST, context=(0,)))


def test_cli_finetune_segment_evaluate(tiny_model_dir, tiny_pairs, tmp_path):
    out = tmp_path / "tuned"
    result = runner.invoke(app, ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--out", str(out),
                                 "--model", str(tiny_model_dir), "--steps", "2", "--size", "64", "--batch", "2",
                                 "--all-orientations", "--fp32", "--time-limit", "600", "--crop", "0"])
    assert result.exit_code == 0, result.output
    tuned = load_model(out)                                   # loads like any saved model
    assert tuned.metadata["realdata"]["steps"] == 2 and tuned.metadata["realdata"]["bf16"] is False
    assert tuned.metadata["realdata"]["crop"] == 0
    assert "(float32)" in result.output
    # a colour image of another size is accepted
    rgb = np.random.default_rng(0).integers(0, 255, (40, 70, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "colour.jpg")
    seg_dir = tmp_path / "seg"
    result = runner.invoke(app, ["segment", "--model", str(out), str(tiny_pairs / "img0.png"),
                                 str(tmp_path / "colour.jpg"), "--out", str(seg_dir), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2
    mask = np.asarray(Image.open(seg_dir / "colour_mask.png"))
    assert mask.shape == (40, 70) and set(np.unique(mask)) <= {0, 255}
    assert np.asarray(Image.open(seg_dir / "colour_overlay.png")).shape == (40, 70, 3)
    result = runner.invoke(app, ["evaluate-seg", "--model", str(out), "--pairs", str(tiny_pairs / "PAIRS.csv"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"iou", "mean_f1", "image_auroc", "pixel_auroc"} <= set(report)
    assert 0 <= report["iou"] <= 1 and 0 <= report["image_auroc"] <= 1 and report["images"] == 6
    assert len(report["tta_views"]) == 8                      # --all-orientations: the eight symmetries
    result = runner.invoke(app, ["evaluate-seg", "--model", str(out), "--pairs", str(tiny_pairs / "PAIRS.csv"),
                                 "--json", "--no-tta"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tta_views"] == [[0, False]]


def test_cli_errors_are_one_line(tmp_path, tiny_model_dir):
    bad = tmp_path / "PAIRS.csv"
    bad.write_text("image,mask\nmissing.png,\n")
    result = runner.invoke(app, ["finetune", "--pairs", str(bad), "--out", str(tmp_path / "o"),
                                 "--model", str(tiny_model_dir)])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["segment", "--model", str(tmp_path / "nope"), str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "nope" in result.output
    result = runner.invoke(app, ["finetune", "--pairs", str(bad), "--out", str(tmp_path / "o"), "--crop", "-4"])
    assert result.exit_code == 2 and "--crop" in result.output and not (tmp_path / "o").exists()
    for value in ("2,x", "0,2", "-1"):
        result = runner.invoke(app, ["finetune", "--pairs", str(bad), "--out", str(tmp_path / "o"), "--context", value])
        assert result.exit_code == 2 and "--context" in result.output and not (tmp_path / "o").exists()


def test_cli_finetune_context_option(tiny_model_dir, tiny_pairs, tmp_path):
    common = ["finetune", "--pairs", str(tiny_pairs / "PAIRS.csv"), "--model", str(tiny_model_dir), "--size", "64",
              "--steps", "2", "--batch", "2", "--crop", "32"]
    assert runner.invoke(app, [*common, "--out", str(tmp_path / "a")]).exit_code == 0
    assert load_model(tmp_path / "a").config.context_dilations == (2, 4, 8)          # the recipe's
    assert runner.invoke(app, [*common, "--out", str(tmp_path / "b"), "--context", "none"]).exit_code == 0
    plain = load_model(tmp_path / "b")
    assert plain.config.context_dilations == () and plain.context is None
    assert runner.invoke(app, [*common, "--out", str(tmp_path / "c"), "--context", "3,6"]).exit_code == 0
    assert load_model(tmp_path / "c").config.context_dilations == (3, 6)


def test_bf16_only_where_the_device_computes_it_natively(monkeypatch, tiny_model_dir, tiny_pairs):
    from surfsight.realdata import finetune as ft

    class FakeCpuinfo:
        flags = ""

        def __init__(self, path):
            assert str(path) == "/proc/cpuinfo"

        def read_text(self):
            return "flags\t\t: fpu sse2 avx2" + self.flags + "\n"

    monkeypatch.setattr(ft, "Path", FakeCpuinfo)
    assert ft.native_bf16("cuda") is True
    assert ft.native_bf16("cpu") is False
    FakeCpuinfo.flags = " avx512f avx512_bf16"
    assert ft.native_bf16("cpu") is True
    FakeCpuinfo.flags = " amx_tile amx_bf16"
    assert ft.native_bf16(torch.device("cpu")) is True
    # the record says which precision ran, and amp=False always means float32
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    assert finetune(load_model(tiny_model_dir), data, Settings(**FAST, amp=False))["bf16"] is False
    assert finetune(load_model(tiny_model_dir), data, Settings(**FAST))["bf16"] is True


@pytest.mark.parametrize("total", [1, 2, 3, 7, 20, 1050])
def test_one_cycle_matches_torch(total):
    """The schedule written out (so that a run bounded by time can follow it) gives torch's
    OneCycleLR rates and Adam beta1 at every step."""
    from surfsight.realdata.finetune import one_cycle

    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([{"params": [p], "lr": 1e-3}, {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 3e-3}])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-3, 3e-3], total_steps=total, pct_start=0.15,
                                                anneal_strategy="cos", div_factor=25.0, final_div_factor=1e3)
    for step in range(total):
        for group, peak in zip(opt.param_groups, (1e-3, 3e-3)):
            lr, beta1 = one_cycle(step, total, peak)
            assert lr == pytest.approx(group["lr"], rel=1e-12, abs=1e-18)
            assert beta1 == pytest.approx(group["betas"][0], rel=1e-12)
        opt.step()
        sched.step() if step < total - 1 else None


def test_a_time_limit_stops_the_run_and_anneals_over_the_time(tiny_model_dir, tiny_pairs, monkeypatch):
    from surfsight.realdata import finetune as ft

    clock = {"t": 0.0}

    def fake_time():
        clock["t"] += 1.0          # every call to the clock: one second later
        return clock["t"]

    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 64))
    monkeypatch.setattr(ft.time, "perf_counter", fake_time)
    record = finetune(load_model(tiny_model_dir), data, Settings(**{**FAST, "steps": 50}, time_limit_s=6.0))
    assert record["steps_planned"] == 50 and 1 <= record["steps"] < 50 and record["time_limit_s"] == 6.0
    with pytest.raises(ft.InputError, match="time_limit_s"):
        finetune(load_model(tiny_model_dir), data, Settings(**FAST, time_limit_s=0))


@pytest.mark.parametrize("augment, shape, expected", [
    (None, (64, 64), [(0, False)]),
    ({"flip": True}, (64, 64), [(0, False), (0, True)]),
    ({"flip": True, "vflip": True}, (64, 64), [(0, False), (0, True), (2, False), (2, True)]),
    ({"flip": False, "vflip": True}, (64, 64), [(0, False), (0, True), (2, False), (2, True)]),
    ({"flip": True, "vflip": True, "rotate90": True}, (64, 64), [(k, m) for k in range(4) for m in (False, True)]),
    ({"flip": True, "vflip": True, "rotate90": True}, (60, 64), [(k, m) for k in range(4) for m in (False, True)]),
    ({"flip": True, "vflip": True, "rotate90": True}, (64, 48), [(0, False), (0, True), (2, False), (2, True)]),
    ({"flip": True, "vflip": True, "rotate90": True}, None, [(k, m) for k in range(4) for m in (False, True)]),
])
def test_tta_views_are_the_symmetries_trained_with(tiny_model_dir, augment, shape, expected):
    """Quarter turns only where the padded input is square (60 rows are padded to 64); no shape: the
    working size (256 x 256 for a model with no recorded size)."""
    from surfsight.realdata.inputs import tta_views

    model = load_model(tiny_model_dir)
    if augment is not None:
        model.metadata["realdata"] = {"augment": augment}
    assert tta_views(model, shape) == expected


def test_tta_averages_the_views_and_undoes_them(tiny_model_dir, tiny_pairs):
    """With flips trained, predict is the mean of the plain reading and the mirrored one mirrored back;
    an input that must be padded to the network's multiple comes back at its own size."""
    model = load_model(tiny_model_dir)
    model.metadata["realdata"] = {"augment": {"flip": True}}
    data = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (64, 48))
    plain = predict(model, data.images, data.kind, data.spacing, tta=False)
    mirrored = predict(model, data.images.flip(-1), data.kind, data.spacing, tta=False)[..., ::-1]
    both = predict(model, data.images, data.kind, data.spacing)
    np.testing.assert_allclose(both, (plain + mirrored) / 2, atol=1e-5)
    assert not np.allclose(plain, mirrored, atol=1e-3)          # the views differ, so the test means something
    odd = load_set(read_pairs(tiny_pairs / "PAIRS.csv"), (60, 44))
    assert predict(model, odd.images, odd.kind, odd.spacing).shape == (6, 60, 44)


def test_parse_dilations_reads_none_or_positive_integers():
    from surfsight.realdata.finetune import parse_dilations

    assert parse_dilations("2,4,8") == (2, 4, 8) and parse_dilations(" 3 ") == (3,)
    assert parse_dilations("none") == parse_dilations("0") == parse_dilations("") == ()
    for bad in ("2,x", "0,2", "-1", "2,,4"):
        with pytest.raises(InputError, match="--ctx takes"):
            parse_dilations(bad, "--ctx")
