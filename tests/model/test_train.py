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


def test_batches_finished_on_the_device_train_the_same_weights(shard_dirs, tmp_path):
    """train.batch_on: device (the GPU path, run here on the CPU) changes where the arithmetic runs,
    not the result: the same seeded run gives the same weights."""
    from tests.model.conftest import tiny_recipe

    runs = {}
    for setting in ("workers", "device"):
        recipe = tiny_recipe(shard_dirs, calibration=False, batch_on=setting)
        model, _ = train(recipe, tmp_path / setting, resume=False, log=lambda m: None)
        runs[setting] = model.state_dict()
    for k, v in runs["workers"].items():
        assert torch.equal(v, runs["device"][k]), k


def test_init_starts_from_a_saved_model(trained, shard_dirs, tmp_path):
    from surfsight.errors import InputError
    from tests.model.conftest import tiny_recipe

    out, _ = trained
    start = load_model(out / "model")
    recipe = tiny_recipe(shard_dirs, calibration=False, init=str(out / "model"), lr=0.0, weight_decay=0.0)
    model, _ = train(recipe, tmp_path / "warm", resume=False, log=lambda m: None)
    for k, v in start.state_dict().items():
        if k.endswith("num_batches_tracked") or "running_" in k:
            continue  # batch-norm statistics move even at a zero learning rate
        assert torch.equal(v, model.state_dict()[k]), k
    assert model.config.target_mean == start.config.target_mean
    assert model.metadata["data"]["init"]["model"] == str(out / "model")
    wider = tiny_recipe(shard_dirs, calibration=False, init=str(out / "model"))
    wider["model"]["base_channels"] = 8
    with pytest.raises(InputError, match="base_channels"):
        train(wider, tmp_path / "wider", resume=False, log=lambda m: None)
