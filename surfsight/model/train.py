"""Training: the loop, read top to bottom.

A run is described by a YAML file (``configs/*.yaml``)::

    seed: 0
    out: runs/default              # checkpoints, metrics.csv, model/ (overridable with --out)
    model: {base_channels: 16, depth: 4, dropout: 0.1}   # any ModelConfig field, e.g. head_shared: 1
    data:
      train: /path/to/shards       # a `surfsight synth generate` folder (or a list of them), or "stream"
      calibration: /path/to/shards # held-out set(s) for temperature and conformal calibration (a list too)
      stream: {size: 128, seed: 1000, mc: 8, workers: 4}   # when train is "stream"
    train:
      steps: 2000
      batch: 16
      lr: 0.002
      weight_decay: 0.0001
      warmup: 0.05                 # share of steps with linear warm-up, then cosine decay
      modes: {height: 0.5, image: 0.25, both: 0.25}   # which inputs each batch shows
      tasks: [segmentation, parameters, uncertainty, instrument, reconstruction]
      log_every: 20
      checkpoint_every: 200
      workers: 0                   # DataLoader workers building batches
      init: null                   # a saved model folder whose weights start the network (same architecture)
      batch_on: auto               # where batches are finished (levelling, features, targets): auto (the
                                   # GPU when training on one), device, or workers
      head_refit: {epochs: 200, lr: 0.002, batch: 256}   # optional second stage (model.refit); also
                                   # reinit: true (fresh head weights), data: [more shard folders, for this stage only]
      decoder_refit: {steps: 2000, lr: 0.001, batch: 16} # optional: decoder on the frozen encoder (model.dense_refit);
                                   # also time_limit_s (stop after that long, annealed over it)
    calibration: {alpha: 0.1, passes: 16}

Every batch ``k`` is drawn with ``numpy.random.default_rng([seed, k])``, so a resumed run sees
the same batches as an uninterrupted one. The learning rate warms up linearly, then decays on a
cosine over the run's progress: the share of ``steps`` done, or of ``time_limit_s`` used if that
is further along (so a run bounded by time still anneals; such a run is not bit-reproducible). Checkpoints (model, task weights, optimiser state) are
safetensors + JSON, never pickle. On CUDA the forward pass runs under bf16 autocast.

With ``head_refit`` the joint stage is followed by a second one: the trunk frozen, the global
head retrained on the pooled features of every training sample (:mod:`surfsight.model.refit`).
With ``decoder_refit`` the decoder and dense heads are retrained on the frozen encoder
(:mod:`surfsight.model.dense_refit`); the two refits touch disjoint weights and read only the
encoder, so their order does not matter.
Calibration always comes last, on the final weights.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from ..errors import InputError
from .config import ModelConfig, TASKS
from .data import collate, finish, gather, statistics, target_statistics, target_statistics_fields
from .losses import MultiTaskLoss, task_losses
from .network import SurfsightModel
from .weights import save_model

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "out": "runs/default",
    "model": {},
    "data": {"train": None, "calibration": None, "max_samples": None,
             "stream": {"size": 128, "seed": 1000, "mc": 8, "workers": 2, "pool": 2048}},
    "train": {"steps": 2000, "batch": 16, "lr": 2e-3, "weight_decay": 1e-4, "warmup": 0.05,
              "modes": {"height": 0.5, "image": 0.25, "both": 0.25}, "tasks": list(TASKS), "log_every": 20,
              "checkpoint_every": 200, "workers": 0, "init": None, "batch_on": "auto", "device": "auto", "threads": None, "time_limit_s": None},
    "calibration": {"alpha": 0.1, "passes": 16},
}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def load_recipe(path: str | os.PathLike | None = None, **overrides: Any) -> dict[str, Any]:
    """The training recipe: defaults, then the YAML file, then ``overrides`` (nested dicts)."""
    import yaml

    recipe = DEFAULTS
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"{path}: cannot read the training config ({exc})") from None
        if not isinstance(loaded, dict):
            raise InputError(f"{path}: a training config must be a mapping")
        recipe = _merge(recipe, loaded)
    return _merge(recipe, overrides)


# --- data -------------------------------------------------------------------------------------------------------
def describe_folder(folder: str) -> dict[str, Any]:
    """Where a shard folder came from (its ``index.json``: size, seed, points, Monte Carlo runs, presets)."""
    entry: dict[str, Any] = {"folder": str(folder)}
    index = Path(folder) / "index.json"
    if index.is_file():
        idx = json.loads(index.read_text())
        entry.update({k: idx.get(k) for k in ("n", "seed", "size", "mc", "presets_used")})
    return entry


def active_modes(weights: dict[str, float]) -> list[str]:
    """The input modes a recipe trains on (``train.modes`` weights above zero), in a fixed order:
    the order of the head refit's features and of the calibration."""
    return [m for m in ("height", "image", "both") if weights.get(m, 0) > 0]


def _folders(value: Any) -> list[str]:
    """A recipe's folder entry (one path or a list of them) as a list."""
    if value in (None, ""):
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def shard_files(root: str | os.PathLike) -> list[Path]:
    """The shard files of a folder: those ``index.json`` lists if present, else every ``shard-*.npz``
    (empty when there are none, or no such folder)."""
    root = Path(root)
    index = root / "index.json"
    if index.is_file():
        return [root / s["file"] for s in json.loads(index.read_text())["shards"]]
    return sorted(root.glob("shard-*.npz"))


def load_folders(folders: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows of one shard folder or of a list of them, in order (:func:`load_shards` each)."""
    return [row for folder in _folders(folders) for row in load_shards(folder, limit)]


def load_shards(root: str | os.PathLike, limit: int | None = None) -> list[dict[str, Any]]:
    """All rows of a shard folder in memory (``index.json`` if present, else every shard file)."""
    root = Path(root)
    files = shard_files(root)
    if not files:
        raise InputError(f"{root}: no shards found (make them with `surfsight synth generate`)")
    rows: list[dict[str, Any]] = []
    keep = ("measured", "truth", "image", "classes", "labels", "uncertainty", "instrument", "spacing", "index",
            "preset", "instances")
    for f in files:
        with np.load(f, allow_pickle=False) as data:
            arrays = {k: data[k] for k in keep if k in data.files}
            records = json.loads(data["records"].tobytes().decode()) if "records" in data.files else None
        for i in range(len(arrays["measured"])):
            row = {k: v[i] for k, v in arrays.items()}
            row["defects"] = records[i] if records is not None else []
            rows.append(row)
        if limit is not None and len(rows) >= limit:
            return rows[:limit]
    return rows


def stream_rows(n: int, size: int, seed: int, mc: int, workers: int) -> list[dict[str, Any]]:
    """Simulate ``n`` rows with ``workers`` DataLoader workers (the synth package's iterable data set)."""
    from torch.utils.data import DataLoader

    from ..synth.dataset import iterable_dataset

    ds = iterable_dataset(n, size=size, seed=seed, mc=mc, transform=None)
    if workers <= 0:
        return list(ds)
    loader = DataLoader(ds, batch_size=None, num_workers=workers, collate_fn=_as_is)
    return list(loader)


def _as_is(item):
    """DataLoader conversion that leaves the NumPy rows alone."""
    return item


class Batches(torch.utils.data.Dataset):
    """Batch ``k`` of a run: indices and input mode drawn from ``default_rng([seed, k])``.

    ``raw=True`` gives :func:`surfsight.model.data.gather`'s stacked rows, which
    :func:`surfsight.model.data.finish` completes on the training device (the same batch, its
    arithmetic done on the GPU rather than in the loader's workers).
    """

    def __init__(self, rows: Sequence[dict[str, Any]], config: ModelConfig, seed: int, batch: int,
                 modes: dict[str, float], raw: bool = False):
        self.rows, self.config, self.seed, self.batch, self.raw = rows, config, seed, batch, raw
        self.modes = list(modes)
        p = np.array([modes[m] for m in self.modes], float)
        self.p = p / p.sum()

    def __len__(self) -> int:
        return 1 << 40

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(step)])
        idx = rng.choice(len(self.rows), size=min(self.batch, len(self.rows)), replace=False)
        mode = self.modes[int(rng.choice(len(self.modes), p=self.p))]
        items = [self.rows[i] for i in idx]
        if self.raw:
            return gather(items, mode, rng, augment=True)
        return collate(items, self.config, mode, rng, augment=True)


def recipe_config(recipe: dict[str, Any], rows: Sequence[dict[str, Any]]) -> ModelConfig:
    """The network configuration of a recipe for training on ``rows`` (tile size and tasks set;
    target statistics not yet)."""
    config = ModelConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in recipe["model"].items()})
    config.tile = int(rows[0]["measured"].shape[-1])
    config.tasks = tuple(recipe["train"]["tasks"])
    return config


def _initial_weights(init: Any, config: ModelConfig) -> SurfsightModel | None:
    """The model ``train.init`` names (a saved model folder), checked against the recipe's network."""
    if not init:
        return None
    from .weights import load_model

    start = load_model(init)
    mine, theirs = config.to_dict(), start.config.to_dict()
    keys = ("base_channels", "depth", "max_channels", "head_hidden", "head_shared", "height_decoder", "parameter_names",
            "uncertainty_names", "tile")
    differ = [k for k in keys if k in mine and mine[k] != theirs.get(k)]
    if differ:
        raise InputError(f"{init}: train.init's network differs from the recipe's in "
                         + ", ".join(f"{k} ({theirs.get(k)!r} vs {mine[k]!r})" for k in differ))
    return start


def batches_on_device(setting: Any, device: torch.device) -> bool:
    """Whether batches are finished on the training device (``train.batch_on``: ``auto``, i.e. on
    a GPU; ``device``; ``workers``, i.e. wholly in the loader's workers)."""
    setting = str(setting or "auto")
    if setting not in ("auto", "device", "workers"):
        raise ValueError(f"train.batch_on must be auto, device or workers, got {setting!r}")
    return setting == "device" or (setting == "auto" and device.type == "cuda")


def to_device(batch: dict[str, torch.Tensor], device: torch.device, config: ModelConfig,
              on_device: bool) -> dict[str, torch.Tensor]:
    """A loaded batch moved to ``device`` (and finished there when it is raw)."""
    # the input mode stays here: reading it back from the GPU would stall every step
    moved = {k: v if k == "mode" else v.to(device, non_blocking=True) for k, v in batch.items()}
    return finish(moved, config) if on_device else moved


def batch_stream(dataset: Batches, start: int, stop: int, workers: int) -> Iterator[dict[str, torch.Tensor]]:
    """Batches ``start`` to ``stop - 1`` of ``dataset``, built here or by ``workers`` DataLoader workers."""
    if workers <= 0:
        for k in range(start, stop):
            yield dataset[k]
        return
    from torch.utils.data import DataLoader

    loader = DataLoader(dataset, batch_size=None, sampler=range(start, stop), num_workers=workers,
                        persistent_workers=False, prefetch_factor=4)
    yield from loader


# --- checkpoints ------------------------------------------------------------------------------------------------

def save_checkpoint(folder: Path, model: SurfsightModel, loss: MultiTaskLoss, opt: torch.optim.Optimizer,
                    step: int, recipe: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"loss.{k}": v.detach().cpu().contiguous() for k, v in loss.state_dict().items()})
    state = opt.state_dict()
    for pid, st in state["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"opt.{pid}.{k}"] = t.detach().cpu().contiguous()
    tmp = folder / f".checkpoint.safetensors.{os.getpid()}.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / "checkpoint.safetensors")
    groups = [{k: v for k, v in g.items() if k != "params"} | {"params": g["params"]} for g in state["param_groups"]]
    doc = {"step": step, "config": model.config.to_dict(), "param_groups": groups, "recipe": recipe}
    tmp = folder / f".checkpoint.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=1, default=str))
    os.replace(tmp, folder / "checkpoint.json")


def load_checkpoint(folder: Path, model: SurfsightModel, loss: MultiTaskLoss, opt: torch.optim.Optimizer) -> int:
    from safetensors.torch import load_file

    doc = json.loads((folder / "checkpoint.json").read_text())
    tensors = load_file(str(folder / "checkpoint.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    loss.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("loss.")})
    state: dict[str, Any] = {"state": {}, "param_groups": doc["param_groups"]}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, name = k.split(".", 2)
            state["state"].setdefault(int(pid), {})[name] = v
    opt.load_state_dict(state)
    return int(doc["step"])


# --- the run ----------------------------------------------------------------------------------------------------

def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def progress(step: int, steps: int, elapsed_s: float, limit_s: float | None) -> float:
    """Share of a run done: of its ``steps``, or of its time limit if that is further along (so a
    run bounded by time still anneals its learning rate)."""
    frac = step / steps
    return frac if limit_s is None else max(frac, elapsed_s / float(limit_s))


def lr_factor(frac: float, warmup: float, floor: float = 0.01) -> float:
    """Learning-rate multiplier at ``frac`` of a run (:func:`progress`): linear warm-up over the
    first ``warmup`` (from ``floor``), then cosine decay to 0 at ``frac`` 1 (Loshchilov & Hutter,
    SGDR, ICLR 2017, one cycle without restarts)."""
    if frac < warmup:
        return max(frac / warmup, floor)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - warmup) / max(1e-9, 1 - warmup))))


def versions() -> dict[str, str]:
    import numpy
    import scipy

    from .. import __version__ as surfsight_version

    return {"surfsight": surfsight_version, "torch": torch.__version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


def train(recipe: dict[str, Any], out: str | os.PathLike | None = None, resume: bool = True,
          log=None) -> tuple[SurfsightModel, dict[str, Any]]:
    """Run a training recipe (see the module docs); returns the calibrated model and a summary.

    Writes into ``out``: ``metrics.csv``, ``checkpoint.safetensors`` + ``checkpoint.json``,
    ``model/`` (the final weights, :func:`surfsight.model.save_model`) and ``summary.json``.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    folder = Path(out or recipe["out"])
    folder.mkdir(parents=True, exist_ok=True)
    seed = int(recipe["seed"])
    tr, data = recipe["train"], recipe["data"]
    torch.manual_seed(seed)
    if tr.get("threads"):
        torch.set_num_threads(int(tr["threads"]))
    device = _device(tr.get("device", "auto"))
    bf16 = device.type == "cuda"
    if bf16:
        torch.backends.cudnn.benchmark = True

    # folders read after the joint stage: a missing one must fail now, not after an hour of training
    for key, folders_ in (("train.head_refit.data", (tr.get("head_refit") or {}).get("data", [])),
                          ("data.calibration", data.get("calibration"))):
        for extra in _folders(folders_):
            if not shard_files(extra):
                raise InputError(f"{extra}: {key} names a folder with no shards "
                                 "(make them with `surfsight synth generate`)")

    # data
    if data.get("train") in (None, "stream"):
        st = data["stream"]
        log(f"simulating {st['pool']} training samples with {st['workers']} workers ...")
        rows = stream_rows(int(st["pool"]), int(st["size"]), int(st["seed"]), int(st["mc"]), int(st["workers"]))
        source = {"stream": st}
    else:
        rows = load_folders(data["train"], data.get("max_samples"))
        source = {"train": [describe_folder(f) for f in _folders(data["train"])]}
    source["rows"] = len(rows)
    log(f"{len(rows)} training samples ({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()  # the time limit counts from here: data loading is not training

    # model, statistics of the targets, loss, optimiser
    config = recipe_config(recipe, rows)
    start_from = _initial_weights(tr.get("init"), config)
    stats = target_statistics(rows[:512], config) if start_from is None else {
        k: list(getattr(start_from.config, k)) for k in target_statistics_fields()}
    for k, v in stats.items():
        setattr(config, k, v)
    model = SurfsightModel(config)
    if start_from is not None:
        model.load_state_dict(start_from.state_dict())
        source["init"] = {"model": str(tr["init"]), "seed": start_from.metadata.get("seed"),
                          "training": {k: start_from.metadata.get("training", {}).get(k) for k in ("steps", "seconds", "device")}}
        log(f"network initialised from {tr['init']}")
    model = model.to(device)
    loss_fn = MultiTaskLoss(config.tasks).to(device)
    params = list(model.parameters()) + list(loss_fn.parameters())
    opt = torch.optim.AdamW(params, lr=float(tr["lr"]), weight_decay=float(tr["weight_decay"]))
    start = 0
    if resume and (folder / "checkpoint.json").is_file():
        start = load_checkpoint(folder, model, loss_fn, opt)
        log(f"resumed from step {start}")
    steps = int(tr["steps"])
    on_device = batches_on_device(tr.get("batch_on"), device)
    batches = Batches(rows, config, seed, int(tr["batch"]), tr["modes"], raw=on_device)

    # the loop
    metrics_path = folder / "metrics.csv"
    fresh = start == 0 or not metrics_path.is_file()
    fh = open(metrics_path, "w" if fresh else "a", newline="")
    writer = csv.writer(fh)
    if fresh:
        writer.writerow(["step", "seconds", "lr", "total", *[f"loss_{t}" for t in config.tasks],
                         *[f"weight_{t}" for t in config.tasks]])
    model.train()
    t_loop = time.perf_counter()
    limit = tr.get("time_limit_s")
    step = start
    running: dict[str, torch.Tensor] = {}
    for step, batch in enumerate(batch_stream(batches, start, steps, int(tr.get("workers", 0))), start=start):
        frac = progress(step, steps, time.perf_counter() - t0, limit)
        for group in opt.param_groups:
            group["lr"] = float(tr["lr"]) * lr_factor(frac, float(tr["warmup"]))
        batch = to_device(batch, device, config, on_device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(batch["x"], batch["scale"])
        pm, ps = statistics(config, batch["scale"], "parameters")
        um, us = statistics(config, batch["scale"], "uncertainty")
        losses = task_losses(outputs, batch, pm, ps, um, us)
        losses = {t: losses[t] for t in config.tasks}
        total = loss_fn(losses)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        # running means stay on the device: reading them back every step would stall the GPU
        for t, v in losses.items():
            v = v.detach().float()
            running[t] = v if t not in running else 0.9 * running[t] + 0.1 * v
        done = step + 1
        if done % int(tr["log_every"]) == 0 or done == steps:
            w = loss_fn.weights()
            writer.writerow([done, round(time.perf_counter() - t0, 2), opt.param_groups[0]["lr"], float(total.detach()),
                             *[float(losses[t].detach()) for t in config.tasks], *[w[t] for t in config.tasks]])
            fh.flush()
            rate = (done - start) / max(1e-9, time.perf_counter() - t_loop)
            eta = (steps - done) / max(rate, 1e-9)
            log(f"step {done}/{steps}  loss {float(total.detach()):.3f}  " +
                "  ".join(f"{t[:4]} {float(v):.3f}" for t, v in running.items()) + f"  {rate:.2f} it/s  eta {eta:.0f} s")
        if done % int(tr["checkpoint_every"]) == 0 or done == steps:
            save_checkpoint(folder, model, loss_fn, opt, done, recipe)
        if limit is not None and time.perf_counter() - t0 > float(limit):
            log(f"time limit reached at step {done}")
            save_checkpoint(folder, model, loss_fn, opt, done, recipe)
            break
    fh.close()
    final_losses = {t: float(v) for t, v in running.items()}
    steps_done = step + 1 if steps > start else start
    train_seconds = time.perf_counter() - t0

    # second stage (a): the decoder refitted on the frozen encoder
    decoder_refit: dict[str, Any] = {}
    if tr.get("decoder_refit"):
        from .dense_refit import refit_decoder

        dr = tr["decoder_refit"]
        log(f"refitting the decoder on the frozen encoder for {int(dr['steps'])} steps ...")
        decoder_refit = refit_decoder(model, rows, tr["modes"], steps=int(dr["steps"]), lr=float(dr.get("lr", 1e-3)),
                                      batch=int(dr.get("batch", tr["batch"])), seed=seed, device=device, log=log,
                                      log_every=int(tr["log_every"]), workers=int(tr.get("workers", 0)),
                                      time_limit_s=dr.get("time_limit_s"), batch_on=tr.get("batch_on", "auto"))

    # the input modes the run trained on, in a fixed order (for the head refit and the calibration)
    modes = active_modes(tr["modes"])

    # second stage (b): the global head refitted on the pooled features of the whole set
    head_refit: dict[str, Any] = {}
    if tr.get("head_refit"):
        from .refit import concat_features, folder_features, pooled_features, refit_head

        hr = tr["head_refit"]
        extra = _folders(hr.get("data", []))
        t_refit = time.perf_counter()
        # the extra folders serve only this stage: their pooled features are computed one folder at a time
        features = concat_features([pooled_features(model, rows, modes, device=device),
                                    *folder_features(model, extra, modes, device=device)])
        log(f"refitting the global head on {features['m1'].shape[0] // len(modes)} samples x {len(modes)} input modes ...")
        head_refit = refit_head(model, rows, modes, epochs=int(hr.get("epochs", 200)), lr=float(hr.get("lr", 2e-3)),
                                batch=int(hr.get("batch", 256)), seed=seed, device=device, features=features,
                                reinit=bool(hr.get("reinit", False)), log=log)
        head_refit["extra_data"] = [describe_folder(f) for f in extra]
        head_refit["seconds"] = round(time.perf_counter() - t_refit, 1)

    # calibration on the held-out set
    model.eval()
    calibration = {}
    if data.get("calibration"):
        cal_rows = load_folders(data["calibration"])
        log(f"calibrating on {len(cal_rows)} held-out samples ...")
        from .calibration import calibrate

        calibration = calibrate(model, cal_rows, float(recipe["calibration"]["alpha"]),
                                int(recipe["calibration"]["passes"]), modes, device=str(device))
    model = model.cpu().float()
    metadata = {
        "seed": seed, "versions": versions(), "recipe": recipe, "data": source,
        "training": {"steps": steps_done, "seconds": round(train_seconds, 1), "device": str(device),
                     "bf16": bf16, "final_losses": final_losses, "task_weights": loss_fn.weights(),
                     "parameters": int(sum(p.numel() for p in model.parameters())), "head_refit": head_refit,
                     "decoder_refit": decoder_refit},
        "calibration": calibration or model.metadata.get("calibration", {}),
        "size": config.tile,
    }
    save_model(model, folder / "model", metadata)
    summary = {"out": str(folder), "steps": steps_done, "seconds": round(time.perf_counter() - t0, 1),
               "final_losses": final_losses}
    (folder / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"saved {folder / 'model'} ({summary['seconds']} s)")
    return model, summary
