"""Decoder refit: the dense heads retrained on a frozen encoder."""

import copy

import pytest
import torch

from surfsight.model import dense_refit
from surfsight.model.data import collate
from surfsight.model.dense_refit import decoder_modules, dense_losses, refit_decoder

from .conftest import rows, tiny_model, tiny_recipe


@pytest.fixture(scope="module")
def data():
    return rows(n=12, size=32, seed=23, mc=3)



def _decoder_names(model):
    ids = {id(p) for m in decoder_modules(model) for p in m.parameters()}
    names = {n for n, p in model.named_parameters() if id(p) in ids}
    # batch-norm buffers of the decoder blocks belong to the decoder too
    return names | {n for n, _ in model.named_buffers() if n.startswith(("up.", "segment.", "reconstruct."))}


def test_only_the_decoder_changes_and_global_outputs_are_identical(data):
    model = tiny_model(data)
    before = copy.deepcopy(model.state_dict())
    b = collate(data[:4], model.config, "both")
    model.eval()
    with torch.no_grad():
        g_before = model(b["x"], b["scale"])
    # every sample three times, so the held-out rows are copies of fitted ones and must improve
    summary = refit_decoder(model, data * 3, {"height": 0.5, "both": 0.5}, steps=40, lr=3e-3, batch=6)
    after = model.state_dict()
    names = _decoder_names(model)
    for name, value in before.items():
        if name not in names:  # encoder, global head and their batch-norm statistics
            assert torch.equal(value, after[name]), f"{name} is not part of the decoder but changed"
    assert summary["kept"] and any(not torch.equal(before[n], after[n]) for n in names)
    assert sum(summary["held_out_after"].values()) < sum(summary["held_out_before"].values())
    assert set(summary["held_out_before"]) == {f"{m}/{t}" for m in ("height", "both")
                                               for t in ("segmentation", "reconstruction")}
    with torch.no_grad():
        g_after = model(b["x"], b["scale"])
    for key in ("parameters", "parameters_logvar", "uncertainty", "uncertainty_logvar", "instrument"):
        assert torch.equal(g_before[key], g_after[key]), key
    assert not torch.equal(g_before["segmentation"], g_after["segmentation"])
    assert all(p.requires_grad for p in model.parameters()) and not model.training


def test_a_worse_decoder_is_not_kept(data, monkeypatch):
    model = tiny_model(data)
    before = copy.deepcopy(model.state_dict())
    calls = []

    def fake_losses(*args, **kwargs):  # held-out loss that rises: the refit must be undone
        calls.append(1)
        return {"height/segmentation": float(len(calls))}

    monkeypatch.setattr(dense_refit, "dense_losses", fake_losses)
    summary = refit_decoder(model, data, {"height": 1.0}, steps=5, lr=3e-3, batch=4)
    assert not summary["kept"] and len(calls) == 2
    after = model.state_dict()
    for name, value in before.items():
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(value, after[name]), name


def test_dense_losses_match_a_direct_forward(data):
    model = tiny_model(data)
    got = dense_losses(model, data[:5], ["height", "image"], ["segmentation", "reconstruction"], batch=5)
    from surfsight.model.losses import dense_task_losses

    model.eval()
    for mode in ("height", "image"):
        b = collate(data[:5], model.config, mode)
        with torch.no_grad():
            want = dense_task_losses(model.decode(model.encode(b["x"]), model.has_image(b["x"])), b)
        for task in ("segmentation", "reconstruction"):
            assert got[f"{mode}/{task}"] == pytest.approx(float(want[task]), rel=1e-5)


def test_bad_arguments(data):
    model = tiny_model(data)
    with pytest.raises(ValueError, match="steps"):
        refit_decoder(model, data, {"height": 1.0}, steps=0)
    with pytest.raises(ValueError, match="modes"):
        refit_decoder(model, data, {"heights": 1.0}, steps=1)
    with pytest.raises(ValueError, match="modes"):
        refit_decoder(model, data, {"height": 0.0}, steps=1)
    assert refit_decoder(model, data, {"height": 1.0}, steps=1, tasks=["instrument"]) == {"skipped": "no dense task"}


def test_recipe_runs_the_decoder_refit(shard_dirs, tmp_path):
    from surfsight.model import load_model
    from surfsight.model.train import train

    recipe = tiny_recipe(shard_dirs, calibration=False, decoder_refit={"steps": 3, "batch": 4})
    logs = []
    train(recipe, tmp_path / "run", resume=False, log=logs.append)
    meta = load_model(tmp_path / "run" / "model").metadata
    assert meta["training"]["decoder_refit"]["steps"] == 3
    assert meta["training"]["decoder_refit"]["held_out_rows"] == 1   # a tenth of 8 rows, at least one
    assert any("refitting the decoder" in m for m in logs) and any("decoder refit step 3/3" in m for m in logs)


def test_held_out_score_weighs_modes_as_the_batches_do():
    from surfsight.model.dense_refit import held_out_score

    modes = {"height": 0.5, "image": 0.25, "both": 0.25}
    before = {"height/segmentation": 0.45, "image/segmentation": 0.94, "both/segmentation": 0.48}
    # the image-only loss falls more than the height loss rises: an unweighted sum improves ...
    after = {"height/segmentation": 0.49, "image/segmentation": 0.88, "both/segmentation": 0.48}
    assert sum(after.values()) < sum(before.values())
    # ... but heights weigh twice as much as images in the batches, and the weighted score rises
    assert held_out_score(after, modes) > held_out_score(before, modes)
    assert held_out_score(before, modes) == pytest.approx(0.5 * 0.45 + 0.25 * 0.94 + 0.25 * 0.48)
    # only the modes' ratios matter; tasks add up within a mode; no losses score zero
    assert held_out_score(before, {"height": 2, "image": 1, "both": 1}) == pytest.approx(held_out_score(before, modes))
    assert held_out_score({"height/segmentation": 1.0, "height/reconstruction": 2.0}, {"height": 1}) == 3.0
    assert held_out_score({}, modes) == 0.0


def test_a_time_limit_stops_the_refit_and_is_recorded(data):
    model = tiny_model(data)
    summary = refit_decoder(model, data, {"height": 1.0}, steps=10**6, batch=4, time_limit_s=0.5)
    assert 1 <= summary["steps"] < 10**6
    assert summary["steps_planned"] == 10**6 and summary["time_limit_s"] == 0.5


def test_held_out_losses_build_no_graph(data):
    model = tiny_model(data)
    with torch.enable_grad():
        real = torch.Tensor.__float__
        seen = []

        def spy(t):
            seen.append(t.requires_grad)
            return real(t)

        torch.Tensor.__float__ = spy
        try:
            dense_losses(model, data[:4], ["height"], ["segmentation"])
        finally:
            torch.Tensor.__float__ = real
    assert seen and not any(seen)
