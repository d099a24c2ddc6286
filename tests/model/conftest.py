"""Tiny models and data for the model tests (seconds on a CPU)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from surfsight.synth.dataset import Settings, encode, sample_seed  # noqa: E402


def tiny_config(**over):
    from surfsight.model.config import ModelConfig

    kw = dict(base_channels=4, depth=3, max_channels=16, head_hidden=16, tile=32)
    kw.update(over)
    return ModelConfig(**kw)


def tiny_model(data: list[dict], seed: int = 0):
    """A tiny untrained model whose target statistics come from ``data`` (initialised from ``seed``)."""
    from surfsight.model.data import target_statistics
    from surfsight.model.network import SurfsightModel

    cfg = tiny_config()
    for k, v in target_statistics(data, cfg).items():
        setattr(cfg, k, v)
    torch.manual_seed(seed)
    return SurfsightModel(cfg)


def tiny_recipe(shard_dirs, calibration: bool = True, **train):
    """The recipe of a tiny training run on the ``shard_dirs`` folders; ``train`` overrides its train block."""
    from surfsight.model.train import load_recipe

    return load_recipe(None, model={"base_channels": 4, "depth": 3, "max_channels": 16, "head_hidden": 16},
                       data={"train": str(shard_dirs / "train"),
                             "calibration": str(shard_dirs / "calib") if calibration else None},
                       train={"steps": 2, "batch": 4, "log_every": 1, "checkpoint_every": 2, "threads": 1, **train},
                       calibration={"passes": 3})


def rows(n: int = 6, size: int = 32, seed: int = 5, mc: int = 3) -> list[dict]:
    """Shard-like rows of ``n`` simulated samples (as ShardDataset gives them)."""
    import json

    settings = Settings(size=size, seed=seed, mc=mc)
    samples = [settings.make(i) for i in range(n)]
    arrays = encode(samples, list(range(n)), [sample_seed(seed, i) for i in range(n)])
    records = json.loads(arrays.pop("records").tobytes().decode())
    out = []
    for i in range(n):
        row = {k: v[i] for k, v in arrays.items()}
        row["defects"] = records[i]
        out.append(row)
    return out


@pytest.fixture(scope="session")
def tiny_rows():
    return rows()


@pytest.fixture(scope="session")
def shard_dirs(tmp_path_factory):
    """A training and a calibration shard folder of tiny samples."""
    from surfsight.synth.dataset import generate

    base = tmp_path_factory.mktemp("shards")
    generate(base / "train", 8, size=32, seed=11, mc=3, shard_size=4, progress=False)
    generate(base / "calib", 10, size=32, seed=12, mc=3, shard_size=5, progress=False)
    return base


@pytest.fixture(scope="session")
def trained(shard_dirs, tmp_path_factory):
    """A tiny model trained for a few steps and calibrated: (run folder, model)."""
    from surfsight.model.train import train

    out = tmp_path_factory.mktemp("run")
    recipe = tiny_recipe(shard_dirs, steps=4, log_every=2)
    model, _ = train(recipe, out, resume=False, log=lambda m: None)
    return out, model
