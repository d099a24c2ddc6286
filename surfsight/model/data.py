"""Model inputs: levelling and normalisation of heights and images, batches of simulated samples.

:func:`prepare_batch` is the one place where raw data become network input, used alike in
training, inference and evaluation, so the three cannot drift apart. For a height map it

1. removes the least-squares plane over the valid points (ISO 25178-2 F-operation, degree 1);
2. divides by the RMS ``r`` of the levelled heights (the *reference height*) and clips at
   +-10 r (spikes);
3. adds a detail channel: the heights minus their 3x3 mean, divided by its own RMS, which makes
   the instrument's noise and quantisation visible whatever the roughness;
4. passes ``ln(r)``, ``ln(spacing)`` and the detail-to-height ratio as global *scale features*, so
   that absolute roughness stays recoverable from the normalised map.

An image is standardised to zero mean, unit variance. Either input may be missing (zeros and a
presence flag).

Channels: 0 heights / r, 1 detail, 2 validity, 3 image, 4 image presence.
Scale features: 0 ln(r / 1 um) / 3, 1 ln(spacing / 1 um), 2 ln(detail RMS / r) / 3,
3 heights present, 4 image present, 5 10 x share of invalid points, and moments of the measured
levelled heights (what a metrology engine would report, which the network learns to correct
for noise, tip, dropouts and defects): 6 Sa / r, 7 Ssk / 3, 8 ln(Sku) / 3, 9 ln(Sz / r) / 3,
10 ln(Sdq) / 3 (Sdq from first differences); 11-23 the instrument signatures of
:mod:`surfsight.model.signatures` (noise floor, lateral resolution, spikes, line offsets, robust
spread). A model trained with fewer features reads the leading ones.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .config import TRANSFORMS, ModelConfig
from .signatures import N_SIGNATURES, signatures

MICRON = 1e-6
N_SCALE = 11 + N_SIGNATURES
CLIP = 10.0


def _level(h: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Subtract the least-squares plane over valid points, per batch item (float64)."""
    b, rows, cols = h.shape
    y = torch.linspace(-1, 1, rows, dtype=h.dtype, device=h.device)[:, None].expand(rows, cols)
    x = torch.linspace(-1, 1, cols, dtype=h.dtype, device=h.device)[None, :].expand(rows, cols)
    basis = torch.stack([torch.ones_like(x), x, y]).reshape(3, -1)          # (3, N)
    w = valid.reshape(b, -1).to(h.dtype)                                     # (B, N)
    hz = torch.where(valid, h, torch.zeros_like(h)).reshape(b, -1)
    a = torch.einsum("kn,bn,ln->bkl", basis, w, basis) + 1e-9 * torch.eye(3, dtype=h.dtype, device=h.device)
    rhs = torch.einsum("kn,bn->bk", basis, w * hz)
    coef = torch.linalg.solve(a, rhs)                                        # (B, 3)
    plane = (coef @ basis).reshape(b, rows, cols)
    return torch.where(valid, h - plane, torch.zeros_like(h))


def prepare_batch(heights: torch.Tensor | None, image: torch.Tensor | None, spacing: torch.Tensor,
                  batch: int | None = None, size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input ``x`` (B, 5, H, W) float32 and scale features (B, N_SCALE) from raw data.

    Parameters
    ----------
    heights
        (B, H, W) metres, NaN = not measured; or None (image only).
    image
        (B, H, W) grey levels in 0..1; or None (heights only).
    spacing
        (B,) sampling distance in metres (mean of dy and dx).
    """
    if heights is None and image is None:
        raise ValueError("prepare: give heights, an image or both")
    ref = heights if heights is not None else image
    b, rows, cols = ref.shape
    dev = ref.device
    spacing = spacing.to(dev, torch.float64).reshape(b)
    x = torch.zeros(b, 5, rows, cols, dtype=torch.float32, device=dev)
    feats = torch.zeros(b, N_SCALE, dtype=torch.float32, device=dev)
    feats[:, 1] = torch.log(spacing / MICRON).float()
    if heights is not None:
        h = heights.to(torch.float64)
        valid = torch.isfinite(h)
        n = valid.sum(dim=(1, 2)).clamp(min=1)
        lev = _level(h, valid)
        sigma = torch.sqrt((lev ** 2).sum(dim=(1, 2)) / n).clamp(min=1e-15)
        hn = (lev / sigma[:, None, None]).clamp(-CLIP, CLIP)
        mean3 = F.avg_pool2d(F.pad(hn[:, None], (1, 1, 1, 1), mode="replicate"), 3, stride=1)[:, 0]
        v3 = F.avg_pool2d(F.pad(valid[:, None].to(h.dtype), (1, 1, 1, 1), mode="replicate"), 3, stride=1)[:, 0]
        detail = torch.where(v3 > 0.999, hn - mean3, torch.zeros_like(hn))
        dn = torch.sqrt((detail ** 2).sum(dim=(1, 2)) / n).clamp(min=1e-9)
        x[:, 0] = hn.float()
        x[:, 1] = (detail / dn[:, None, None]).clamp(-CLIP, CLIP).float()
        x[:, 2] = valid.float()
        feats[:, 0] = (torch.log(sigma / MICRON) / 3).float()
        feats[:, 2] = (torch.log(dn) / 3).float()
        feats[:, 3] = 1.0
        feats[:, 5] = (10 * (1 - n / (rows * cols))).float()
        # moments of the measured heights (unclipped): the network learns their correction to
        # the true texture (noise, tip, defects) rather than the moments themselves
        z = lev / sigma[:, None, None]
        w = valid.to(h.dtype)
        feats[:, 6] = ((z.abs() * w).sum(dim=(1, 2)) / n).float()
        feats[:, 7] = (((z ** 3) * w).sum(dim=(1, 2)) / n).clamp(-10, 10).float() / 3
        feats[:, 8] = (torch.log(((z ** 4) * w).sum(dim=(1, 2)) / n + 1e-6) / 3).float()
        top = torch.where(valid, z, torch.full_like(z, -1e9)).amax(dim=(1, 2))
        bottom = torch.where(valid, z, torch.full_like(z, 1e9)).amin(dim=(1, 2))
        feats[:, 9] = (torch.log((top - bottom).clamp(min=1e-6)) / 3).float()
        vx, vy = (valid[:, :, 1:] & valid[:, :, :-1]).to(h.dtype), (valid[:, 1:] & valid[:, :-1]).to(h.dtype)
        gx = ((z[:, :, 1:] - z[:, :, :-1]) ** 2 * vx).sum(dim=(1, 2)) / vx.sum(dim=(1, 2)).clamp(min=1)
        gy = ((z[:, 1:] - z[:, :-1]) ** 2 * vy).sum(dim=(1, 2)) / vy.sum(dim=(1, 2)).clamp(min=1)
        sdq = torch.sqrt(gx + gy).clamp(min=1e-9) * sigma / spacing
        feats[:, 10] = (torch.log(sdq) / 3).float()
        feats[:, 11:] = signatures(lev, valid, sigma)
    if image is not None:
        im = image.to(torch.float32)
        m = im.mean(dim=(1, 2), keepdim=True)
        s = im.std(dim=(1, 2), keepdim=True).clamp(min=1e-3)
        x[:, 3] = ((im - m) / s).clamp(-5, 5)
        x[:, 4] = 1.0
        feats[:, 4] = 1.0
    return x, feats


def references(scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reference height r, spacing) in metres from the scale features (float64)."""
    s = scale.to(torch.float64)
    spacing = MICRON * torch.exp(s[:, 1])
    sigma = MICRON * torch.exp(3 * s[:, 0])
    return torch.where(s[:, 3] > 0.5, sigma, spacing), spacing


def prepare(heights: np.ndarray | None, image: np.ndarray | None, spacing: Any) -> torch.Tensor:
    """One surface as network input (1, 5, H, W); the scale features ride along as ``x.scale``."""
    if heights is None and image is None:
        raise ValueError("prepare: give heights, an image or both")
    step = float(np.mean(np.atleast_1d(np.asarray(spacing, dtype=float))))
    h = None if heights is None else torch.from_numpy(np.asarray(heights, np.float64))[None]
    im = None if image is None else torch.from_numpy(np.asarray(image, np.float32))[None]
    x, feats = prepare_batch(h, im, torch.tensor([step], dtype=torch.float64))
    x.scale = feats  # type: ignore[attr-defined]
    return x


# --- batches of simulated samples (shard rows) -----------------------------------------------------------------

MODES = ("height", "image", "both")


def targets(values: torch.Tensor, feats: torch.Tensor, config: ModelConfig, names: Sequence[str],
            uncertainty: bool = False) -> torch.Tensor:
    """Transformed, unstandardised targets (B, len(names)) float32; NaN where undefined.

    ``values``: (B, len(config.parameter_names)) physical values in SI units, the simulator's
    ``labels`` (or its Monte Carlo ``uncertainty`` of them, ``uncertainty=True``: those are
    heights, transformed as Sa is). Vectorised :func:`surfsight.model.config.to_target`.
    """
    ref, spacing = references(feats)
    ref, spacing = ref.to(values.device), spacing.to(values.device)
    all_names = list(config.parameter_names)
    v = values.to(torch.float64)
    out = torch.full((v.shape[0], len(names)), math.nan, dtype=torch.float64, device=v.device)
    for j, name in enumerate(names):
        col = v[:, all_names.index(name)]
        kind = TRANSFORMS.get("Sa" if uncertainty else name, "linear")
        positive = torch.isfinite(col) & (col > 0)
        safe = torch.where(positive, col, torch.ones_like(col))
        if kind == "height":
            t = torch.where(positive, torch.log(safe / ref), torch.full_like(col, math.nan))
        elif kind == "lateral":
            t = torch.where(positive, torch.log(safe / spacing), torch.full_like(col, math.nan))
        elif kind == "log":
            t = torch.where(positive, torch.log(safe), torch.full_like(col, math.nan))
        else:
            t = col
        out[:, j] = t
    return out.float()


def gather(items: Sequence[dict[str, Any]], mode: str, rng: np.random.Generator | None = None,
           augment: bool = False) -> dict[str, torch.Tensor]:
    """Stack shard rows into raw tensors in their stored types (cheap: no levelling, no features).

    With ``augment`` each row is flipped up-down and left-right with probability 1/2 each (drawn
    from ``rng``). :func:`finish` turns the result into a training batch, on whatever device it
    lies: building batches is then a copy on the CPU and arithmetic on the GPU.
    """
    if mode not in MODES:
        raise ValueError(f"collate: mode must be one of {MODES}, got {mode!r}")
    items = list(items)
    if augment and rng is not None:
        flipped = []
        for it in items:
            it = dict(it)
            for axis in (0, 1):
                if rng.random() < 0.5:
                    for key in ("measured", "truth", "image", "classes", "instances"):
                        it[key] = np.flip(it[key], axis)
            flipped.append(it)
        items = flipped

    def stack(key, dtype=None):
        return torch.from_numpy(np.stack([np.asarray(it[key], dtype) for it in items]))

    return {
        "measured": stack("measured"), "image": stack("image"), "truth": stack("truth"),
        "classes": stack("classes"),
        "spacing": torch.tensor([float(np.mean(it["spacing"])) for it in items], dtype=torch.float64),
        "labels": stack("labels", np.float64), "uncertainty": stack("uncertainty", np.float64),
        "instrument": torch.tensor([int(it["instrument"]) for it in items], dtype=torch.int64),
        "mode": torch.tensor(MODES.index(mode), dtype=torch.int64),
    }


def finish(raw: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """A training batch from :func:`gather`'s raw tensors, computed where they lie (CPU or GPU)."""
    mode = MODES[int(raw["mode"])]
    measured = raw["measured"].to(torch.float64)
    image = raw["image"].to(torch.float32) / 255.0
    x, feats = prepare_batch(measured if mode in ("height", "both") else None,
                             image if mode in ("image", "both") else None, raw["spacing"])
    truth = raw["truth"].to(torch.float64)
    truth = truth - truth.mean(dim=(1, 2), keepdim=True)
    ref, _ = references(feats)
    if mode == "image":  # shape only: the absolute scale comes from the parameter head
        recon_ref = truth.std(dim=(1, 2)).clamp(min=1e-15)
    else:
        recon_ref = ref
    return {
        "x": x, "scale": feats,
        "classes": raw["classes"].to(torch.int64),
        "reconstruction": (truth / recon_ref[:, None, None]).clamp(-30, 30).float()[:, None],
        "parameters": targets(raw["labels"], feats, config, config.parameter_names),
        "uncertainty": targets(raw["uncertainty"], feats, config, config.uncertainty_names, uncertainty=True),
        "instrument": raw["instrument"],
    }


def collate(items: Sequence[dict[str, Any]], config: ModelConfig, mode: str, rng: np.random.Generator | None = None,
            augment: bool = False) -> dict[str, torch.Tensor]:
    """A training batch from shard rows (dicts as :class:`surfsight.synth.dataset.ShardDataset` gives).

    ``mode``: ``"height"``, ``"image"`` or ``"both"`` (which inputs the network sees).
    """
    return finish(gather(items, mode, rng, augment), config)


def statistics(config: ModelConfig, scale: torch.Tensor, which: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample (mean, std) of the transformed targets, (B, n): ``which`` is ``"parameters"``
    or ``"uncertainty"``; image-only samples use the image statistics."""
    key = "target" if which == "parameters" else "uncertainty"
    n = len(config.parameter_names) if which == "parameters" else len(config.uncertainty_names)

    def vec(name, default):
        v = getattr(config, name)
        return torch.tensor(v if len(v) == n else [default] * n, dtype=torch.float32, device=scale.device)

    hm, hs = vec(f"{key}_mean", 0.0), vec(f"{key}_std", 1.0)
    im, is_ = vec(f"image_{key}_mean", 0.0), vec(f"image_{key}_std", 1.0)
    has_h = (scale[:, 3:4] > 0.5)
    return torch.where(has_h, hm, im), torch.where(has_h, hs, is_)


def target_statistics_fields() -> list[str]:
    """The configuration fields :func:`target_statistics` fills."""
    return [f"{prefix}{what}_{stat}" for prefix in ("", "image_") for what in ("target", "uncertainty")
            for stat in ("mean", "std")]


def target_statistics(items: Sequence[dict[str, Any]], config: ModelConfig) -> dict[str, list[float]]:
    """Mean and std of the transformed targets over ``items`` for height and for image input."""

    def stats(t):
        mean, std = [], []
        for j in range(t.shape[1]):
            col = t[:, j][torch.isfinite(t[:, j])]
            mean.append(float(col.mean()) if col.numel() else 0.0)
            std.append(max(float(col.std()), 1e-2) if col.numel() > 1 else 1.0)
        return mean, std

    out: dict[str, list[float]] = {}
    for mode, prefix in (("height", ""), ("image", "image_")):
        batch = collate(items, config, mode)
        out[prefix + "target_mean"], out[prefix + "target_std"] = stats(batch["parameters"])
        out[prefix + "uncertainty_mean"], out[prefix + "uncertainty_std"] = stats(batch["uncertainty"])
    return out


def finite_or_nan(v: float) -> float:
    return v if math.isfinite(v) else math.nan
