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


def test_reinit_gives_the_same_head_whatever_head_it_starts_from(data):
    """With ``reinit`` the refit forgets the incoming head: two models that differ only in their
    head end with the same head (what makes the refit script and the full recipe agree)."""
    a = tiny_model(data)
    b = copy.deepcopy(a)
    with torch.no_grad():
        for p in b.out_parameters.parameters():
            p.add_(1.0)
    feats = pooled_features(a, data, ["height"])
    sa = refit_head(a, [], ["height"], epochs=3, batch=4, features=feats, reinit=True, seed=3)
    sb = refit_head(b, [], ["height"], epochs=3, batch=4, features=feats, reinit=True, seed=3)
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name
    assert sa["reinit"] and sa["held_out_loss"] == sb["held_out_loss"]
    # the incoming heads differed, and that is still what "before" reports
    assert sa["held_out_loss_before"] != sb["held_out_loss_before"]


def test_refit_is_repeatable_whatever_the_process_random_state(data):
    """The dropout masks come from the refit's seed: the same call under two different global
    random states gives the same head bit for bit, and leaves the global state where it was."""
    a = tiny_model(data)
    b = copy.deepcopy(a)
    feats = pooled_features(a, data, ["height"])
    torch.manual_seed(1)
    sa = refit_head(a, [], ["height"], epochs=4, batch=4, features=feats, reinit=True, seed=7)
    torch.manual_seed(2)
    expected = torch.rand(3)
    torch.manual_seed(2)
    sb = refit_head(b, [], ["height"], epochs=4, batch=4, features=feats, reinit=True, seed=7)
    assert torch.equal(torch.rand(3), expected)
    for name, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[name]), name
    assert sa["held_out_loss"] == sb["held_out_loss"]
    # a different seed is a different head (the seed is really used)
    c = copy.deepcopy(a)
    sc = refit_head(c, [], ["height"], epochs=4, batch=4, features=feats, reinit=True, seed=8)
    assert sc["held_out_loss"] != sa["held_out_loss"]


def test_reinit_leaves_the_global_random_state_alone(data):
    from surfsight.model.refit import reinitialise_head

    model = tiny_model(data)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    reinitialise_head(model, seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_concat_features_joins_folders_in_order(data):
    from surfsight.model.refit import concat_features

    model = tiny_model(data)
    whole = pooled_features(model, data[:6], ["height", "image"])
    parts = concat_features([pooled_features(model, data[:6], ["height", "image"])] * 2)
    for k, v in whole.items():
        assert parts[k].shape[0] == 2 * v.shape[0]
        torch.testing.assert_close(parts[k][:v.shape[0]], v, rtol=0, atol=0, equal_nan=True)   # NaN: undefined targets


def test_recipe_reads_extra_folders_for_the_head_refit_only(shard_dirs, tmp_path):
    from surfsight.model import load_model
    from surfsight.model.train import train

    recipe = tiny_recipe(shard_dirs, calibration=False,
                         head_refit={"epochs": 2, "batch": 4, "reinit": True, "data": [str(shard_dirs / "calib")]})
    logs = []
    train(recipe, tmp_path / "run", resume=False, log=logs.append)
    meta = load_model(tmp_path / "run" / "model").metadata
    hr = meta["training"]["head_refit"]
    n_train, n_extra = meta["data"]["rows"], hr["extra_data"][0]["n"]
    assert hr["reinit"] and hr["samples"] == (n_train + n_extra) * 3   # three input modes
    assert hr["extra_data"][0]["folder"] == str(shard_dirs / "calib")
    assert meta["data"]["rows"] == n_train                             # the joint stage did not read it


def test_a_missing_extra_folder_fails_before_training(shard_dirs, tmp_path):
    from surfsight.errors import InputError
    from surfsight.model.train import train

    recipe = tiny_recipe(shard_dirs, calibration=False, head_refit={"epochs": 2, "data": [str(tmp_path / "nowhere")]})
    with pytest.raises(InputError, match="nowhere.*no shards"):
        train(recipe, tmp_path / "run", resume=False, log=lambda m: None)
    assert not (tmp_path / "run" / "metrics.csv").exists()


@pytest.mark.parametrize("shared", [0, 1])
def test_with_head_shared_keeps_the_trunk_and_refits_the_new_head(data, shared):
    from surfsight.model.refit import with_head_shared

    model = tiny_model(data)
    new = with_head_shared(model, shared)
    assert new.config.head_shared == shared and model.config.head_shared == 2
    head = {id(t) for m in head_modules(new) for t in m.state_dict(keep_vars=True).values()}
    old, fresh = model.state_dict(), new.state_dict(keep_vars=True)
    trunk = [k for k, t in fresh.items() if id(t) not in head]
    assert trunk and all(torch.equal(old[k], fresh[k]) for k in trunk)   # encoder, decoders, BN statistics
    summary = refit_head(new, data * 4, ["height"], epochs=5, lr=3e-3, batch=8, holdout=0.25)
    assert summary["held_out_loss"] < summary["held_out_loss_before"]
    # the same sharing is a plain copy, not a fresh head
    same = with_head_shared(model, 2)
    assert all(torch.equal(v, same.state_dict()[k]) for k, v in model.state_dict().items())


def test_a_recipe_with_task_towers_trains_refits_and_exports(shard_dirs, tmp_path):
    """``model.head_shared: 1`` in a recipe: the joint stage and the head refit train the towers,
    the saved model keeps them, and the ONNX graph gives PyTorch's outputs."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from surfsight.model import load_model
    from surfsight.model.export import export_onnx, parity
    from surfsight.model.train import train

    recipe = tiny_recipe(shard_dirs, calibration=False, head_refit={"epochs": 2, "batch": 4, "reinit": True})
    recipe["model"]["head_shared"] = 1
    train(recipe, tmp_path / "run", resume=False, log=lambda m: None)
    model = load_model(tmp_path / "run" / "model")
    assert model.config.head_shared == 1 and len(model.tower_instrument) == 3
    export_onnx(model, tmp_path / "m.onnx", size=32)
    assert max(parity(model, tmp_path / "m.onnx", size=32).values()) < 1e-4


def test_rebuilt_keeps_every_weight_the_new_network_shares(data):
    from surfsight.model.refit import rebuilt

    model = tiny_model(data)
    new = rebuilt(model, reconstruction_block=True)
    old = model.state_dict()
    kept = {k for k, v in new.state_dict().items() if k in old and old[k].shape == v.shape}
    assert all(torch.equal(new.state_dict()[k], old[k]) for k in kept)
    assert any(k.startswith("reconstruct.0.") for k in new.state_dict())
    x = torch.randn(2, 5, 32, 32)
    scale = torch.randn(2, model.config.scale_features)
    with torch.no_grad():   # outside the reconstruction, the same outputs
        a, b = model(x, scale), new(x, scale)
    assert torch.equal(a["segmentation"], b["segmentation"]) and torch.equal(a["instrument"], b["instrument"])
    with pytest.raises(ValueError, match="no field"):
        rebuilt(model, reconstruction_blocks=True)
