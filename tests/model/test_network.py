"""Network shapes, the encode/forward contract, save and load."""

import json

import numpy as np
import pytest
import torch

from surfsight.errors import InputError
from surfsight.model import SurfsightModel, load_model, save_model
from surfsight.synth import KINDS
from tests.model.conftest import tiny_config


def test_outputs_and_encoder_levels():
    model = SurfsightModel(tiny_config())
    x = model.prepare(np.random.default_rng(0).standard_normal((32, 48)) * 1e-6, None, 1e-6)
    feats = model.encode(x)
    assert [f.shape[-1] for f in feats] == [48, 24, 12]          # finest first
    assert [f.shape[1] for f in feats] == model.config.channels
    out = model(x)                                                # scale taken from x.scale
    assert out["segmentation"].shape == (1, 1 + len(KINDS), 32, 48)
    assert out["reconstruction"].shape == (1, 1, 32, 48)
    assert out["parameters"].shape == out["parameters_logvar"].shape == (1, len(model.config.parameter_names))
    assert out["uncertainty"].shape == (1, 2)
    assert out["instrument"].shape == (1, len(model.config.instrument_classes))
    with pytest.raises(ValueError, match="scale"):
        model(torch.zeros(1, 5, 32, 32))


def test_segment_logits_are_the_forward_segmentation():
    model = SurfsightModel(tiny_config())
    x = model.prepare(np.random.default_rng(2).standard_normal((32, 48)) * 1e-6, None, 1e-6)
    assert torch.equal(model.segment_logits(x), model(x)["segmentation"])


def test_convolutions_are_channels_last_and_the_layout_does_not_change_the_values():
    """The weights are kept channels-last for speed; a contiguous copy of the same network gives the
    same outputs up to the summation order."""
    torch.manual_seed(0)
    model = SurfsightModel(tiny_config())
    weight = model.stem[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    plain = SurfsightModel(tiny_config())
    plain.load_state_dict(model.state_dict())
    plain.to(memory_format=torch.contiguous_format)
    assert plain.stem[0].weight.is_contiguous()
    x = model.prepare(np.random.default_rng(3).standard_normal((40, 40)) * 1e-6, None, 1e-6)
    a, b = model(x), plain(x)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_save_load_roundtrip_without_pickle(tmp_path):
    torch.manual_seed(0)
    model = SurfsightModel(tiny_config())
    with torch.no_grad():  # make the BN statistics non-trivial
        model.stem[1].running_mean.uniform_(-1, 1)
    save_model(model, tmp_path, {"seed": 7})
    raw = (tmp_path / "model.safetensors").read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    json.loads(raw[8:8 + header_len])          # safetensors: length-prefixed JSON header, then raw tensors
    assert b"\x80\x04" not in raw[:2]          # not a pickle stream
    loaded = load_model(tmp_path)
    assert loaded.metadata["seed"] == 7 and not loaded.training
    x = model.prepare(np.random.default_rng(1).standard_normal((32, 32)), None, 1e-6)
    a, b = model.eval()(x), loaded(x)
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_load_errors_name_the_problem(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        load_model(tmp_path / "missing")
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(InputError, match="format"):
        load_model(tmp_path)


def test_shipped_default_model_loads_and_predicts():
    from surfsight.model.weights import MODELS

    if not (MODELS / "default" / "model.json").is_file():
        pytest.skip("no shipped default model in this checkout")
    model = load_model()
    assert (MODELS / "default" / "model.safetensors").stat().st_size <= 30e6
    for key in ("seed", "versions", "recipe", "calibration"):
        assert key in model.metadata
    from surfsight.model import predict

    z = np.random.default_rng(0).standard_normal((40, 56)) * 1e-7
    p = predict(model, z, None, 1e-6, passes=2)
    assert p.classes.shape == (40, 56)
    sa = p.parameters["Sa"]
    assert sa["low90"] <= sa["value"] <= sa["high90"]


@pytest.mark.parametrize("shared", [0, 1])
def test_head_with_task_towers_saves_loads_and_keeps_its_dropout(tmp_path, shared):
    """``head_shared`` < 2 gives each global task hidden layers of its own; the outputs keep their
    shapes, every dropout layer of the head takes part in MC dropout, and the model round-trips."""
    torch.manual_seed(0)
    model = SurfsightModel(tiny_config(head_shared=shared))
    towers = [model.tower_parameters, model.tower_uncertainty, model.tower_instrument]
    assert all(len(t) == 3 * (2 - shared) for t in towers) and len(model.trunk) == 3 * shared
    hidden = model.config.head_hidden
    assert model.out_parameters.in_features == hidden
    dropouts = [m for head in model.global_head_modules() for m in head.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == shared + 3 * (2 - shared)
    model.set_mc_dropout(True)
    assert all(m.training for m in dropouts)
    model.set_mc_dropout(False)
    assert not any(m.training for m in dropouts)
    x = model.prepare(np.random.default_rng(4).standard_normal((32, 32)) * 1e-6, None, 1e-6)
    out = model(x)
    assert out["parameters"].shape == (1, len(model.config.parameter_names)) and out["instrument"].shape[1] == 5
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config.head_shared == shared
    for k, v in loaded(x).items():
        assert torch.equal(v, out[k]), k


def test_a_wholly_shared_head_keeps_the_state_dict_of_earlier_models():
    """The default (both hidden layers shared) has exactly the keys the shipped weights were saved
    with, so models saved before ``head_shared`` existed load unchanged."""
    keys = [k for k in SurfsightModel(tiny_config()).state_dict() if k.startswith(("trunk", "tower"))]
    assert keys == ["trunk.0.weight", "trunk.0.bias", "trunk.3.weight", "trunk.3.bias"]
    with pytest.raises(ValueError, match="head_shared"):
        SurfsightModel(tiny_config(head_shared=3))


def test_reconstruction_block_is_a_tower_of_the_reconstruction_alone(tmp_path):
    """``reconstruction_block`` puts a residual block before the reconstruction head of each
    decoder; the segmentation reads the decoder as before, and the model round-trips."""
    torch.manual_seed(0)
    model = SurfsightModel(tiny_config(reconstruction_block=True, height_decoder=True))
    for heads in (model.decoder(), model.decoder(heights=True)):
        reconstruct = heads[2]
        assert isinstance(reconstruct, torch.nn.Sequential) and isinstance(reconstruct[-1], torch.nn.Conv2d)
        assert isinstance(heads[1], torch.nn.Conv2d)
    x = model.prepare(np.random.default_rng(5).standard_normal((32, 32)) * 1e-6, None, 1e-6)
    out = model(x)
    assert out["reconstruction"].shape == (1, 1, 32, 32)
    save_model(model, tmp_path)
    back = load_model(tmp_path)
    assert back.config.reconstruction_block
    assert torch.equal(back(x)["reconstruction"], out["reconstruction"])


def test_context_block_starts_as_the_identity_widens_the_field_and_round_trips(tmp_path):
    """A context block added to a trained network changes no output until trained; once its
    projection is non-zero, an output pixel sees inputs beyond the plain network's receptive field;
    the saved model is rebuilt with it."""
    torch.manual_seed(0)
    model = SurfsightModel(tiny_config())
    x = model.prepare(np.random.default_rng(6).standard_normal((64, 64)) * 1e-6, None, 1e-6)
    before = model(x)
    model.add_context((2, 4))
    assert model.config.context_dilations == (2, 4)
    after = model(x)
    for key in ("segmentation", "reconstruction", "parameters", "instrument"):
        assert torch.equal(before[key], after[key])
    with pytest.raises(ValueError, match="already"):
        model.add_context((2,))
    with pytest.raises(ValueError, match="positive"):
        SurfsightModel(tiny_config()).add_context((0,))

    def reach(net):                        # output pixel (0, 0) responds to an input change this far away
        net.eval()
        probe = torch.zeros(1, 5, 64, 64)
        base = net.segment_logits(probe)[0, :, 0, 0]
        for d in range(63, 0, -1):
            moved = probe.clone()
            moved[0, 3, d, d] = 10.0
            if not torch.allclose(net.segment_logits(moved)[0, :, 0, 0], base):
                return d
        return 0

    torch.nn.init.normal_(model.context.project.weight, std=0.5)
    plain = SurfsightModel(tiny_config())
    with torch.no_grad():
        assert reach(model) > reach(plain)
    save_model(model, tmp_path)
    back = load_model(tmp_path)
    assert back.config.context_dilations == (2, 4)
    with torch.no_grad():
        assert torch.equal(back(x)["segmentation"], model(x)["segmentation"])


def test_a_network_with_a_context_block_exports_to_onnx(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from surfsight.model.export import export_onnx, parity

    torch.manual_seed(1)
    model = SurfsightModel(tiny_config(context_dilations=(2, 4)))
    torch.nn.init.normal_(model.context.project.weight, std=0.1)
    path = export_onnx(model, tmp_path / "ctx.onnx", size=32)
    assert max(parity(model, path, size=64).values()) < 1e-4
