"""Instrument signatures: noise floor, resolution, spikes and line offsets measured on a scan.

These global descriptors ride next to the network's pooled features (scale features 11-23, see
:mod:`surfsight.model.data`). They are what a metrologist reads off a scan to judge the
instrument and how much of the measured texture is noise, and they are cheap and exact on
surfaces of any size, where a convolutional trunk trained on small tiles only sees them
indirectly:

* **Noise floor by autocovariance extrapolation.** White measurement noise adds its variance
  to the autocovariance at lag 0 only; the texture's autocovariance is continuous there. The
  texture's value at lag 0 is extrapolated from lags 1-3 (linear: ``2 C1 - C2``; quadratic:
  ``3 C1 - 3 C2 + C3``) and the excess of ``C0`` over it is the noise variance: the zero-lag
  extrapolation of single-image signal-to-noise estimation (Thong, Sim & Phang, Scanning 23
  (2001) 328-336). The quadratic form is exact for autocovariances linear (fractal, cusped) or
  quadratic (smooth) at the origin; its error from higher-order terms sets the smallest noise
  it resolves, a few per cent of the RMS height for textures correlated over a few points.
* **Lateral resolution.** The lag-1 and lag-2 correlation coefficients along each axis: an
  optical transfer or a stylus tip blurs, raising them; noise lowers them.
* **Spikes.** The share of points whose departure from their 3x3 neighbourhood mean exceeds
  ten robust standard deviations (from the median absolute deviation) and is the largest in
  its own 3x3 neighbourhood (a spike shifts its neighbours' means too).
* **Line offsets.** The variance of the second difference of the row (column) means: a
  scanning instrument's line-to-line offsets (AFM drift, stylus re-positioning) show in one
  direction only.
* **Robust height spread.** ``1.4826 MAD`` over the RMS, which falls when a few deep defects
  or spikes inflate the RMS (the true texture parameters exclude defects).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Names of the signature features, in the order :func:`signatures` returns them.
SIGNATURE_NAMES = (
    "noise_linear_x", "noise_linear_y", "noise_quadratic_x", "noise_quadratic_y", "noise_floor",
    "spike_share", "robust_spread", "rho1_x", "rho1_y", "rho2_x", "rho2_y", "line_offset_rows",
    "line_offset_cols",
)
N_SIGNATURES = len(SIGNATURE_NAMES)
NANOMETRE = 1e-9


def _lag_covariances(z: torch.Tensor, valid: torch.Tensor, axis: int, lags: int = 3) -> torch.Tensor:
    """Autocovariances C(0..lags) along ``axis`` (2 = x, 1 = y) over valid pairs, (B, lags + 1)."""
    w = valid.to(z.dtype)
    out = []
    for k in range(lags + 1):
        if k == 0:
            a, b, wa = z, z, w
        elif k >= z.shape[axis]:
            out.append(torch.zeros(z.shape[0], dtype=z.dtype, device=z.device))
            continue
        else:
            a, b = z.narrow(axis, 0, z.shape[axis] - k), z.narrow(axis, k, z.shape[axis] - k)
            wa = w.narrow(axis, 0, w.shape[axis] - k) * w.narrow(axis, k, w.shape[axis] - k)
        out.append((a * b * wa).sum(dim=(1, 2)) / wa.sum(dim=(1, 2)).clamp(min=1))
    return torch.stack(out, dim=1)


def _line_offsets(z: torch.Tensor, valid: torch.Tensor, axis: int) -> torch.Tensor:
    """Mean square second difference of the line means along ``axis`` (1: rows, 2: columns)."""
    w = valid.to(z.dtype)
    means = (z * w).sum(dim=axis) / w.sum(dim=axis).clamp(min=1)          # (B, lines)
    if means.shape[1] < 3:
        return torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    d2 = means[:, 2:] - 2 * means[:, 1:-1] + means[:, :-2]
    return (d2 ** 2).mean(dim=1) / 6.0  # var of a second difference of white offsets is 6 sigma^2


def signatures(z: torch.Tensor, valid: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Signature features (B, :data:`N_SIGNATURES`) float32 of levelled heights.

    Parameters
    ----------
    z
        (B, H, W) levelled heights in metres (float64), any value where not valid.
    valid
        (B, H, W) bool, measured points.
    sigma
        (B,) RMS of the levelled valid heights, metres (the reference height ``r``).
    """
    b = z.shape[0]
    zn = torch.where(valid, z / sigma[:, None, None], torch.zeros_like(z))
    w = valid.to(z.dtype)
    # spikes: departure from the 3x3 neighbourhood mean against its robust spread
    pad = F.pad(zn[:, None], (1, 1, 1, 1), mode="replicate")
    wpad = F.pad(w[:, None], (1, 1, 1, 1), mode="replicate")
    local = F.avg_pool2d(pad, 3, stride=1)[:, 0] / F.avg_pool2d(wpad, 3, stride=1)[:, 0].clamp(min=1e-9)
    dev = torch.where(valid, (zn - local).abs(), torch.full_like(zn, float("nan"))).reshape(b, -1)
    mad = torch.nanmedian(dev, dim=1).values.clamp(min=1e-12)
    # a spike also shifts its neighbours' local means: count only the peak of each 3x3 cluster
    peak = F.max_pool2d(torch.nan_to_num(dev, nan=0.0).reshape(zn.shape)[:, None], 3, stride=1, padding=1)
    spikes = (dev > 10 * 1.4826 * mad[:, None]) & torch.isfinite(dev) & (dev >= peak.reshape(b, -1))
    n = w.reshape(b, -1).sum(dim=1).clamp(min=1)
    spike_share = spikes.sum(dim=1) / n
    clean = valid & ~spikes.reshape(valid.shape)
    # robust spread of the heights
    zv = torch.where(valid, zn, torch.full_like(zn, float("nan"))).reshape(b, -1)
    med = torch.nanmedian(zv, dim=1).values
    spread = 1.4826 * torch.nanmedian((zv - med[:, None]).abs(), dim=1).values
    feats = []
    noise_rel = []
    rho = []
    for axis in (2, 1):
        c = _lag_covariances(zn, clean, axis)
        c0 = c[:, 0].clamp(min=1e-12)
        lin = c[:, 0] - (2 * c[:, 1] - c[:, 2])
        quad = c[:, 0] - (3 * c[:, 1] - 3 * c[:, 2] + c[:, 3])
        noise_rel.append((lin.clamp(min=1e-8 * c0), quad.clamp(min=1e-8 * c0)))
        rho.append((c[:, 1] / c0, c[:, 2] / c0))
    (lx, qx), (ly, qy) = noise_rel
    for v in (lx, ly, qx, qy):
        feats.append(torch.log(torch.sqrt(v)) / 3)                           # ln(noise / r) / 3
    floor = torch.sqrt(0.5 * (qx + qy)) * sigma  # the quadratic form is exact for cusped and smooth ACFs
    feats.append(torch.log(floor.clamp(min=1e-15) / NANOMETRE) / 3)         # absolute, ln(nm) / 3
    feats.append(torch.log(spike_share + 1e-5) / 3)
    feats.append(torch.log(spread.clamp(min=1e-6)))
    feats.extend([rho[0][0], rho[1][0], rho[0][1], rho[1][1]])
    feats.append(torch.log(_line_offsets(zn, clean, 2) + 1e-12) / 6)        # offsets between rows
    feats.append(torch.log(_line_offsets(zn, clean, 1) + 1e-12) / 6)        # offsets between columns
    out = torch.stack(feats, dim=1)
    return torch.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).float()
