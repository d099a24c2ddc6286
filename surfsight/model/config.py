"""What a surfsight model is: its architecture, vocabularies and target transforms.

The configuration is a plain dataclass stored as JSON next to the weights (``model.json``), so a
saved model describes itself: input channels, widths, the defect classes (background first,
then :data:`surfsight.synth.KINDS`), the parameter names and the instrument classes.

Targets are learnt in a transformed space where they are roughly Gaussian and independent of
the absolute height scale (see :func:`to_target`):

* height-like parameters (Sa, Sq, Sz) and the measurement uncertainty: ``ln(P / r)`` with ``r``
  the reference height (the RMS of the levelled input heights, or the sampling distance when
  only an image is given);
* lateral lengths (Sal): ``ln(P / spacing)``;
* positive dimensionless values (Sdq, Sdr): ``ln(P)``;
* the rest (Ssk, Sku, Str): as they are.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..synth.defects import KINDS
from ..synth.instruments import INSTRUMENT_CLASSES
from ..synth.sample import LABEL_NAMES

#: How each parameter is transformed into the learnt target space.
TRANSFORMS = {"Sa": "height", "Sq": "height", "Sz": "height", "Sal": "lateral", "Sdq": "log", "Sdr": "log",
              "Ssk": "linear", "Sku": "linear", "Str": "linear"}

#: Tasks (heads) of the multi-task model.
TASKS = ("segmentation", "parameters", "uncertainty", "instrument", "reconstruction")


@dataclass
class ModelConfig:
    """Architecture and vocabularies of a :class:`~surfsight.model.network.SurfsightModel`."""

    in_channels: int = 5              # levelled heights, height detail, validity, image, image presence
    scale_features: int = 24          # global scale features passed next to the normalised input (data.N_SCALE)
    base_channels: int = 16
    depth: int = 4                    # encoder levels (depth - 1 down-samplings by 2)
    max_channels: int = 128
    head_hidden: int = 128
    head_shared: int = 2              # of the head's two hidden layers, how many the global tasks share (see network)
    dropout: float = 0.1              # in the global head: MC dropout for the epistemic part
    defect_classes: tuple[str, ...] = ("background", *KINDS)
    parameter_names: tuple[str, ...] = LABEL_NAMES
    uncertainty_names: tuple[str, ...] = ("Sa", "Sq")
    instrument_classes: tuple[str, ...] = INSTRUMENT_CLASSES
    tile: int = 128                   # training patch size and inference tile
    height_decoder: bool = False      # a second decoder for inputs without an image (see network)
    reconstruction_block: bool = False  # a residual block of its own before the reconstruction head (see network)
    context_dilations: tuple[int, ...] = ()  # dilated context block on the coarsest level (see network); () none
    tasks: tuple[str, ...] = TASKS
    # per-target standardisation in the transformed space (set from training data)
    target_mean: list[float] = field(default_factory=list)
    target_std: list[float] = field(default_factory=list)
    uncertainty_mean: list[float] = field(default_factory=list)
    uncertainty_std: list[float] = field(default_factory=list)
    image_target_mean: list[float] = field(default_factory=list)   # the same for image-only input
    image_target_std: list[float] = field(default_factory=list)
    image_uncertainty_mean: list[float] = field(default_factory=list)
    image_uncertainty_std: list[float] = field(default_factory=list)

    @property
    def channels(self) -> list[int]:
        return [min(self.base_channels * 2 ** i, self.max_channels) for i in range(self.depth)]

    @property
    def multiple(self) -> int:
        """Input sides must be a multiple of this (the total down-sampling)."""
        return 2 ** (self.depth - 1)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for k, v in d.items():
            if k not in known:
                continue
            kwargs[k] = tuple(v) if isinstance(v, list) and "tuple" in str(known[k].type) else v
        return cls(**kwargs)


def to_target(name: str, value: float, reference: float, spacing: float) -> float:
    """Transform a physical value (SI) into the learnt space; NaN if undefined."""
    kind = TRANSFORMS.get(name, "linear")
    if not math.isfinite(value):
        return math.nan
    if kind == "height":
        return math.log(value / reference) if value > 0 else math.nan
    if kind == "lateral":
        return math.log(value / spacing) if value > 0 else math.nan
    if kind == "log":
        return math.log(value) if value > 0 else math.nan
    return float(value)


def from_target(name: str, t, reference, spacing):
    """Inverse of :func:`to_target` (works on floats and NumPy arrays)."""
    import numpy as np

    kind = TRANSFORMS.get(name, "linear")
    if kind == "height":
        return np.exp(t) * reference
    if kind == "lateral":
        return np.exp(t) * spacing
    if kind == "log":
        return np.exp(t)
    return t
