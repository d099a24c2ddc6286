"""From real images to the surfsight model and back: loading sets, model input, defect probability.

How images meet the model (:mod:`surfsight.model`, 5 input channels: heights, height detail,
validity, image, image presence):

* a photograph (grey or colour, any size) is read as grey levels in [0, 1] (colour becomes
  luminance, ITU-R BT.601 weights) and given as the *image* input of
  :func:`surfsight.model.data.prepare_batch` (standardised per image, heights absent), with a
  nominal sampling distance :data:`NOMINAL_SPACING` (a photograph has none; only the global head
  uses it, not the segmentation);
* a height map (any format :func:`surfsight.read` knows) is given as the *heights* input with its
  own sampling distance.

Every image is resized (bilinear, antialiased) to the working size of the model (256 x 256 unless
the model says otherwise) and masks are thresholded, then resized (nearest). The defect probability
of a pixel is ``1 - P(background)`` of the segmentation head, i.e. the defect logit is
``logsumexp(defect logits) - background logit``: a model fine-tuned for "defect vs background"
keeps the head of the shipped model, so it stays usable everywhere the default one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import FormatError, InputError
from .pairs import PHOTO_SUFFIXES, Pair, read_image, read_mask

#: Sampling distance given to the model for photographs (which carry none), in metres.
NOMINAL_SPACING = 10e-6
#: Working size of models that do not record one (the fixed magnetic-tile rule).
DEFAULT_SIZE = (256, 256)


@dataclass
class ImageSet:
    """Images resized to one working size, as tensors: ``images`` (N, 1, H, W) in [0, 1] or heights
    (normalised later by the model), ``masks`` (N, 1, H, W) float {0, 1}, and where they came from."""

    images: "object"
    masks: "object"
    paths: list[Path]
    kind: str                       # "image" or "heights"
    spacing: list[float]
    original_shapes: list[tuple[int, int]]


def model_api():
    """The module holding ``load_model`` / ``save_model`` (``surfsight.model``)."""
    import importlib

    module = importlib.import_module("surfsight.model")
    if not hasattr(module, "load_model"):   # package __init__ not written yet: the weights module has them
        module = importlib.import_module("surfsight.model.weights")
    return module


def is_photo(path: Path) -> bool:
    """JPEG/PNG/... or an 8-bit TIFF; float or 16/32-bit TIFFs are height maps."""
    from .pairs import _is_photo_tiff

    suffix = path.suffix.lower()
    return suffix in PHOTO_SUFFIXES or (suffix in (".tif", ".tiff") and _is_photo_tiff(path))


def load_one(path: str | Path) -> tuple[np.ndarray, str, float]:
    """``(array (rows, cols), kind, spacing)``: grey levels in [0, 1] for photographs, heights in
    metres (NaN = invalid) for height maps."""
    path = Path(path)
    if is_photo(path):
        return read_image(path, 1)[0], "image", NOMINAL_SPACING
    from .. import read
    from ..surface import Surface

    obj = read(path)
    if not isinstance(obj, Surface):
        raise FormatError(path, f"holds a {type(obj).__name__}, not an areal surface or image")
    return np.asarray(obj.heights, np.float64), "heights", float(np.mean(obj.spacing))


def resize(array: np.ndarray, size: tuple[int, int], mode: str = "bilinear") -> np.ndarray:
    """Resize a 2-D array to ``size = (rows, cols)``; NaN points stay NaN (validity resized too)."""
    import torch
    import torch.nn.functional as F

    a = np.asarray(array)
    if a.shape == tuple(size):
        return a.copy()
    if mode == "nearest":
        t = torch.from_numpy(a.astype(np.float32))[None, None]
        return F.interpolate(t, size=size, mode="nearest")[0, 0].numpy().astype(a.dtype)
    valid = np.isfinite(a)
    filled = np.where(valid, a, np.median(a[valid]) if valid.any() else 0.0).astype(np.float64)
    t = torch.from_numpy(filled)[None, None]
    out = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)[0, 0].numpy()
    if not valid.all():
        v = F.interpolate(torch.from_numpy(valid.astype(np.float64))[None, None], size=size, mode="bilinear",
                          align_corners=False, antialias=True)[0, 0].numpy()
        out = np.where(v >= 0.5, out, np.nan)
    return out


def load_set(pairs: Sequence[Pair], size: tuple[int, int] = DEFAULT_SIZE, threshold: float = 0.0) -> ImageSet:
    """Read and resize every pair; masks thresholded first (defect = value > threshold), then resized."""
    import torch

    if not pairs:
        raise InputError("no images to load")
    images, masks, kinds, spacing, shapes = [], [], set(), [], []
    for pair in pairs:
        array, kind, step = load_one(pair.image)
        mask = read_mask(pair.mask, threshold, shape=array.shape)
        images.append(resize(array, size))
        masks.append(resize(mask.astype(np.uint8), size, "nearest"))
        kinds.add(kind)
        spacing.append(step)
        shapes.append(array.shape)
    if len(kinds) > 1:
        raise InputError("the set mixes photographs and height maps; fine-tune on one kind of input at a time")
    return ImageSet(torch.from_numpy(np.stack(images).astype(np.float32))[:, None],
                    torch.from_numpy(np.stack(masks).astype(np.float32))[:, None],
                    [Path(p.image) for p in pairs], kinds.pop(), spacing, shapes)


def model_input(images, kind: str, spacing: float | Sequence[float]):
    """``(x, scale)`` for :class:`~surfsight.model.SurfsightModel` from (B, 1, H, W) images or heights."""
    import torch

    from ..model.data import prepare_batch

    b = images.shape[0]
    step = torch.as_tensor(np.broadcast_to(np.asarray(spacing, np.float64), (b,)).copy(), dtype=torch.float64)
    if kind == "image":
        return prepare_batch(None, images[:, 0], step)
    if kind == "heights":
        x, scale = prepare_batch(images[:, 0].double(), None, step.to(images.device))
        return x, scale
    raise InputError(f"unknown input kind {kind!r}")


def defect_logit(segmentation):
    """Defect-vs-background logit from the (B, 1 + K, H, W) segmentation logits: (B, 1, H, W)."""
    return segmentation[:, 1:].logsumexp(dim=1, keepdim=True) - segmentation[:, :1]


def working_size(model) -> tuple[int, int]:
    """The size a model was fine-tuned at (``metadata["realdata"]["size"]``), else :data:`DEFAULT_SIZE`."""
    size = (getattr(model, "metadata", {}) or {}).get("realdata", {}).get("size")
    return tuple(int(s) for s in size) if size else DEFAULT_SIZE


def _padding(model, rows: int, cols: int) -> tuple[int, int]:
    """Rows and columns to add so that the network can halve the input at every level."""
    multiple = getattr(model.config, "multiple", 8)
    return (-rows) % multiple, (-cols) % multiple


def tta_views(model, shape: tuple[int, int] | None = None) -> list[tuple[int, bool]]:
    """The test-time views of a fine-tuned model for inputs of ``shape`` (rows, cols; default its
    working size), as (quarter turns, mirror) pairs of :func:`surfsight.model.infer.transform`:
    the symmetries it was trained with (``metadata["realdata"]["augment"]``: left-right flips;
    up-down flips; quarter turns, where the padded input is square). ``(0, False)``, the image as
    it is, comes first. A model with no fine-tuning record is read as it is only.

    Averaging the defect probability over views a model was trained to treat alike is the usual
    test-time augmentation (e.g. Moshkov et al., Sci. Rep. 2020). On the magnetic tiles (50 labels,
    three seeds, docs/realdata.md) the left-right mirror lifts the test IoU from 0.313 to 0.339 and
    the mean F1 from 0.26 to 0.30 (whole-tile training: 0.288 to 0.302, 0.27 to 0.32); up-down
    flips, which the default recipe never trains on, took a model's IoU from 0.269 (mirror alone)
    back to 0.256.
    """
    augment = (getattr(model, "metadata", {}) or {}).get("realdata", {}).get("augment") or {}
    rows, cols = shape or working_size(model)
    pad_rows, pad_cols = _padding(model, rows, cols)
    if augment.get("rotate90") and rows + pad_rows == cols + pad_cols:
        turns = (0, 1, 2, 3)
    elif augment.get("vflip"):
        turns = (0, 2)            # an up-down flip is a half turn and a left-right mirror
    else:
        turns = (0,)
    mirrors = (False, True) if augment.get("flip") or len(turns) > 1 else (False,)
    return [(k, m) for k in turns for m in mirrors]


def predict(model, images, kind: str, spacing, batch: int = 8, device: str = "cpu", tta: bool = True):
    """Defect probability maps (N, H, W) float32 NumPy for (N, 1, H, W) inputs at the working size;
    with ``tta`` the mean over the model's :func:`tta_views`."""
    import torch

    from ..model.infer import transform, untransform

    model.eval()
    out = []
    h, w = images.shape[-2:]
    ph, pw = _padding(model, h, w)
    spacing = np.broadcast_to(np.asarray(spacing, np.float64), (images.shape[0],))
    views = tta_views(model, (h, w)) if tta else [(0, False)]
    with torch.no_grad():
        for start in range(0, images.shape[0], batch):
            chunk = images[start:start + batch].to(device)
            x, _ = model_input(chunk, kind, spacing[start:start + batch])
            if ph or pw:
                x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
            total = 0.0
            for turns, mirror in views:
                seg = untransform(model.segment_logits(transform(x, turns, mirror)), turns, mirror)
                seg = seg[..., :h, :w]
                total = total + torch.sigmoid(defect_logit(seg.float()))[:, 0]
            out.append((total / len(views)).cpu().numpy())
    return np.concatenate(out)
