"""The adapter from the learnt model's prediction to the pipeline's Detection."""

from __future__ import annotations

import numpy as np
import pytest

from surfsight.inspect import model_step
from surfsight.surface import Surface


def test_prediction_with_instances_and_intervals():
    classes = np.zeros((32, 32), np.uint8)
    classes[10:12, 2:30] = 1
    prediction = {"classes": classes, "instrument": "csi", "instrument_probabilities": {"csi": 0.9, "afm": 0.1},
                  "defects": [{"kind": "scratch", "center_m": [11e-6, 16e-6], "length_m": 28e-6, "width_m": 2e-6,
                               "depth_m": 1e-6, "sqrt_area_m": None}],
                  "parameters": {"Sa": {"value": 1e-7, "low90": 0.8355e-7, "high90": 1.1645e-7}}}
    found = model_step._from_model(prediction, Surface(np.zeros((32, 32)), 1e-6), "default")
    assert found.mask.sum() == 56 and found.instrument == "csi" and found.instrument_probability == 0.9
    d = found.defects[0]
    assert (d["x_m"], d["y_m"]) == (16e-6, 11e-6) and d["u_length_m"] == 1e-6
    value, u = found.estimates["Sa"]
    assert value == 1e-7 and u == pytest.approx(1e-8)


def test_the_real_predict_function_through_the_adapter(monkeypatch):
    torch = pytest.importorskip("torch")
    from surfsight.model import ModelConfig, SurfsightModel, predict

    torch.manual_seed(0)
    net = SurfsightModel(ModelConfig(base_channels=4, depth=2, max_channels=8, head_hidden=8, tile=32))
    monkeypatch.setitem(model_step._LOADED, "untrained", (net, predict))
    z = np.random.default_rng(0).normal(0, 1e-7, (64, 64))
    # no evaluation recorded with these weights: the defects come from the rule-based detector,
    # the estimates still from the model
    gated = model_step.detect(Surface(z, 1e-6), model="untrained")
    assert "below" in gated.detector and "not recorded" in gated.detector, gated.detector
    assert gated.estimates and set(gated.estimates) <= set(ModelConfig().parameter_names)
    # a recorded defect mIoU above the gate lets the model's masks decide
    net.metadata = {**(net.metadata or {}), "evaluation": {"height": {"defects": {"miou": 0.9}}}}
    found = model_step.detect(Surface(z, 1e-6), model="untrained")
    assert found.mask.shape == (64, 64) and found.detector == "surfsight model 'untrained'", found.notes
    assert set(found.estimates) <= set(ModelConfig().parameter_names)


def test_shipped_model_records_its_defect_quality():
    pytest.importorskip("torch")
    from surfsight.model import load_model

    quality = model_step.defect_quality(load_model("default"))
    assert quality is not None and 0.0 <= quality <= 1.0
