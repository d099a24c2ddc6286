"""surfsight's deep-learning model: a multi-task residual U-Net trained on the simulator.

Needs PyTorch and safetensors (the ``model`` extra); nothing else in surfsight imports torch.

>>> from surfsight.model import load_model, predict          # doctest: +SKIP
>>> model = load_model()                                     # the shipped default weights
>>> result = predict(model, heights, spacing=1e-6)           # doctest: +SKIP

Contract used by fine-tuning and anomaly detection: :func:`load_model`, :func:`save_model`,
``model.prepare(heights, image, spacing)`` (levelled, normalised input with the scale features
attached as ``x.scale``), ``model.encode(x)`` (multi-scale features, finest first) and
``model(x, scale)`` (a dict of outputs; ``"segmentation"`` logits over background + KINDS).
"""

from __future__ import annotations

from .config import ModelConfig
from .infer import Prediction, predict
from .network import SurfsightModel
from .weights import load_model, save_model

__all__ = ["ModelConfig", "SurfsightModel", "load_model", "save_model", "predict", "Prediction"]
