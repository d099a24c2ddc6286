"""Anomaly detection from good images only: coreset, scoring, save/load, CLI (tiny random model)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from surfsight.cli import app
from surfsight.errors import InputError
from surfsight.model import load_model
from surfsight.realdata import anomaly
from surfsight.realdata.anomaly import AnomalySettings, coreset
from surfsight.realdata.conformal import folds
from surfsight.realdata.metrics import auroc, pixel_auroc

from .conftest import blob_image

runner = CliRunner()
SMALL = AnomalySettings(size=(64, 64), levels=(1, 2), dim=16, bank=200, pool=5000, sigma=1.0, method="patchcore")
SMALL_PADIM = AnomalySettings(size=(64, 64), levels=(1, 2), dim=16, sigma=1.0, method="padim")


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


def test_padim_moments_are_the_per_cell_mean_and_covariance():
    """The streamed, shifted sums give the sample mean and covariance of each cell's features (numpy
    on all features at once), the precision is the inverse of the shrunk covariance, and the score
    is the Mahalanobis distance."""
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((7, 1, 64, 64)).astype(np.float32))
    backbone = load_model_tiny()
    s = AnomalySettings(size=(64, 64), levels=(1, 2), dim=6, cell=3, shrinkage=0.05, batch=3, sigma=0.0)
    gen = torch.Generator().manual_seed(0)
    width = sum(backbone.encode(anomaly.model_input(images[:1], "image", 1e-5)[0])[i].shape[1] for i in s.levels)
    projection = torch.randn(width, s.dim, generator=gen)
    density, grid = anomaly._fit_gaussians(backbone, images, "image", 1e-5, s, projection, chunk=50)
    f = anomaly._features(backbone, images, "image", 1e-5, s, projection).double().numpy()   # (7, h, w, d)
    h, w, d = f.shape[1:]
    assert grid == (h, w)
    cells = anomaly._cells(h, w, 3).numpy()
    assert cells.max() + 1 == density["mean"].shape[0] == int(np.ceil(h / 3)) * int(np.ceil(w / 3))
    flat = f.reshape(7, h * w, d)
    for c in (0, 5, cells.max()):                     # a full cell, an inner one, the clipped corner
        x = flat[:, cells == c].reshape(-1, d)
        cov = np.cov(x, rowvar=False)
        shrunk = cov + max(0.05 * np.trace(cov) / d, 1e-6) * np.eye(d)
        np.testing.assert_allclose(density["mean"][c].numpy(), x.mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(density["precision"][c].numpy(), np.linalg.inv(shrunk), rtol=2e-4, atol=1e-5)
    q = torch.from_numpy(f[:2]).float()
    dist = anomaly._mahalanobis(q, density["mean"], density["precision"], anomaly._cells(h, w, 3), chunk=17)
    c = int(cells[10])
    v = f[1].reshape(-1, d)[10] - density["mean"][c].numpy()
    assert float(dist[1, 0].reshape(-1)[10]) == pytest.approx(np.sqrt(v @ density["precision"][c].numpy() @ v), rel=1e-4)


def load_model_tiny():
    from surfsight.model.config import ModelConfig
    from surfsight.model.network import SurfsightModel

    torch.manual_seed(0)
    return SurfsightModel(ModelConfig(base_channels=4, max_channels=16, depth=4, head_hidden=8), {})


def test_padim_finds_blobs_and_round_trips(tiny_model_dir, tmp_path):
    good, _ = _images(6, False, 0)
    detector = anomaly.fit(load_model(tiny_model_dir), good, "image", 1e-5, SMALL_PADIM)
    assert set(detector.density) == {"mean", "precision"} and detector.info["method"] == "padim"
    test_good, masks_good = _images(4, False, 1)
    test_bad, masks_bad = _images(4, True, 2)
    maps, scores = detector.score(torch.cat([test_good, test_bad]))
    assert auroc(scores, [0] * 4 + [1] * 4) == 1.0
    assert pixel_auroc(list(maps), masks_good + masks_bad) > 0.9
    detector.save(tmp_path / "det")
    again = anomaly.load(tmp_path / "det")
    assert again.settings.method == "padim"
    np.testing.assert_allclose(again.score(torch.cat([test_good, test_bad]))[1], scores, rtol=1e-5)
    with pytest.raises(InputError, match="fitted on"):            # another working size: another grid
        detector.score(torch.rand(1, 1, 96, 96))


def _saved_as_version(version, settings, tiny_model_dir, tmp_path, dropped_settings, dropped=()):
    """A detector saved to ``tmp_path/det`` and its description rewritten as an older ``version``
    wrote it (without the settings and fields that version did not have): (detector, description)."""
    good, _ = _images(4, False, 0)
    detector = anomaly.fit(load_model(tiny_model_dir), good, "image", 1e-5, settings)
    detector.save(tmp_path / "det")
    doc = json.loads((tmp_path / "det" / "anomaly.json").read_text())
    doc["version"] = version
    for key in dropped_settings:
        del doc["settings"][key]
    for key in dropped:
        del doc[key]
    (tmp_path / "det" / "anomaly.json").write_text(json.dumps(doc))
    return detector, doc


def test_a_version_1_folder_loads_as_patchcore(tiny_model_dir, tmp_path):
    detector, doc = _saved_as_version(1, SMALL, tiny_model_dir, tmp_path,
                                      ("method", "cell", "shrinkage", "folds", "alpha"), ("calibration",))
    again = anomaly.load(tmp_path / "det")
    assert again.settings.method == "patchcore" and again.bank.shape == detector.bank.shape
    doc["settings"]["method"] = "padim"                            # a bank is not a Gaussian density
    (tmp_path / "det" / "anomaly.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="not a padim density"):
        anomaly.load(tmp_path / "det")


def test_threshold_comes_from_out_of_fold_scores(tiny_model_dir, tmp_path):
    good, _ = _images(6, False, 0)
    model = load_model(tiny_model_dir)
    settings = AnomalySettings(size=(64, 64), levels=(1, 2), dim=16, sigma=1.0, folds=3, alpha=0.2)
    detector = anomaly.fit(model, good, "image", 1e-5, settings)
    assert detector.info["threshold"]["source"] == "cross-fitted" and detector.info["threshold"]["folds"] == 3
    assert detector.calibration.shape == (6,)
    # each fold is scored by a density fitted on the other two: replay the folds and fit one by hand
    oof, k = anomaly.cross_fitted_scores(detector, good, np.random.default_rng(settings.seed))
    assert k == 3
    np.testing.assert_allclose(np.sort(oof), detector.calibration)      # fit's generator drew nothing before
    held = folds(6, 3, np.random.default_rng(settings.seed))[0]
    rest = torch.from_numpy(np.setdiff1d(np.arange(6), held))
    by_hand = anomaly.fit(model, good[rest], "image", 1e-5, replace(settings, folds=0))
    np.testing.assert_allclose(oof[held], by_hand.score(good[torch.from_numpy(held)])[1], rtol=1e-5)
    # a good image scores lower against the density of all six than out of its fold
    _, in_sample = detector.score(good)
    assert np.median(in_sample) < np.median(detector.calibration)
    # n = 6, alpha 0.2: the ceil(7 * 0.8) = 6th smallest out-of-fold score, guaranteed 0.2
    assert detector.threshold == pytest.approx(detector.calibration.max())
    assert detector.info["threshold"]["guaranteed_alpha"] == 0.2
    np.testing.assert_allclose(detector.p_values([detector.calibration.max() + 1, -1.0]), [1 / 7, 1.0])
    detector.save(tmp_path / "det")
    again = anomaly.load(tmp_path / "det")
    np.testing.assert_allclose(again.calibration, detector.calibration)
    assert again.threshold == detector.threshold


def test_a_version_2_folder_keeps_its_in_sample_threshold(tiny_model_dir, tmp_path):
    _, doc = _saved_as_version(2, SMALL_PADIM, tiny_model_dir, tmp_path, ("folds", "alpha"), ("calibration",))
    again = anomaly.load(tmp_path / "det")
    assert again.calibration is None and again.p_values([1.0]) is None and again.settings.folds == 0
    doc["calibration"] = []
    (tmp_path / "det" / "anomaly.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="calibration"):
        anomaly.load(tmp_path / "det")


def test_fit_rejects_unknown_methods_and_bad_knobs(tiny_model_dir):
    good, _ = _images(2, False, 0)
    model = load_model(tiny_model_dir)
    for settings, message in ((AnomalySettings(size=(64, 64), method="knn"), "unknown method"),
                              (AnomalySettings(size=(64, 64), cell=0), "cell"),
                              (AnomalySettings(size=(64, 64), shrinkage=-1.0), "shrinkage"),
                              (AnomalySettings(size=(64, 64), alpha=0.0), "alpha"),
                              (AnomalySettings(size=(64, 64), folds=-1), "folds"),
                              (AnomalySettings(size=(64, 64), folds=1), "folds")):
        with pytest.raises(InputError, match=message):
            anomaly.fit(model, good, "image", 1e-5, settings)


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
    assert (tmp_path / "scores" / "scores.csv").read_text().startswith("image,score,p_value,anomalous,map")
    # 4 good images, 4 cross-fits: p-values in steps of 1/5, the bad image above every good one
    assert doc["images"][0]["p_value"] == pytest.approx(0.2) and doc["images"][0]["anomalous"]
    assert doc["alpha"] == pytest.approx(0.2)          # 4 images cannot guarantee 0.05: 1 / (4 + 1)
    assert np.asarray(Image.open(tmp_path / "scores" / "bad_anomaly.png")).shape == (80, 80)
    result = runner.invoke(app, ["anomaly", "score", "--model", str(tmp_path / "nothing"), str(bad),
                                 "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "anomaly.json" in result.output
    result = runner.invoke(app, ["anomaly", "fit", "--good", str(good), "--out", str(tmp_path / "pc"),
                                 "--model", str(tiny_model_dir), "--size", "64", "--method", "patchcore", "--bank", "50"])
    assert result.exit_code == 0 and "patchcore, 50 patches" in result.output
    assert "cannot guarantee 0.05, at least 19 can" in result.output
    result = runner.invoke(app, ["anomaly", "fit", "--good", str(good), "--out", str(tmp_path / "f1"),
                                 "--model", str(tiny_model_dir), "--folds", "1"])
    assert result.exit_code == 2 and "--folds" in result.output and not (tmp_path / "f1").exists()
    result = runner.invoke(app, ["anomaly", "fit", "--good", str(good), "--out", str(tmp_path / "bad"),
                                 "--model", str(tiny_model_dir), "--method", "knn"])
    assert result.exit_code == 2 and "--method" in result.output and not (tmp_path / "bad").exists()
