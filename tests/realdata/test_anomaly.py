"""Anomaly detection from good images only: coreset, scoring, save/load, CLI (tiny random model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.model import load_model
from surfsight.realdata import anomaly
from surfsight.realdata.anomaly import AnomalySettings, coreset
from surfsight.realdata.metrics import auroc, pixel_auroc

from .conftest import blob_image

runner = CliRunner()
SMALL = AnomalySettings(size=(64, 64), levels=(1, 2), dim=16, bank=200, pool=5000, sigma=1.0)


def test_coreset_covers_the_points():
    rng = np.random.default_rng(0)
    # three tight clusters: a 3-point coreset takes one point of each
    centres = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    points = torch.from_numpy(np.concatenate([c + 0.01 * rng.standard_normal((50, 2)) for c in centres]).astype(np.float32))
    chosen = coreset(points, 3, rng)
    assert sorted(int(i) // 50 for i in chosen) == [0, 1, 2]
    assert torch.equal(coreset(points, 500, rng), torch.arange(150))


def _images(n, defect, seed):
    rng = np.random.default_rng(seed)
    pairs = [blob_image(rng, 64, defect) for _ in range(n)]
    images = torch.from_numpy(np.stack([p[0] for p in pairs]).astype(np.float32) / 255)[:, None]
    return images, [p[1] > 0 for p in pairs]


def test_blobs_score_higher_than_good_texture(tiny_model_dir, tmp_path):
    good, _ = _images(6, False, 0)
    detector = anomaly.fit(load_model(tiny_model_dir), good, "image", 1e-5, SMALL)
    assert detector.bank.shape == (200, 16)
    test_good, masks_good = _images(4, False, 1)
    test_bad, masks_bad = _images(4, True, 2)
    maps, scores = detector.score(torch.cat([test_good, test_bad]))
    assert maps.shape == (8, 64, 64)
    assert auroc(scores, [0] * 4 + [1] * 4) == 1.0
    assert pixel_auroc(list(maps), masks_good + masks_bad) > 0.9
    # round trip through the folder format gives the same scores
    detector.save(tmp_path / "det")
    again = anomaly.load(tmp_path / "det")
    _, scores2 = again.score(torch.cat([test_good, test_bad]))
    np.testing.assert_allclose(scores2, scores, rtol=1e-5)


def test_cli_anomaly_fit_and_score(tiny_model_dir, tmp_path):
    rng = np.random.default_rng(3)
    good = tmp_path / "good"
    good.mkdir()
    for i in range(4):
        Image.fromarray(blob_image(rng, 64, False)[0]).save(good / f"g{i}.png")
    result = runner.invoke(app, ["anomaly", "fit", "--good", str(good), "--out", str(tmp_path / "det"),
                                 "--model", str(tiny_model_dir), "--size", "64", "--bank", "100"])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.png"
    Image.fromarray(blob_image(rng, 80, True)[0]).save(bad)
    result = runner.invoke(app, ["anomaly", "score", "--model", str(tmp_path / "det"), str(bad), str(good / "g0.png"),
                                 "--out", str(tmp_path / "scores"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["image"] for r in doc["images"]] == [str(bad), str(good / "g0.png")]
    assert doc["images"][0]["score"] > doc["images"][1]["score"]
    assert (tmp_path / "scores" / "scores.csv").read_text().startswith("image,score,anomalous,map")
    assert np.asarray(Image.open(tmp_path / "scores" / "bad_anomaly.png")).shape == (80, 80)
    result = runner.invoke(app, ["anomaly", "score", "--model", str(tmp_path / "nothing"), str(bad),
                                 "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "anomaly.json" in result.output
