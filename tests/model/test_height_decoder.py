"""The height decoder: inputs without an image get their own decoder (ModelConfig.height_decoder)."""

import copy

import numpy as np
import pytest
import torch

from surfsight.model import load_model, predict, save_model
from surfsight.model.data import collate
from surfsight.model.dense_refit import refit_decoder, with_height_decoder
from surfsight.model.network import SurfsightModel

from .conftest import rows, tiny_config, tiny_model


@pytest.fixture(scope="module")
def data():
    return rows(n=12, size=32, seed=29, mc=3)


@pytest.fixture()
def split(data):
    """A tiny model with a height decoder whose two decoders differ."""
    model = with_height_decoder(tiny_model(data))
    with torch.no_grad():
        for p in model.height_up.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _general(model, feats):
    return model._decode(feats, model.up, model.segment, model.reconstruct)


def _heights(model, feats):
    return model._decode(feats, model.height_up, model.height_segment, model.height_reconstruct)


def test_each_input_goes_through_its_decoder(data, split):
    h = collate(data[:3], split.config, "height")
    i = collate(data[:3], split.config, "image")
    bo = collate(data[:3], split.config, "both")
    with torch.no_grad():
        for b, route in ((h, _heights), (i, _general), (bo, _general)):
            feats = split.encode(b["x"])
            out = split(b["x"], b["scale"])
            want = route(split, feats)
            assert torch.equal(out["segmentation"], want["segmentation"])
            assert torch.equal(out["reconstruction"], want["reconstruction"])
        # the two decoders really differ, so the checks above can tell them apart
        feats = split.encode(h["x"])
        assert not torch.allclose(_heights(split, feats)["segmentation"], _general(split, feats)["segmentation"])
        # a batch that mixes inputs is routed sample by sample
        x = torch.cat([h["x"][:2], i["x"][:2]])
        mixed = split(x, torch.cat([h["scale"][:2], i["scale"][:2]]))
        alone_h = split(h["x"][:2], h["scale"][:2])
        alone_i = split(i["x"][:2], i["scale"][:2])
    assert torch.allclose(mixed["segmentation"][:2], alone_h["segmentation"], atol=1e-6)
    assert torch.allclose(mixed["segmentation"][2:], alone_i["segmentation"], atol=1e-6)


def test_decode_needs_the_route(split, data):
    b = collate(data[:2], split.config, "height")
    with pytest.raises(ValueError, match="has_image"):
        split.decode(split.encode(b["x"]))


def test_the_copy_changes_no_output(data):
    model = tiny_model(data)
    copy_ = with_height_decoder(model)
    assert copy_.config.height_decoder and not model.config.height_decoder
    assert with_height_decoder(copy_) is copy_
    z = np.random.default_rng(0).standard_normal((40, 48)) * 1e-6
    image = np.random.default_rng(1).random((40, 48)).astype(np.float32)
    for heights, im in ((z, None), (None, image), (z, image)):
        a = predict(model, heights, im, 1e-6, passes=2, tile=32)
        b = predict(copy_, heights, im, 1e-6, passes=2, tile=32)
        assert np.array_equal(a.probabilities, b.probabilities)
        assert np.array_equal(a.reconstruction, b.reconstruction)
        assert a.parameters == b.parameters


def test_a_height_refit_leaves_the_image_decoder_alone(data):
    model = with_height_decoder(tiny_model(data))
    before = copy.deepcopy(model.state_dict())
    summary = refit_decoder(model, data * 3, {"height": 1.0}, steps=20, lr=3e-3, batch=6)
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    if summary["kept"]:
        assert changed and all(k.startswith("height_") for k in changed), sorted(changed)[:5]
    else:
        assert not changed
    # image input never touches the height decoder
    b = collate(data[:3], model.config, "image")
    fresh = with_height_decoder(tiny_model(data))
    with torch.no_grad():
        assert torch.equal(model(b["x"], b["scale"])["segmentation"], fresh(b["x"], b["scale"])["segmentation"])


def test_a_refit_over_every_mode_trains_both_decoders(data):
    model = with_height_decoder(tiny_model(data))
    before = copy.deepcopy(model.state_dict())
    summary = refit_decoder(model, data * 3, {"height": 0.5, "image": 0.5}, steps=30, lr=3e-3, batch=6)
    assert summary["kept"]
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith("height_up.") for k in changed) and any(k.startswith("up.") for k in changed)


def test_save_load_keeps_the_height_decoder(split, tmp_path, data):
    save_model(split, tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.config.height_decoder
    b = collate(data[:2], split.config, "height")
    with torch.no_grad():
        assert torch.equal(back(b["x"], b["scale"])["segmentation"], split(b["x"], b["scale"])["segmentation"])


def test_onnx_graph_routes_like_pytorch(split, tmp_path, data):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from surfsight.model.export import export_onnx

    path = tmp_path / "m.onnx"
    export_onnx(split, path, size=32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for mode in ("height", "image"):
        b = collate(data[:2], split.config, mode)
        got = session.run(["segmentation"], {"x": b["x"].numpy(), "scale": b["scale"].numpy()})[0]
        with torch.no_grad():
            want = split(b["x"], b["scale"])["segmentation"].numpy()
        assert np.abs(got - want).max() < 1e-4, mode
    from surfsight.model.export import parity

    assert max(parity(split, path, size=32).values()) < 1e-4


def test_a_recipe_can_ask_for_a_height_decoder(shard_dirs, tmp_path):
    from surfsight.model.train import load_recipe, train

    recipe = load_recipe(None, model={"base_channels": 4, "depth": 3, "max_channels": 16, "head_hidden": 16,
                                      "height_decoder": True},
                         data={"train": str(shard_dirs / "train"), "calibration": None},
                         train={"steps": 4, "batch": 4, "log_every": 1, "checkpoint_every": 4, "threads": 1,
                                "modes": {"height": 0.5, "image": 0.5}},
                         calibration={"passes": 3})
    train(recipe, tmp_path / "run", resume=False, log=lambda m: None)
    model = load_model(tmp_path / "run" / "model")
    assert model.config.height_decoder
    fresh = SurfsightModel(tiny_config(height_decoder=True))
    assert set(model.state_dict()) == set(fresh.state_dict())


@pytest.mark.parametrize("training", [False, True])
def test_export_leaves_the_model_as_it_was(data, tmp_path, training):
    """The exporter restores the mode of the module it is handed; the model must come back in
    its own mode with its batch-norm statistics untouched."""
    pytest.importorskip("onnx")
    from surfsight.model.export import export_onnx

    model = tiny_model(data).train(training)
    before = copy.deepcopy(model.state_dict())
    export_onnx(model, tmp_path / "m.onnx", size=32)
    assert all(m.training == training for m in model.modules())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
