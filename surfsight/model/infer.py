"""Inference on surfaces of any size: tiled, stitched, with calibrated intervals and instances.

* **Tiles.** The prepared surface (levelled and normalised as a whole) is cut into tiles of
  ``config.tile`` points with an overlap; dense outputs are blended with a separable raised
  cosine window (weights never zero), so the seams vanish; the global head sees the pooled
  moments of every encoder level averaged over the tiles, weighted by the same window, which
  summarises the whole surface rather than one tile.
* **Uncertainty.** Aleatoric variance from the head, epistemic variance from MC dropout
  (``passes`` forward passes of the cheap global head with dropout on), the sum scaled by the
  split-conformal factor of the input mode and the (predicted) instrument group
  (:mod:`surfsight.model.calibration`). Instrument probabilities are temperature scaled.
* **Test-time augmentation** (``tta=True``, off by default: it costs one more dense pass per
  transform). The defect probabilities are averaged over the surface's symmetry transforms, each
  pass's output mapped back to the original grid: the eight of the dihedral group (quarter turns
  with and without a mirror) on a square grid, the four mirrors when the two spacings differ
  (a quarter turn would swap them). Test-time mirroring is nnU-Net's default (Isensee et al.,
  Nature Methods 18 (2021) 203); the global outputs and the reconstruction come from the
  untransformed pass.
* **Instances.** Connected components (8-neighbourhood) of each predicted defect class, with
  geometry measured on the heights (levelled measured heights, or the reconstruction when
  only an image is given): depth below the median of a ring around the defect, width and length
  along the principal axes, plan area, and Murakami's sqrt(area) of the cross-section normal to
  a load across the long axis, as the simulator defines them (:mod:`surfsight.synth.defects`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from .config import from_target
from .data import _level, prepare_batch, references, statistics
from .network import SurfsightModel
from .seeding import seeded


#: Physical limits of parameters whose learnt space is unbounded.
BOUNDS = {"Str": (0.0, 1.0), "Sku": (1.0, math.inf)}


def input_mode(scale: torch.Tensor) -> str:
    has_h, has_i = bool(scale[0, 3] > 0.5), bool(scale[0, 4] > 0.5)
    return "both" if has_h and has_i else ("height" if has_h else "image")


def _window(n: int, overlap: int) -> np.ndarray:
    w = np.ones(n)
    if overlap > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(overlap) + 0.5) / overlap)
        w[:overlap] = ramp
        w[-overlap:] = ramp[::-1]
    return np.maximum(w, 1e-3)


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step)) + [length - tile]
    return sorted(set(starts))


@torch.no_grad()
def forward_tiled(model: SurfsightModel, x: torch.Tensor, tile: int | None = None, overlap: int | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dense outputs (segmentation logits, reconstruction) of a whole (1, C, H, W) input and its
    pooled moments (m1, m2), computed tile by tile."""
    m = model.config.multiple
    tile = int(tile or model.config.tile)
    tile = max(m, tile - tile % m)
    overlap = int(tile // 4 if overlap is None else overlap)
    _, c, rows, cols = x.shape
    # pad to at least one tile and to a multiple of the down-sampling (reflect: no artificial edge)
    pr = max(tile, math.ceil(rows / m) * m) - rows
    pc = max(tile, math.ceil(cols / m) * m) - cols
    if pr or pc:
        mode = "reflect" if pr < rows and pc < cols else "replicate"
        x = torch.nn.functional.pad(x, (0, pc, 0, pr), mode=mode)
    H, W = x.shape[-2:]
    th, tw = min(tile, H), min(tile, W)
    step_h, step_w = max(m, th - overlap), max(m, tw - overlap)
    k = len(model.config.defect_classes)
    seg = torch.zeros(1, k, H, W)
    rec = torch.zeros(1, 1, H, W)
    weight = torch.zeros(1, 1, H, W)
    m1 = m2 = None
    wsum = 0.0
    rs, cs = _starts(H, th, step_h), _starts(W, tw, step_w)
    wy = _window(th, overlap if len(rs) > 1 else 0)
    wx = _window(tw, overlap if len(cs) > 1 else 0)
    win = torch.from_numpy(np.outer(wy, wx)).float()[None, None]
    for r0 in rs:
        for c0 in cs:
            patch = x[:, :, r0:r0 + th, c0:c0 + tw]
            feats = model.encode(patch)
            dense = model.decode(feats, model.has_image(patch))
            seg[:, :, r0:r0 + th, c0:c0 + tw] += dense["segmentation"].float() * win
            rec[:, :, r0:r0 + th, c0:c0 + tw] += dense["reconstruction"].float() * win
            weight[:, :, r0:r0 + th, c0:c0 + tw] += win
            a, b = model.moments(feats)
            # weight each tile by the share of the original (unpadded) surface it covers
            share = float(min(th, max(0, rows - r0)) * min(tw, max(0, cols - c0))) / (th * tw)
            m1 = a * share if m1 is None else m1 + a * share
            m2 = b * share if m2 is None else m2 + b * share
            wsum += share
    seg = (seg / weight)[:, :, :rows, :cols]
    rec = (rec / weight)[:, :, :rows, :cols]
    return seg, rec, m1 / wsum, m2 / wsum


def symmetry_transforms(spacing: tuple[float, float]) -> list[tuple[int, bool]]:
    """(quarter turns, mirror) pairs for test-time augmentation: the dihedral group of the
    square on an isotropic grid, its four mirrors (0 and 2 turns) when the spacings differ."""
    turns = (0, 1, 2, 3) if math.isclose(spacing[0], spacing[1], rel_tol=1e-9) else (0, 2)
    return [(k, mirror) for k in turns for mirror in (False, True)]


def transform(t: torch.Tensor, turns: int, mirror: bool) -> torch.Tensor:
    """``t`` turned by ``turns`` quarter turns in its last two dimensions, then mirrored left-right."""
    t = torch.rot90(t, turns, (-2, -1)) if turns else t
    return torch.flip(t, (-1,)) if mirror else t


def untransform(t: torch.Tensor, turns: int, mirror: bool) -> torch.Tensor:
    """The inverse of :func:`transform`."""
    t = torch.flip(t, (-1,)) if mirror else t
    return torch.rot90(t, -turns, (-2, -1)) if turns else t


@torch.no_grad()
def segmentation_probabilities(model: SurfsightModel, x: torch.Tensor, seg: torch.Tensor,
                               spacing: tuple[float, float], tta: bool, tile: int | None = None,
                               overlap: int | None = None) -> torch.Tensor:
    """Class probabilities (1, K, H, W) from the segmentation logits ``seg`` of ``x``; with
    ``tta`` averaged with those of every other symmetry transform of ``x``."""
    prob = seg.softmax(1)
    if not tta:
        return prob
    transforms = symmetry_transforms(spacing)
    for turns, mirror in transforms[1:]:
        other = forward_tiled(model, transform(x, turns, mirror), tile, overlap)[0]
        prob = prob + untransform(other.softmax(1), turns, mirror)
    return prob / len(transforms)


@torch.no_grad()
def global_outputs(model: SurfsightModel, m1: torch.Tensor, m2: torch.Tensor, scale: torch.Tensor,
                   passes: int = 16) -> dict[str, torch.Tensor]:
    """Global outputs in the transformed (unstandardised) target space with total standard
    deviations (aleatoric + MC-dropout epistemic); instrument logits averaged over passes.

    The MC-dropout passes use the same ``passes`` dropout masks for every sample (seed 0, drawn
    for one sample at a time), so a sample's outputs do not depend on the batch it comes in: the
    conformal calibration (batches of rows) and ``predict`` (one surface) see the same estimator.
    The process's random state is left as it was."""
    mc = passes > 1 and model.config.dropout > 0
    if mc and m1.shape[0] > 1:
        parts = [global_outputs(model, m1[i:i + 1], m2[i:i + 1], scale[i:i + 1], passes) for i in range(m1.shape[0])]
        return {k: torch.cat([part[k] for part in parts]) for k in parts[0]}
    was = model.training
    model.eval()
    det = model.head(m1, m2, scale)
    runs = []
    if mc:
        model.set_mc_dropout(True)
        try:
            with seeded(0, m1):
                runs = [model.head(m1, m2, scale) for _ in range(passes)]
        finally:
            model.set_mc_dropout(False)
    model.train(was)
    out: dict[str, torch.Tensor] = {}
    for key, which in (("parameters", "parameters"), ("uncertainty", "uncertainty")):
        mean_s, std_s = statistics(model.config, scale, which)
        if runs:
            means = torch.stack([r[key] for r in runs])
            mu = means.mean(0)
            epi = means.var(0)
            alea = torch.stack([torch.exp(r[key + "_logvar"]) for r in runs]).mean(0)
        else:
            mu, epi, alea = det[key], torch.zeros_like(det[key]), torch.exp(det[key + "_logvar"])
        out[key] = mu * std_s + mean_s
        out[key + "_std"] = torch.sqrt(alea + epi) * std_s
        out[key + "_epistemic"] = torch.sqrt(epi) * std_s
    out["instrument"] = torch.stack([r["instrument"] for r in runs]).mean(0) if runs else det["instrument"]
    return out


def temperature(model: SurfsightModel, mode: str) -> float:
    cal = model.metadata.get("calibration", {})
    return float(cal.get("temperature", {}).get(mode, 1.0))


def conformal_factor(model: SurfsightModel, mode: str, instrument: str, name: str) -> float:
    """Split-conformal multiplier of the predicted standard deviation (1.645 if uncalibrated)."""
    cal = model.metadata.get("calibration", {}).get("conformal", {}).get(mode, {})
    for group in (instrument, "all"):
        q = (cal.get(group) or {}).get(name)
        if q is not None and math.isfinite(q):
            return float(q)
    return 1.645


@dataclass
class Prediction:
    """What the model says about one surface (SI units)."""

    input: str
    classes: np.ndarray                     # (H, W) 0 background, 1 + index in KINDS
    probabilities: np.ndarray               # (K, H, W)
    reconstruction: np.ndarray              # (H, W) estimated true heights, metres (levelled)
    parameters: dict[str, dict[str, float]]  # name -> value, u, low90, high90
    measurement_uncertainty: dict[str, dict[str, float]]
    instrument: str
    instrument_probabilities: dict[str, float]
    defects: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "defects": self.defects, "parameters": self.parameters,
                "measurement_uncertainty": self.measurement_uncertainty,
                "instrument": {"class": self.instrument, "probabilities": self.instrument_probabilities}}


def parameter_intervals(model: SurfsightModel, g: dict[str, torch.Tensor], scale: torch.Tensor, mode: str,
                        instruments: list[str]) -> list[dict[str, dict[str, float]]]:
    """Per sample: value, standard uncertainty (transformed space) and calibrated 90 % interval."""
    ref, spacing = references(scale)
    res = []
    for i in range(scale.shape[0]):
        d = {}
        for j, name in enumerate(model.config.parameter_names):
            mu, sd = float(g["parameters"][i, j]), float(g["parameters_std"][i, j])
            q = conformal_factor(model, mode, instruments[i], name)
            r, s = float(ref[i]), float(spacing[i])
            lo, hi = from_target(name, mu - q * sd, r, s), from_target(name, mu + q * sd, r, s)
            value = from_target(name, mu, r, s)
            if name in BOUNDS:  # physical limits: Str in [0, 1], Sku >= 1
                a, b = BOUNDS[name]
                lo, hi, value = min(max(lo, a), b), max(min(hi, b), a), min(max(value, a), b)
            d[name] = {"value": float(value), "low90": float(lo), "high90": float(hi),
                       "u_transformed": sd}
        res.append(d)
    return res


def measurement_uncertainties(model: SurfsightModel, g: dict[str, torch.Tensor], scale: torch.Tensor
                              ) -> list[dict[str, dict[str, float]]]:
    ref, spacing = references(scale)
    out = []
    for i in range(scale.shape[0]):
        out.append({name: {"value": float(from_target("Sa", float(g["uncertainty"][i, j]), float(ref[i]), 0.0)),
                           "u_transformed": float(g["uncertainty_std"][i, j])}
                    for j, name in enumerate(model.config.uncertainty_names)})
    return out


def instances(classes: np.ndarray, heights: np.ndarray | None, spacing: tuple[float, float],
              kinds: tuple[str, ...], min_points: int = 6) -> list[dict[str, Any]]:
    """Defect instances (connected components per class) with geometry measured on ``heights``."""
    out = []
    dy, dx = spacing
    cell = dy * dx
    structure = np.ones((3, 3), bool)
    for k, kind in enumerate(kinds, start=1):
        labels, n = ndimage.label(classes == k, structure)
        if n == 0:
            continue
        for idx, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            pad = 4
            r0, r1 = max(0, sl[0].start - pad), min(classes.shape[0], sl[0].stop + pad)
            c0, c1 = max(0, sl[1].start - pad), min(classes.shape[1], sl[1].stop + pad)
            mask = labels[r0:r1, c0:c1] == idx
            count = int(mask.sum())
            if count < min_points:
                continue
            yy, xx = np.nonzero(mask)
            py, px = (yy + r0) * dy, (xx + c0) * dx
            if count > 1:
                evals, evecs = np.linalg.eigh(np.cov(np.vstack([px, py])))
                major = evecs[:, 1]
            else:
                major = np.array([1.0, 0.0])
            along = px * major[0] + py * major[1]
            across = -px * major[1] + py * major[0]
            rec: dict[str, Any] = {
                "kind": kind, "points": count,
                "center_m": [float(py.mean()), float(px.mean())],
                "length_m": float(np.ptp(along) + max(dy, dx)), "width_m": float(np.ptp(across) + max(dy, dx)),
                "area_m2": count * cell, "orientation_rad": float(math.atan2(major[1], major[0]) % math.pi),
                "depth_m": None, "sqrt_area_m": None,
            }
            if heights is not None:
                z = heights[r0:r1, c0:c1]
                ring = ndimage.binary_dilation(mask, structure, iterations=3) & ~mask & np.isfinite(z)
                inside = mask & np.isfinite(z)
                # a defect may lie wholly in a dropout (steep pit walls return no light): the model
                # infers it from its surroundings, but it has no depth; this says how many of its
                # points have a height (measured, or reconstructed from an image alone)
                rec["measured_points"] = int(inside.sum())
                if ring.any() and inside.any():
                    level = float(np.median(z[ring]))
                    deficit = np.clip(level - z, 0, None)
                    rec["depth_m"] = float(deficit[inside].max())
                    rec["height_m"] = float(np.clip(z[inside] - level, 0, None).max())
                    bins = np.floor((along - along.min()) / max(dy, dx) + 1e-6).astype(int)  # rounding-safe
                    per_bin = np.zeros(bins.max() + 1)
                    vals = np.where(np.isfinite(deficit[yy, xx]), deficit[yy, xx], 0.0)
                    np.maximum.at(per_bin, bins, vals)
                    rec["sqrt_area_m"] = float(math.sqrt(per_bin.sum() * max(dy, dx)))
            out.append(rec)
    return out


@torch.no_grad()
def predict(model: SurfsightModel, heights: np.ndarray | None = None, image: np.ndarray | None = None,
            spacing: float | tuple[float, float] = 1e-6, passes: int = 16, tile: int | None = None,
            overlap: int | None = None, tta: bool = False) -> Prediction:
    """Run the model on one surface of any size (heights in metres with NaN, and/or an image);
    ``tta`` averages the defect probabilities over the grid's symmetry transforms."""
    sp = tuple(np.broadcast_to(np.asarray(spacing, float), (2,)).tolist())
    h = None if heights is None else torch.from_numpy(np.asarray(heights, np.float64))[None]
    im = None if image is None else torch.from_numpy(np.asarray(image, np.float32))[None]
    x, scale = prepare_batch(h, im, torch.tensor([float(np.mean(sp))], dtype=torch.float64))
    model.eval()
    seg, rec, m1, m2 = forward_tiled(model, x, tile, overlap)
    mode = input_mode(scale)
    g = global_outputs(model, m1, m2, scale, passes)
    logits = g["instrument"][0] / temperature(model, mode)
    probs = logits.softmax(0).numpy()
    inst = model.config.instrument_classes[int(probs.argmax())]
    params = parameter_intervals(model, g, scale, mode, [inst])[0]
    mu = measurement_uncertainties(model, g, scale)[0]
    seg_prob = segmentation_probabilities(model, x, seg, sp, tta, tile, overlap)[0].numpy()
    classes = seg_prob.argmax(0).astype(np.uint8)
    ref, _ = references(scale)
    if mode == "image":
        recon = rec[0, 0].numpy() * params["Sq"]["value"]
    else:
        recon = rec[0, 0].numpy() * float(ref[0])
    if heights is not None:
        z = np.asarray(heights, np.float64)
        valid = np.isfinite(z)
        t = torch.from_numpy(z)[None]
        geometry_heights = np.where(valid, _level(t, torch.isfinite(t))[0].numpy(), np.nan)
    else:
        geometry_heights = recon
    defects = instances(classes, geometry_heights, sp, tuple(model.config.defect_classes[1:]))
    return Prediction(mode, classes, seg_prob, recon, params, mu, inst,
                      {c: float(p) for c, p in zip(model.config.instrument_classes, probs)}, defects)
