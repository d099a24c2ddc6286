"""Anomaly detection learnt from good parts only, on the model's encoder features.

Two densities of the good parts' patch features, written here:

* **PaDiM** (the default; Defard et al., "PaDiM: a patch distribution modeling framework for
  anomaly detection and localization", ICPR 2020 workshops): one multivariate Gaussian per
  position of the feature grid, its statistics shared by ``cell`` x ``cell`` neighbouring
  positions (four times the samples per Gaussian with the default 2, and a quarter of the
  matrices), the covariance shrunk towards ``shrinkage`` x its mean variance x identity so that
  it stays invertible with few good images (Ledoit-Wolf-style shrinkage with a fixed weight); a
  patch's score is its Mahalanobis distance. Inspection images are usually taken in a fixture, so
  position matters: on the magnetic tiles (image AUROC 0.72 against 0.54) and on KolektorSDD
  (0.85 against 0.80) it beats the memory bank below (docs/realdata.md). The moments are
  accumulated image by image (shifted sums, float64), so memory does not grow with the good set;
* **PatchCore** (Roth et al., "Towards total recall in industrial anomaly detection", CVPR 2022):
  every patch feature of the good images, reduced by greedy k-centre coreset selection (Sener &
  Savarese, ICLR 2018) to ``bank`` patches (after a random subsample of at most ``pool``
  candidates, which keeps the selection fast on a CPU); a patch's score is its Euclidean distance
  to the nearest bank patch. Position-free: for parts seen at any place and angle.

Both read the same features: the encoder levels at strides 4 and 8 of the working size (levels 2
and 3 of :meth:`SurfsightModel.encode`), each averaged over its 3 x 3 neighbourhood (local
context), the coarser one up-sampled to the finer grid, concatenated, and reduced by a fixed
Gaussian random projection to ``dim`` channels (Johnson-Lindenstrauss: distances are kept to within
a small factor; PaDiM itself keeps a random subset of channels). The score map is up-sampled to the
working size, smoothed by a Gaussian (``sigma`` px) and resized to the image; the image score is
the map's maximum.

Scores are in feature-distance units. What makes them usable with no defective example is the
false-alarm rate: every good image also gets an out-of-fold score (``folds`` cross-fits, each
density fitted without the image), from which :meth:`AnomalyModel.p_values` gives a conformal
p-value per scored image and :attr:`AnomalyModel.threshold` flags a new good image with probability
at most ``alpha`` (:mod:`surfsight.realdata.conformal`). With ``folds`` 0 or a single good image
the threshold is the largest in-sample score of up to 32 fit images, optimistic (those images
built the density), and no p-values are given.

Saved as ``anomaly.safetensors`` (the density, the projection) + ``anomaly.json`` (settings,
provenance, the calibration scores) with the encoder's model in ``backbone/`` (``model.safetensors``
+ ``model.json``), so the folder is self-contained. Folders of format version 1 (before PaDiM) load
as PatchCore; those of versions 1 and 2 (before the calibration) keep their in-sample threshold.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .augment import gaussian_blur
from .inputs import DEFAULT_SIZE, model_api, model_input

FORMAT = "surfsight-anomaly"
METHODS = ("padim", "patchcore")


@dataclass
class AnomalySettings:
    """Knobs of :func:`fit` (defaults: PaDiM on 2 x 2 cells, strides 4 and 8, 96 dimensions)."""

    size: tuple[int, int] = DEFAULT_SIZE   #: working size (rows, cols) every image is resized to
    method: str = "padim"                  #: "padim" (a Gaussian per position cell) or "patchcore" (memory bank)
    levels: tuple[int, ...] = (2, 3)       #: encoder levels used (0 = finest)
    dim: int = 96                          #: random-projection dimension
    cell: int = 2                          #: padim: positions per side sharing one Gaussian
    shrinkage: float = 0.01                #: padim: covariance + shrinkage x mean variance x identity
    bank: int = 6000                       #: patchcore: coreset size (patches kept)
    pool: int = 120000                     #: patchcore: candidates before the coreset selection
    sigma: float = 4.0                     #: Gaussian smoothing of the map, px of the working size
    folds: int = 5                         #: cross-fits giving each good image an out-of-fold score (0: none)
    alpha: float = 0.05                    #: false-alarm rate on good images the threshold is set for
    seed: int = 0
    batch: int = 8
    device: str = "cpu"


class AnomalyModel:
    """A fitted detector: ``score(images)`` gives maps and image scores."""

    def __init__(self, backbone, settings: AnomalySettings, projection, density: dict[str, Any], kind: str,
                 spacing: float, threshold: float, info: dict[str, Any] | None = None, calibration=None):
        self.backbone = backbone
        self.settings = settings
        self.projection = projection
        self.density = dict(density)    # padim: "mean" (C, d), "precision" (C, d, d); patchcore: "bank" (M, d)
        self.kind = kind
        self.spacing = spacing
        self.threshold = threshold
        self.info = dict(info or {})
        #: out-of-fold image scores of the good images (None: not calibrated, no p-values)
        self.calibration = None if calibration is None else np.sort(np.asarray(calibration, float))

    def p_values(self, scores) -> np.ndarray | None:
        """Conformal p-values of image ``scores``: the share of good images scoring at least as high
        (:func:`surfsight.realdata.conformal.p_values`); None for a detector without calibration."""
        from .conformal import p_values

        return None if self.calibration is None else p_values(scores, self.calibration)

    @property
    def bank(self):
        """The PatchCore memory bank (M, d)."""
        return self.density["bank"]

    def features(self, images):
        """Projected patch features (B, h, w, dim) of (B, 1, H, W) images at the working size."""
        return _features(self.backbone, images, self.kind, self.spacing, self.settings, self.projection)

    def score(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Anomaly maps (N, H, W) at the working size and image scores (N,) for (N, 1, H, W) images."""
        import torch

        s = self.settings
        device = torch.device(s.device)
        density = {k: v.to(device) for k, v in self.density.items()}
        maps, scores = [], []
        for start in range(0, images.shape[0], s.batch):
            chunk = images[start:start + s.batch].to(device)
            f = self.features(chunk)
            b, h, w, d = f.shape
            if s.method == "padim":
                dist = _mahalanobis(f, density["mean"], density["precision"], _cells(h, w, s.cell, self.info).to(device))
            else:
                dist = _nearest(f.reshape(-1, d), density["bank"]).reshape(b, 1, h, w)
            up = torch.nn.functional.interpolate(dist, size=chunk.shape[-2:], mode="bilinear", align_corners=False)
            up = gaussian_blur(up, s.sigma) if s.sigma > 0 else up
            maps.append(up[:, 0].cpu().numpy())
            scores.append(up.amax(dim=(1, 2, 3)).cpu().numpy())
        return np.concatenate(maps), np.concatenate(scores)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``anomaly.safetensors``, ``anomaly.json`` and ``backbone/`` into ``directory``."""
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        model_api().save_model(self.backbone, out / "backbone", {})
        tmp = out / f".anomaly.safetensors.{os.getpid()}.tmp"
        tensors = {k: v.contiguous().cpu() for k, v in self.density.items()}
        save_file({**tensors, "projection": self.projection.contiguous().cpu()}, str(tmp), metadata={"format": FORMAT})
        os.replace(tmp, out / "anomaly.safetensors")
        settings = asdict(self.settings)
        settings.pop("device")
        doc = {"format": FORMAT, "version": 3, "settings": settings, "kind": self.kind, "spacing": self.spacing,
               "threshold": self.threshold, "info": self.info,
               "calibration": None if self.calibration is None else [float(v) for v in self.calibration]}
        tmp = out / f".anomaly.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, out / "anomaly.json")
        return out


def load(directory: str | os.PathLike, device: str = "cpu") -> AnomalyModel:
    """Read a detector written by :meth:`AnomalyModel.save`."""
    from safetensors.torch import load_file

    folder = Path(directory)
    from ..model.weights import read_description

    meta = folder / "anomaly.json"
    doc = read_description(meta, FORMAT, "anomaly model description")
    try:
        tensors = load_file(str(folder / "anomaly.safetensors"), device="cpu")
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"{folder / 'anomaly.safetensors'}: cannot read the density ({exc})") from None
    settings = dict(doc["settings"])
    settings.setdefault("method", "patchcore")          # format version 1 had only the memory bank
    settings["size"] = tuple(settings["size"])
    settings["levels"] = tuple(settings["levels"])
    settings.setdefault("folds", 0)                    # versions 1 and 2: an in-sample threshold
    calibration = doc.get("calibration")
    if calibration is not None and (not isinstance(calibration, list) or not calibration
                                    or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in calibration)):
        raise InputError(f"{meta}: 'calibration' must be a non-empty list of finite scores")
    needed = ("mean", "precision") if settings["method"] == "padim" else ("bank",)
    missing = [k for k in ("projection", *needed) if k not in tensors]
    if settings["method"] not in METHODS or missing:
        raise InputError(f"{folder / 'anomaly.safetensors'}: not a {settings['method']} density "
                         f"(missing {', '.join(missing) or 'a known method'})")
    backbone = model_api().load_model(folder / "backbone").to(device)
    return AnomalyModel(backbone, AnomalySettings(**settings, device=device), tensors["projection"].to(device),
                        {k: tensors[k] for k in needed}, doc["kind"], float(doc["spacing"]), float(doc["threshold"]),
                        doc.get("info", {}), calibration)


def _features(model, images, kind: str, spacing: float, s: AnomalySettings, projection):
    import torch
    import torch.nn.functional as F

    model.eval()
    with torch.no_grad():
        x, _ = model_input(images, kind, spacing)
        feats = model.encode(x)
        if max(s.levels) >= len(feats):
            raise InputError(f"anomaly: encoder has {len(feats)} levels; levels {s.levels} asked for")
        chosen = [F.avg_pool2d(feats[i].float(), 3, stride=1, padding=1, count_include_pad=False) for i in s.levels]
        grid = chosen[0].shape[-2:]
        chosen = [c if c.shape[-2:] == grid else F.interpolate(c, size=grid, mode="bilinear", align_corners=False)
                  for c in chosen]
        f = torch.cat(chosen, dim=1).permute(0, 2, 3, 1)            # (B, h, w, C)
        return f @ projection.to(f.device)


def _nearest(queries, bank, chunk: int = 4096):
    """Distance of each query row to its nearest bank row."""
    import torch

    out = []
    for start in range(0, queries.shape[0], chunk):
        d = torch.cdist(queries[start:start + chunk], bank)
        out.append(d.min(dim=1).values)
    return torch.cat(out)


def _cells(h: int, w: int, cell: int, info: dict[str, Any] | None = None):
    """Cell index (h * w,) of every position of an ``h`` x ``w`` feature grid, in cells of ``cell`` x
    ``cell`` positions (the last row and column of cells may be smaller); checked against the grid
    recorded at fit time when ``info`` has one."""
    import torch

    grid = (info or {}).get("grid")
    if grid is not None and tuple(grid) != (h, w):
        raise InputError(f"anomaly: the feature grid is {h} x {w}, the detector was fitted on {grid[0]} x {grid[1]}; "
                         "score images at the working size it was fitted at")
    rows, cols = torch.arange(h) // cell, torch.arange(w) // cell
    return (rows[:, None] * (int(cols[-1]) + 1) + cols[None, :]).reshape(-1)


def _mahalanobis(f, mean, precision, cells, chunk: int = 1024):
    """Mahalanobis distance (B, 1, h, w) of features ``f`` (B, h, w, d) to the Gaussian of each
    position's cell (``mean`` (C, d), ``precision`` (C, d, d)), a chunk of positions at a time."""
    import torch

    b, h, w, d = f.shape
    centred = f.reshape(b, h * w, d).float() - mean[cells].float()
    out = torch.empty(b, h * w, device=f.device)
    for p0 in range(0, h * w, chunk):
        c = centred[:, p0:p0 + chunk]
        y = torch.einsum("bpi,pij->bpj", c, precision[cells[p0:p0 + chunk]].float())
        out[:, p0:p0 + chunk] = (y * c).sum(-1)
    return out.clamp(min=0).sqrt().reshape(b, 1, h, w)


def _fit_gaussians(backbone, images, kind: str, spacing: float, s: AnomalySettings, projection, chunk: int = 1024):
    """PaDiM: the mean (C, d) and shrunk precision (C, d, d) of the features of each position cell,
    and the grid; accumulated image batch by image batch as sums shifted by the first batch's cell
    means (no cancellation in float64, memory independent of the number of images)."""
    import torch

    if s.cell < 1:
        raise InputError(f"anomaly fit: cell must be at least 1, got {s.cell}")
    if s.shrinkage < 0:
        raise InputError(f"anomaly fit: shrinkage must not be negative, got {s.shrinkage}")
    shift = s1 = s2 = cells = None
    images_seen = 0
    for b0 in range(0, images.shape[0], s.batch):
        f = _features(backbone, images[b0:b0 + s.batch].to(projection.device), kind, spacing, s, projection).double()
        b, h, w, d = f.shape
        f = f.reshape(b, h * w, d)
        if shift is None:
            cells = _cells(h, w, s.cell).to(f.device)
            n_cells = int(cells.max()) + 1
            per_image = torch.bincount(cells, minlength=n_cells).double()
            shift = torch.zeros(n_cells, d, dtype=f.dtype, device=f.device).index_add_(0, cells, f.mean(0))
            shift /= per_image[:, None]
            s1 = torch.zeros(n_cells, d, dtype=f.dtype, device=f.device)
            s2 = torch.zeros(n_cells, d, d, dtype=f.dtype, device=f.device)
            grid = (h, w)
        centred = f - shift[cells]
        s1.index_add_(0, cells, centred.sum(0))
        for p0 in range(0, h * w, chunk):
            c = centred[:, p0:p0 + chunk]
            s2.index_add_(0, cells[p0:p0 + chunk], torch.einsum("bpi,bpj->pij", c, c))
        images_seen += b
    m = images_seen * per_image                                    # samples per cell
    mean_c = s1 / m[:, None]
    cov = (s2 - m[:, None, None] * mean_c[:, :, None] * mean_c[:, None, :]) / (m - 1).clamp(min=1)[:, None, None]
    scale = (s.shrinkage * cov.diagonal(dim1=-2, dim2=-1).mean(-1)).clamp(min=1e-6)
    precision = torch.linalg.inv(cov + scale[:, None, None] * torch.eye(d, dtype=cov.dtype, device=cov.device))
    return {"mean": (shift + mean_c).float().cpu(), "precision": precision.float().cpu()}, grid


def _fit_bank(backbone, images, kind: str, spacing: float, s: AnomalySettings, projection, rng: np.random.Generator):
    """PatchCore: a coreset of ``s.bank`` of the good images' patch features."""
    import torch

    patches = []
    per_image = max(1, int(np.ceil(2 * s.pool / images.shape[0])))   # bounded memory on large sets
    for b0 in range(0, images.shape[0], s.batch):
        f = _features(backbone, images[b0:b0 + s.batch].to(projection.device), kind, spacing, s, projection)
        for one in f.reshape(f.shape[0], -1, f.shape[-1]):
            if one.shape[0] > per_image:
                one = one[torch.from_numpy(rng.choice(one.shape[0], per_image, replace=False)).to(one.device)]
            patches.append(one)
    patches = torch.cat(patches)
    if patches.shape[0] > s.pool:
        keep = torch.from_numpy(rng.choice(patches.shape[0], s.pool, replace=False)).to(patches.device)
        patches = patches[keep]
    return {"bank": patches[coreset(patches, s.bank, rng).to(patches.device)].cpu()}


def coreset(features, size: int, rng: np.random.Generator):
    """Greedy k-centre selection of ``size`` rows of ``features`` (N, d): indices (Sener & Savarese 2018)."""
    import torch

    n = features.shape[0]
    if size >= n:
        return torch.arange(n)
    chosen = torch.empty(size, dtype=torch.long)
    norms = (features * features).sum(dim=1)
    j = int(rng.integers(n))
    dist = torch.full((n,), float("inf"), dtype=features.dtype, device=features.device)
    for k in range(size):
        chosen[k] = j
        c = features[j]
        dist = torch.minimum(dist, (norms - 2 * (features @ c) + norms[j]).clamp(min=0))
        j = int(torch.argmax(dist))
    return chosen


def fit(backbone, images, kind: str = "image", spacing: float = 10e-6, settings: AnomalySettings = AnomalySettings(),
        info: dict[str, Any] | None = None) -> AnomalyModel:
    """Fit a detector on good images only ((N, 1, H, W) at ``settings.size``), then calibrate its
    threshold on out-of-fold scores of the same images (:func:`cross_fitted_scores`)."""
    import torch

    from . import conformal

    s = settings
    if images.shape[0] == 0:
        raise InputError("anomaly fit: no good images")
    if s.method not in METHODS:
        raise InputError(f"anomaly fit: unknown method {s.method!r} (known: {', '.join(METHODS)})")
    if not 0.0 < s.alpha < 1.0:
        raise InputError(f"anomaly fit: alpha must be in (0, 1), got {s.alpha}")
    if s.folds < 0 or s.folds == 1:
        raise InputError(f"anomaly fit: folds must be 0 (no calibration) or at least 2, got {s.folds}")
    rng = np.random.default_rng(s.seed)
    device = torch.device(s.device)
    backbone = backbone.to(device).eval()
    start = time.perf_counter()
    with torch.no_grad():
        x, _ = model_input(images[:1].to(device), kind, spacing)
        feats = backbone.encode(x)
    width = sum(feats[i].shape[1] for i in s.levels if i < len(feats))
    gen = torch.Generator().manual_seed(s.seed)
    projection = (torch.randn(width, s.dim, generator=gen) / np.sqrt(s.dim)).to(device)
    info = dict(info or {})
    density, extra = _density(backbone, images, kind, spacing, s, projection, rng)
    info.update(extra)
    model = AnomalyModel(backbone, s, projection, density, kind, spacing, 0.0, info)
    sample = np.unique(np.linspace(0, images.shape[0] - 1, min(32, images.shape[0])).astype(int))
    _, scores = model.score(images[torch.from_numpy(sample)])
    model.threshold = float(scores.max())
    calibration = {"source": "in-sample", "alpha": None, "guaranteed_alpha": None, "folds": 0}
    if s.folds >= 2 and images.shape[0] >= 2:
        oof, k = cross_fitted_scores(model, images, rng)
        model.calibration = np.sort(oof)
        model.threshold, guaranteed = conformal.threshold(oof, s.alpha)
        calibration = {"source": "cross-fitted", "alpha": s.alpha, "guaranteed_alpha": guaranteed, "folds": k,
                       "good_score_median_out_of_fold": float(np.median(oof))}
    model.info = {**model.info, "method": s.method, "good_images": int(images.shape[0]),
                  "fit_seconds": round(time.perf_counter() - start, 2), "threshold": calibration,
                  "good_score_median": float(np.median(scores)), "good_score_max": float(scores.max())}
    return model


def _density(backbone, images, kind: str, spacing: float, s: AnomalySettings, projection, rng):
    """The fitted density of ``s.method`` and what to record of it."""
    if s.method == "padim":
        density, grid = _fit_gaussians(backbone, images, kind, spacing, s, projection)
        return density, {"grid": list(grid), "cells": int(density["mean"].shape[0])}
    density = _fit_bank(backbone, images, kind, spacing, s, projection, rng)
    return density, {"bank": int(density["bank"].shape[0])}


def cross_fitted_scores(model: AnomalyModel, images, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Out-of-fold image scores of the good ``images`` the detector ``model`` was fitted on, and the
    number of folds: each fold of :func:`surfsight.realdata.conformal.folds` is scored by a density
    of the same method fitted on the other folds (one fold density is held at a time)."""
    import torch

    from .conformal import folds

    s = model.settings
    oof = np.empty(images.shape[0])
    parts = folds(images.shape[0], s.folds, rng)
    for held in parts:
        rest = torch.from_numpy(np.setdiff1d(np.arange(images.shape[0]), held))
        density, _ = _density(model.backbone, images[rest], model.kind, model.spacing, s, model.projection, rng)
        fold_model = AnomalyModel(model.backbone, s, model.projection, density, model.kind, model.spacing, 0.0,
                                  model.info)
        _, oof[held] = fold_model.score(images[torch.from_numpy(held)])
    return oof, len(parts)


def fit_paths(paths: Sequence, backbone: str = "default", settings: AnomalySettings = AnomalySettings()) -> AnomalyModel:
    """Read good images (photographs or height maps), resize them and :func:`fit`."""
    from .finetune import build_model
    from .inputs import load_set
    from .pairs import Pair

    data = load_set([Pair(Path(p), None) for p in paths], settings.size)
    model = build_model(backbone)
    return fit(model, data.images, data.kind, float(np.mean(data.spacing)), settings,
               {"backbone": str(backbone), "good": [str(p) for p in paths][:1000]})
