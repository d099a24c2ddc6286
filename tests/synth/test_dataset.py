"""Shards (reproducible whatever the workers, no pickle) and PyTorch datasets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from surfsight.errors import InputError
from surfsight.synth import LABEL_NAMES
from surfsight.synth.dataset import ShardDataset, _worker_slice, generate, sample_seed


def test_shards_same_bytes_regardless_of_workers(tmp_path):
    a = generate(tmp_path / "a", 10, size=32, seed=5, workers=1, shard_size=4, progress=False)
    b = generate(tmp_path / "b", 10, size=32, seed=5, workers=2, shard_size=4, progress=False)
    for name in ("shard-00000.npz", "shard-00001.npz", "shard-00002.npz", "index.json"):
        assert (a.parent / name).read_bytes() == (b.parent / name).read_bytes()
    assert not list(a.parent.glob("*.tmp")) and not list(a.parent.glob(".*"))


def test_shard_contents_load_without_pickle(tmp_path):
    index = generate(tmp_path, 5, size=32, seed=1, workers=1, shard_size=8, progress=False, mc=2)
    meta = json.loads(index.read_text())
    assert meta["n"] == 5 and meta["label_names"] == list(LABEL_NAMES)
    with np.load(tmp_path / meta["shards"][0]["file"], allow_pickle=False) as shard:
        assert shard["measured"].dtype == np.float32 and shard["measured"].shape == (5, 32, 32)
        assert shard["image"].dtype == np.uint8 and shard["classes"].dtype == np.uint8
        assert shard["labels"].shape == (5, len(LABEL_NAMES)) and np.isfinite(shard["uncertainty"][:, 1]).all()
        assert list(shard["index"]) == list(range(5))
        assert int(shard["seed"][3]) == sample_seed(1, 3)
        records = json.loads(shard["records"].tobytes())
    assert len(records) == 5
    ds = ShardDataset(tmp_path)
    assert len(ds) == 5
    item = ds[4]
    assert item["measured"].shape == (32, 32) and item["defects"] == records[4]
    with pytest.raises(IndexError):
        ds[5]


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError):
        generate(tmp_path, 0)
    with pytest.raises(InputError, match="unknown preset"):
        generate(tmp_path, 2, presets=["knurled"])
    with pytest.raises(InputError):
        ShardDataset(tmp_path / "nothing")


@pytest.mark.parametrize("n,w", [(10, 2), (7, 3), (2, 4), (0, 2)])
def test_worker_slices_are_disjoint_and_complete(n, w):
    seen = [i for k in range(w) for i in _worker_slice(n, k, w)]
    assert sorted(seen) == list(range(n))


def test_iterable_dataset_two_workers_no_duplicates(tmp_path):
    torch = pytest.importorskip("torch")
    from surfsight.synth.dataset import iterable_dataset

    ds = iterable_dataset(6, size=32, seed=4)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2)
    items = list(loader)
    assert sorted(int(it["index"]) for it in items) == list(range(6))
    # on-the-fly sample i equals sample i written by synth generate with the same seed
    generate(tmp_path, 6, size=32, seed=4, workers=1, shard_size=6, progress=False)
    written = ShardDataset(tmp_path)
    for it in items:
        i = int(it["index"])
        stored = np.nan_to_num(written[i]["measured"])
        assert np.array_equal(it["measured"][0].numpy(), stored.astype(np.float32))
        assert it["labels"].shape == (len(LABEL_NAMES),)
