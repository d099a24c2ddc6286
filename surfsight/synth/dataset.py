"""Training data from the simulator: shards on disk and PyTorch datasets.

Shard format (``surfsight synth generate``; see ``docs/synth.md``)
-------------------------------------------------------------------
A data set is a folder with ``index.json`` and shards ``shard-00000.npz``, ``shard-00001.npz``...
Each shard is an *uncompressed* NumPy ``.npz`` that loads with ``allow_pickle=False`` (no object
arrays, no pickle anywhere). For a shard of ``n`` samples of ``H x W`` points it holds:

==================  ==================  =======================================================
key                 dtype, shape        content
==================  ==================  =======================================================
``measured``        float32 (n, H, W)   what the instrument recorded, metres, NaN = not measured
``truth``           float32 (n, H, W)   the true surface (texture with defects), metres
``image``           uint8 (n, H, W)     camera image of the true surface
``classes``         uint8 (n, H, W)     per-pixel defect class: 0 none, 1 + index in ``defect_kinds``
``instances``       uint8 (n, H, W)     per-pixel defect instance: 0 none, k = k-th record
``labels``          float32 (n, L)      metrology values of the texture (``label_names``, SI; NaN
                                        where undefined, e.g. Str of a strong lay)
``uncertainty``     float32 (n, L)      GUM S1 standard uncertainty (NaN when generated with mc=0)
``instrument``      uint8 (n,)          index in ``instrument_classes``
``preset``          uint8 (n,)          index in ``presets``
``index``           int64 (n,)          global sample index i
``seed``            uint64 (n,)         the seed sample i was made with (derived from (S, i))
``spacing``         float64 (n, 2)      (dy, dx), metres
``records``         uint8 (bytes)       UTF-8 JSON: per sample, the list of defect records
                                        (``kind, depth_m, width_m, length_m, area_m2,
                                        sqrt_area_m, root_radius_m, orientation_rad, ...``)
==================  ==================  =======================================================

``index.json`` lists the shards (file, first index, count) and the vocabularies
(``label_names``, ``instrument_classes``, ``defect_kinds``, ``presets``) and the generation
settings. Sample ``i`` is made with :func:`sample_seed` ``(S, i)``, so the shards are the same
bytes whatever the number of workers. Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import InputError
from .defects import KINDS
from .instruments import INSTRUMENT_CLASSES
from .processes import PRESETS
from .sample import LABEL_NAMES, Sample, sample

FORMAT = "surfsight-synth-shards"
VERSION = 1


def sample_seed(seed: int, index: int) -> int:
    """The seed of sample ``index`` of a data set with seed ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0])


@dataclass(frozen=True)
class Settings:
    """What to simulate for each sample of a data set."""

    size: int = 256
    seed: int = 0
    presets: tuple[str, ...] = tuple(PRESETS)
    instrument: str | None = None
    mc: int = 0
    spacing: float | None = None

    def make(self, index: int) -> Sample:
        """Sample ``index``: the preset drawn from the sample's own seed."""
        s = sample_seed(self.seed, index)
        preset = self.presets[int(np.random.default_rng(s).integers(len(self.presets)))]
        return sample(preset, self.size, spacing=self.spacing, seed=s, instrument=self.instrument, mc=self.mc)


def _plain(value: Any) -> Any:
    """Plain JSON types (NumPy scalars to Python, non-finite floats to None)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value if value is None or isinstance(value, str) else str(value)


def _record(defect) -> dict[str, Any]:
    return _plain(defect.as_dict())


def encode(samples: Sequence[Sample], indices: Sequence[int], seeds: Sequence[int]) -> dict[str, np.ndarray]:
    """The arrays of one shard (see the module notes)."""
    n = len(samples)
    names = LABEL_NAMES
    out: dict[str, np.ndarray] = {
        "measured": np.stack([s.measured.heights.astype(np.float32) for s in samples]),
        "truth": np.stack([s.truth.heights.astype(np.float32) for s in samples]),
        "image": np.stack([np.round(np.clip(s.image, 0, 1) * 255).astype(np.uint8) for s in samples]),
        "classes": np.stack([s.label_map for s in samples]),
        "labels": np.array([[s.labels.get(k, math.nan) for k in names] for s in samples], np.float32).reshape(n, len(names)),
        "uncertainty": np.array([[(s.uncertainty or {}).get(k, math.nan) for k in names] for s in samples],
                                np.float32).reshape(n, len(names)),
        "instrument": np.array([s.instrument_index for s in samples], np.uint8),
        "preset": np.array([list(PRESETS).index(s.preset) for s in samples], np.uint8),
        "index": np.asarray(indices, np.int64),
        "seed": np.asarray(seeds, np.uint64),
        "spacing": np.array([s.truth.spacing for s in samples], np.float64).reshape(n, 2),
    }
    instances = np.zeros((n, *samples[0].truth.shape), np.uint8)
    for k, s in enumerate(samples):
        for j, d in enumerate(s.defects[:255]):
            instances[k][d.mask] = j + 1
    out["instances"] = instances
    records = [[_record(d) for d in s.defects] for s in samples]
    out["records"] = np.frombuffer(json.dumps(records).encode(), np.uint8)
    return out


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_shard(out: Path, shard: int, start: int, count: int, settings: Settings) -> dict[str, Any]:
    """Simulate samples ``start .. start+count-1`` and write them as shard number ``shard``."""
    indices = list(range(start, start + count))
    samples = [settings.make(i) for i in indices]
    path = out / f"shard-{shard:05d}.npz"
    _atomic_savez(path, encode(samples, indices, [sample_seed(settings.seed, i) for i in indices]))
    return {"file": path.name, "start": start, "count": count}


def _progress(total: int):
    """A rich progress bar on a terminal, nothing otherwise."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("synth generate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    transient=False)


def generate(out: str | Path, n: int, *, size: int = 256, seed: int = 0, workers: int = 1, shard_size: int = 64,
             presets: Sequence[str] | None = None, instrument: str | None = None, mc: int = 0,
             spacing: float | None = None, progress: bool = True,
             on_shard: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Write ``n`` samples to ``out`` as shards plus ``index.json``; returns the index path.

    Shard ``k`` holds samples ``k*shard_size ..``; sample ``i`` uses :func:`sample_seed` ``(seed,
    i)``, so the bytes do not depend on ``workers``.
    """
    if n < 1:
        raise InputError(f"synth generate: --n must be at least 1, got {n}")
    if workers < 1 or shard_size < 1:
        raise InputError("synth generate: --workers and --shard-size must be at least 1")
    presets = tuple(presets) if presets else tuple(PRESETS)
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise InputError(f"synth generate: unknown preset(s) {', '.join(unknown)}; known: {', '.join(PRESETS)}")
    if instrument is not None and instrument not in INSTRUMENT_CLASSES:
        raise InputError(f"synth generate: unknown instrument {instrument!r}; known: {', '.join(INSTRUMENT_CLASSES)}")
    settings = Settings(int(size), int(seed), presets, instrument, int(mc), spacing)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(k, start, min(shard_size, n - start)) for k, start in enumerate(range(0, n, shard_size))]
    bar = _progress(n) if progress else None
    shards: list[dict[str, Any]] = []

    def done(entry):
        shards.append(entry)
        if bar is not None:
            bar.advance(task, entry["count"])
        if on_shard is not None:
            on_shard(entry)

    if bar is not None:
        bar.start()
        task = bar.add_task("samples", total=n)
    try:
        if workers == 1:
            for k, start, count in jobs:
                done(write_shard(out, k, start, count, settings))
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(write_shard, out, k, start, count, settings) for k, start, count in jobs]
                for f in futures:
                    done(f.result())
    finally:
        if bar is not None:
            bar.stop()
    shards.sort(key=lambda e: e["start"])
    index = {"format": FORMAT, "version": VERSION, "n": n, "size": size, "seed": seed, "shard_size": shard_size,
             "presets": list(PRESETS), "presets_used": list(presets), "instrument": instrument, "mc": mc,
             "spacing": spacing, "label_names": list(LABEL_NAMES), "instrument_classes": list(INSTRUMENT_CLASSES),
             "defect_kinds": list(KINDS), "units": {"heights": "m", "labels": "SI (Sdr in %)"}, "shards": shards}
    path = out / "index.json"
    _atomic_text(path, json.dumps(index, indent=1))
    return path


# --- readers ----------------------------------------------------------------------------------------------------

class ShardDataset:
    """Map-style reader of a written data set: ``ds[i]`` is a dict of NumPy arrays for sample ``i``
    (keys as in the shard, one sample each, plus ``defects``: the list of records).

    Works with ``torch.utils.data.DataLoader`` (its default collate turns the arrays into
    tensors) without needing torch here. Shards are opened lazily, one cached per process.
    """

    def __init__(self, root: str | Path, transform: Callable[[dict[str, Any]], Any] | None = None):
        self.root = Path(root)
        index_path = self.root / "index.json"
        try:
            self.index = json.loads(index_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{index_path}: not a synth data set index ({exc})") from None
        if self.index.get("format") != FORMAT:
            raise InputError(f"{index_path}: format is {self.index.get('format')!r}, expected {FORMAT!r}")
        self.shards = self.index["shards"]
        self._starts = np.array([s["start"] for s in self.shards], np.int64)
        self.transform = transform
        self._cached: tuple[int, dict[str, np.ndarray], list] | None = None

    def __len__(self) -> int:
        return int(self.index["n"])

    def _shard(self, k: int) -> tuple[dict[str, np.ndarray], list]:
        if self._cached is None or self._cached[0] != k:
            path = self.root / self.shards[k]["file"]
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            records = json.loads(arrays.pop("records").tobytes().decode())
            self._cached = (k, arrays, records)
        return self._cached[1], self._cached[2]

    def __getitem__(self, i: int) -> Any:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range 0..{len(self) - 1}")
        i = int(i) % len(self)
        k = int(np.searchsorted(self._starts, i, side="right") - 1)
        arrays, records = self._shard(k)
        j = i - self.shards[k]["start"]
        item: dict[str, Any] = {key: value[j] for key, value in arrays.items()}
        item["defects"] = records[j]
        return self.transform(item) if self.transform else item


def _worker_slice(n: int, worker: int, workers: int) -> range:
    """Contiguous, disjoint slice ``worker`` of ``workers`` over ``range(n)``."""
    per, extra = divmod(n, workers)
    start = worker * per + min(worker, extra)
    return range(start, start + per + (1 if worker < extra else 0))


def to_tensors(item: dict[str, Any]):
    """Default conversion of a sample dict to tensors for training: ``measured`` (1, H, W) with
    NaN replaced by 0 and a ``valid`` mask, ``image`` (1, H, W) in 0..1, ``classes`` and
    ``instances`` (H, W) long, ``labels`` / ``uncertainty`` float32, ``instrument`` long."""
    import torch

    measured = np.asarray(item["measured"], np.float32)
    valid = np.isfinite(measured)
    return {
        "measured": torch.from_numpy(np.where(valid, measured, 0.0).astype(np.float32)[None]),
        "valid": torch.from_numpy(valid[None]),
        "truth": torch.from_numpy(np.asarray(item["truth"], np.float32)[None]),
        "image": torch.from_numpy(np.asarray(item["image"], np.float32)[None] / 255.0),
        "classes": torch.from_numpy(np.asarray(item["classes"]).astype(np.int64)),
        "instances": torch.from_numpy(np.asarray(item["instances"]).astype(np.int64)),
        "labels": torch.from_numpy(np.asarray(item["labels"], np.float32)),
        "uncertainty": torch.from_numpy(np.asarray(item["uncertainty"], np.float32)),
        "instrument": torch.tensor(int(item["instrument"])),
        "index": torch.tensor(int(item["index"])),
    }


def synth_item(settings: Settings, i: int) -> dict[str, Any]:
    """Sample ``i`` as a dict with the same keys as a shard row (plus ``defects``)."""
    s = settings.make(i)
    arrays = encode([s], [i], [sample_seed(settings.seed, i)])
    records = json.loads(arrays.pop("records").tobytes().decode())
    item = {k: v[0] for k, v in arrays.items()}
    item["defects"] = records[0]
    return item


def iterable_dataset(n: int, *, size: int = 256, seed: int = 0, presets: Sequence[str] | None = None,
                     instrument: str | None = None, mc: int = 0, transform: Callable | None = to_tensors):
    """A ``torch.utils.data.IterableDataset`` simulating samples ``0..n-1`` on the fly.

    In a ``DataLoader`` with ``num_workers=W`` each worker simulates its own contiguous slice of
    the indices (:func:`_worker_slice`), so every index appears exactly once per epoch and
    sample ``i`` is the same bytes as in ``synth generate --seed`` ``seed``.
    Needs PyTorch (an optional dependency).
    """
    try:
        from torch.utils.data import IterableDataset, get_worker_info
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("synth.iterable_dataset needs PyTorch; install it (pip install torch)") from None
    settings = Settings(int(size), int(seed), tuple(presets) if presets else tuple(PRESETS), instrument, int(mc))

    class SynthIterableDataset(IterableDataset):
        """Simulated samples, split between DataLoader workers without duplicates."""

        def __len__(self) -> int:
            return n

        def __iter__(self) -> Iterator[Any]:
            info = get_worker_info()
            indices = range(n) if info is None else _worker_slice(n, info.id, info.num_workers)
            for i in indices:
                item = synth_item(settings, i)
                yield transform(item) if transform else item

    return SynthIterableDataset()
