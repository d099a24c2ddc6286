"""Fit the simulator to a real scan and make look-alikes ("twins").

:func:`fit_texture` levels the scan by a least-squares plane and measures what
:func:`surfsight.synth.texture` takes as targets, with :mod:`surfsight.metrology`:

* ``Sq``, ``Ssk``, ``Sku`` (height distribution), ``Sal``, ``Str``, ``Std`` (ACF and angular
  spectrum, ISO 25178-2 4.3);
* the ACF model, Gaussian or exponential: the ratio of the ACF decay lengths at s = 0.5 and
  s = 0.2 is ``sqrt(ln 2 / ln 5) = 0.66`` for a Gaussian and ``ln 2 / ln 5 = 0.43`` for an
  exponential ACF; the nearer one is chosen;
* the Hurst exponent ``H`` from the slope of the radially averaged PSD between the roll-off and
  a quarter of the Nyquist frequency, ``C(q) ∝ q^-2(1+H)`` (Jacobs et al. 2017).

When the ACF does not decay within half the field (Sal undefined) the twin is a fractal with the
fitted Hurst exponent; when only Str is undefined (a strong lay) the twin's Str is the largest
one the field can show. :func:`twin` then generates a look-alike with the same size and spacing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..surface import Surface
from .texture import texture

#: Decay-length ratio L(0.5)/L(0.2) of the two ACF models.
_RATIO = {"gaussian": math.sqrt(math.log(2) / math.log(5)), "exponential": math.log(2) / math.log(5)}


@dataclass
class TextureFit:
    """Targets fitted to a scan (SI units; angles in radians)."""

    kind: str
    Sq: float
    Sal: float | None
    Str: float
    Std: float
    Ssk: float
    Sku: float
    hurst: float
    psd_slope: float
    measured: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hurst(surface: Surface) -> tuple[float, float]:
    """PSD slope and Hurst exponent from the radially averaged PSD (log-log least squares)."""
    from ..metrology import psd_radial

    f, c = psd_radial(surface)
    keep = (c > 0) & (f > 4 * f.min()) & (f < 0.25 * f.max())
    if keep.sum() < 4:
        keep = c > 0
    slope = float(np.polyfit(np.log(f[keep]), np.log(c[keep]), 1)[0])
    return slope, float(np.clip(-slope / 2 - 1, 0.05, 0.95))


def fit_texture(surface: Surface) -> TextureFit:
    """Level ``surface`` by a plane and estimate the texture targets (see the module notes)."""
    from ..metrology import autocorrelation, decay_lengths, level_plane, parameters

    if not isinstance(surface, Surface):
        raise InputError(f"synth fit needs a surface (height map), got a {type(surface).__name__}")
    levelled = level_plane(surface)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = parameters(levelled, ["Sq", "Sa", "Ssk", "Sku", "Sal", "Str", "Std", "Sdq"], on_error="nan")
    if not p["Sq"] > 0:
        raise InputError("synth fit: the scan is flat after levelling; nothing to fit")
    slope, hurst = _hurst(levelled)
    kind, Sal, Str = "gaussian", p["Sal"], p["Str"]
    extent = min(levelled.shape[0] * levelled.dy, levelled.shape[1] * levelled.dx)
    if math.isfinite(Sal):
        acf = autocorrelation(levelled)
        _, l5 = decay_lengths(acf, 0.5)
        _, l2 = decay_lengths(acf, 0.2)
        ok = np.isfinite(l5) & np.isfinite(l2) & (l2 > 0)
        ratio = float(np.median(l5[ok] / l2[ok])) if ok.any() else _RATIO["gaussian"]
        kind = min(_RATIO, key=lambda k: abs(_RATIO[k] - ratio))
        if not math.isfinite(Str):
            Str = float(min(1.0, Sal / (0.45 * extent)))
    else:
        kind, Sal, Str = "fractal", None, 1.0 if not math.isfinite(Str) else Str
    Ssk, Sku = p["Ssk"], p["Sku"]
    Sku = max(Sku, Ssk ** 2 + 1.05)  # keep the pair inside the feasible region
    Std = p["Std"] if math.isfinite(p["Std"]) else 0.0
    return TextureFit(kind, float(p["Sq"]), Sal, float(np.clip(Str, 0.02, 1.0)), float(Std), float(Ssk), float(Sku),
                      hurst, slope, {k: float(v) for k, v in p.items()})


def twin(surface: Surface, seed: int = 0, fitted: TextureFit | None = None) -> Surface:
    """A synthetic look-alike of ``surface`` (same grid), from :func:`fit_texture`."""
    f = fitted or fit_texture(surface)
    spacing = (surface.dy, surface.dx)
    common = dict(Sq=f.Sq, Str=f.Str, Std=f.Std, Ssk=f.Ssk, Sku=f.Sku)
    if f.kind == "fractal":
        out = texture(surface.shape, spacing, seed, "fractal", hurst=f.hurst, **common)
    else:
        out = texture(surface.shape, spacing, seed, f.kind, Sal=f.Sal, **common)
    out.metadata.update({"twin_of": surface.metadata.get("source_file") or surface.metadata.get("name"),
                         "fit": f.as_dict()})
    return out


def side_by_side(real: Surface, synthetic: Surface, path, titles=("real (plane levelled)", "synthetic twin")):
    """Write a PNG with the two height maps side by side on the same colour scale (µm)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..metrology import level_plane

    a = level_plane(real).heights * 1e6
    b = synthetic.heights * 1e6
    lo, hi = np.nanpercentile(np.concatenate([a[np.isfinite(a)], b.ravel()]), [0.5, 99.5])
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6), constrained_layout=True)
    for ax, z, s, title in zip(axes, (a, b), (real, synthetic), titles):
        extent = (0, z.shape[1] * s.dx * 1e6, z.shape[0] * s.dy * 1e6, 0)
        im = ax.imshow(z, cmap="viridis", vmin=lo, vmax=hi, extent=extent, interpolation="antialiased")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x (µm)", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=axes, shrink=0.85, label="height (µm)")
    fig.savefig(path, dpi=72)
    plt.close(fig)
    from PIL import Image

    with Image.open(path) as img:  # a 64-colour palette keeps the picture small
        small = img.convert("RGB").quantize(64)
    small.save(path, optimize=True)
    return path
