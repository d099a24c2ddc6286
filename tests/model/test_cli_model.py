"""``surfsight predict / evaluate / export / train`` on a tiny model."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.surface import Surface

runner = CliRunner()


def test_predict_json(trained, tmp_path):
    from surfsight import io

    out, _ = trained
    z = np.random.default_rng(0).standard_normal((48, 40)) * 3e-7
    path = tmp_path / "s.x3p"
    io.write(Surface(z, (1e-6, 1e-6)), path)
    result = runner.invoke(app, ["predict", str(path), "--model", str(out / "model"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["input"] == "height" and doc["instrument"]["class"] in doc["instrument"]["probabilities"]
    assert set(doc["parameters"]) >= {"Sa", "Sq", "Ssk", "Sku", "Sz", "Sdq", "Sal", "Str"}
    assert isinstance(doc["defects"], list) and doc["tta"] is False
    # with test-time augmentation: the same global outputs, the masks from the averaged probabilities
    result = runner.invoke(app, ["predict", str(path), "--model", str(out / "model"), "--json", "--tta"])
    assert result.exit_code == 0, result.output
    tta = json.loads(result.output)
    assert tta["tta"] is True and tta["parameters"] == doc["parameters"] and tta["instrument"] == doc["instrument"]


def test_predict_errors(trained, tmp_path):
    out, _ = trained
    result = runner.invoke(app, ["predict", str(tmp_path / "none.x3p"), "--model", str(out / "model")])
    assert result.exit_code == 2 and "error" in result.output
    png = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray((np.random.default_rng(0).random((32, 32)) * 255).astype(np.uint8)).save(png)
    result = runner.invoke(app, ["predict", str(png), "--model", str(out / "model")])
    assert result.exit_code == 2 and "--spacing" in result.output
    result = runner.invoke(app, ["predict", str(png), "--model", str(out / "model"), "--spacing", "1um", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["input"] == "image"


def test_evaluate_json_has_the_contract_keys(trained):
    out, _ = trained
    result = runner.invoke(app, ["evaluate", "--model", str(out / "model"), "--n", "3", "--seed", "99", "--mc", "3",
                                 "--passes", "2", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["n"] == 3 and doc["input"] == "height" and doc["size"] == 32
    for p in ("Sa", "Sq", "Ssk", "Sku", "Sz", "Sdq", "Sal", "Str"):
        assert set(doc["parameters"][p]) >= {"r2", "mape", "coverage90", "width90_rel"}
    assert set(doc["measurement_uncertainty"]) == {"Sa", "Sq"}
    assert set(doc["instrument"]) >= {"accuracy", "ece"}
    assert set(doc["defects"]) >= {"miou", "iou", "recall", "recall_by_instrument", "recall_by_kind"}
    assert set(doc["defects"]["recall_by_kind"]) == set(doc["defects"]["iou"])
    for group in ("recall_by_instrument", "recall_by_kind"):  # the overall recall is their weighted mean
        values = [v for v in doc["defects"][group].values() if v is not None]
        assert (doc["defects"]["recall"] is None) == (not values)
        if values:
            assert min(values) - 1e-12 <= doc["defects"]["recall"] <= max(values) + 1e-12
    assert doc["seconds_per_sample"] > 0 and doc["tta"] is False
    result = runner.invoke(app, ["evaluate", "--model", str(out / "model"), "--n", "3", "--seed", "99", "--mc", "3",
                                 "--passes", "2", "--json", "--tta"])
    assert result.exit_code == 0, result.output
    tta = json.loads(result.output)
    assert tta["tta"] is True and tta["parameters"] == doc["parameters"]


def test_export_onnx_parity(trained, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out, _ = trained
    result = runner.invoke(app, ["export", "--onnx", str(tmp_path / "m.onnx"), "--model", str(out / "model")])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["parity"] is True and max(doc["max_abs_difference"].values()) < 1e-3


def test_recall_by_group_from_tallies():
    from surfsight.model.evaluate import _recall_by

    tally = {("instrument", "afm"): [4, 3], ("kind", "pit"): [2, 0]}
    assert _recall_by(tally, "instrument", ["afm", "csi"]) == {"afm": 0.75, "csi": None}
    assert _recall_by(tally, "kind", ["pit"]) == {"pit": 0.0}
