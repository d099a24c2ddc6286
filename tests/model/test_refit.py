"""Second stage: the global head refitted on frozen pooled features."""

import copy

import pytest
import torch

from surfsight.model.refit import head_modules, pooled_features, refit_head

from .conftest import rows, tiny_model, tiny_recipe


@pytest.fixture(scope="module")
def data():
    return rows(n=12, size=32, seed=21, mc=3)



def test_only_the_head_changes_and_the_held_out_loss_does_not_rise(data):
    model = tiny_model(data)
    before = copy.deepcopy(model.state_dict())
    head = {id(p) for m in head_modules(model) for p in m.parameters()}
    head_names = {n for n, p in model.named_parameters() if id(p) in head}
    # every sample four times, so the held-out share holds copies of fitted samples and must improve
    summary = refit_head(model, data * 4, ["height"], epochs=20, lr=3e-3, batch=8, holdout=0.25)
    after = model.state_dict()
    for name, value in before.items():
        if name not in head_names:  # trunk weights and batch-norm statistics
            assert torch.equal(value, after[name]), f"{name} is not part of the head but changed"
    assert any(not torch.equal(before[n], after[n]) for n in head_names)
    # the best epoch is kept, so the held-out loss can only fall
    assert summary["held_out_loss"] < summary["held_out_loss_before"]
    assert summary["samples"] == 48 and 1 <= summary["best_epoch"] <= 20
    assert all(p.requires_grad for p in model.parameters())


def test_pooled_features_match_the_inference_path(data):
    model = tiny_model(data)
    d = pooled_features(model, data[:3], ["height"])
    from surfsight.model.data import collate

    b = collate(data[:3], model.config, "height")
    model.eval()
    with torch.no_grad():
        m1, m2 = model.moments(model.encode(b["x"]))
    assert torch.allclose(d["m1"], m1, atol=1e-6) and torch.allclose(d["m2"], m2, atol=1e-6)
    assert d["scale"].shape == (3, model.config.scale_features)


def test_zero_epochs_refused(data):
    with pytest.raises(ValueError, match="epochs"):
        refit_head(tiny_model(data), data, ["height"], epochs=0)


def test_recipe_runs_the_second_stage(shard_dirs, tmp_path):
    from surfsight.model import load_model
    from surfsight.model.train import train

    recipe = tiny_recipe(shard_dirs, calibration=False, head_refit={"epochs": 3, "batch": 4})
    logs = []
    train(recipe, tmp_path / "run", resume=False, log=logs.append)
    meta = load_model(tmp_path / "run" / "model").metadata
    assert meta["training"]["head_refit"]["epochs"] == 3
    assert any("refitting the global head" in m for m in logs)
