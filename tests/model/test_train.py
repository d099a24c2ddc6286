"""Training loop: metrics, checkpoints, resume, calibration, saved weights."""

import csv
import json

import pytest
import torch

from surfsight.model import load_model
from surfsight.model.train import load_checkpoint, load_recipe, train


def test_run_writes_everything(trained):
    out, model = trained
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert all(float(r["loss_segmentation"]) > 0 for r in rows)
    loaded = load_model(out / "model")
    meta = loaded.metadata
    assert meta["seed"] == 0 and meta["versions"]["torch"] == torch.__version__
    assert meta["training"]["steps"] == 4
    cal = meta["calibration"]
    assert set(cal["temperature"]) == {"height", "image", "both"}
    assert all(t > 0 for t in cal["temperature"].values())
    assert "Sa" in cal["conformal"]["height"]["all"]
    assert len(loaded.config.target_mean) == len(loaded.config.parameter_names)


def test_resume_continues_from_the_checkpoint(trained, tmp_path, shard_dirs):
    out, _ = trained
    doc = json.loads((out / "checkpoint.json").read_text())
    assert doc["step"] == 4
    recipe = load_recipe(None, **{k: v for k, v in doc["recipe"].items() if k != "out"})
    recipe["train"]["steps"] = 6
    recipe["data"]["calibration"] = None
    # copy the run, resume it for two more steps
    import shutil

    run = tmp_path / "run"
    shutil.copytree(out, run)
    logs = []
    _, summary = train(recipe, run, resume=True, log=logs.append)
    assert any("resumed from step 4" in m for m in logs)
    assert summary["steps"] == 6
    steps = [int(r["step"]) for r in csv.DictReader(open(run / "metrics.csv"))]
    assert steps == [2, 4, 6]


def test_bad_recipe_is_refused(tmp_path):
    from surfsight.errors import InputError

    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(InputError, match="mapping"):
        load_recipe(bad)
    with pytest.raises(InputError, match="no shards"):
        train(load_recipe(None, data={"train": str(tmp_path)}), tmp_path / "o", log=lambda m: None)


def test_calibration_reads_every_listed_folder(shard_dirs, tmp_path):
    from .conftest import tiny_recipe

    recipe = tiny_recipe(shard_dirs)
    one = str(shard_dirs / "calib")
    recipe["data"]["calibration"] = [one, one]   # the same ten samples twice: twenty rows
    train(recipe, tmp_path / "run", resume=False, log=lambda m: None)
    assert load_model(tmp_path / "run" / "model").metadata["calibration"]["n"] == 20


def test_a_missing_calibration_folder_fails_before_training(shard_dirs, tmp_path):
    from surfsight.errors import InputError

    from .conftest import tiny_recipe

    recipe = tiny_recipe(shard_dirs)
    recipe["data"]["calibration"] = [str(shard_dirs / "calib"), str(tmp_path / "gone")]
    with pytest.raises(InputError, match="gone: data.calibration names a folder with no shards"):
        train(recipe, tmp_path / "run", resume=False, log=lambda m: None)
    assert not (tmp_path / "run" / "metrics.csv").exists()
