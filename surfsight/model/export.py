"""ONNX export of the network (dense and global outputs of one tile) with a parity check.

The exported graph takes ``x`` (B, 5, H, W) and ``scale`` (B, config.scale_features) as :func:`surfsight.model.data.prepare`
makes them (H, W multiples of ``config.multiple``; batch, height and width are dynamic) and
returns ``segmentation``, ``reconstruction``, ``parameters``, ``parameters_logvar``,
``uncertainty``, ``uncertainty_logvar`` and ``instrument``, the same tensors as
``SurfsightModel.forward``. Levelling, tiling, MC dropout and calibration stay in Python.
Needs ``onnx`` (and ``onnxruntime`` for the parity check).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .network import SurfsightModel

OUTPUTS = ("segmentation", "reconstruction", "parameters", "parameters_logvar", "uncertainty", "uncertainty_logvar",
           "instrument")


class _Wrapper(torch.nn.Module):
    def __init__(self, model: SurfsightModel):
        super().__init__()
        self.model = model

    def forward(self, x, scale):
        out = self.model(x, scale)
        return tuple(out[k] for k in OUTPUTS)


def export_onnx(model: SurfsightModel, path: str | os.PathLike, size: int | None = None, opset: int = 17) -> Path:
    """Write the model as ONNX to ``path`` (atomically). The model is exported in inference mode
    and left in the mode it came in (the exporter restores the mode of the module it is given,
    so that module is an evaluation-mode wrapper: a training-mode one would switch the model's
    batch normalisation to batch statistics afterwards)."""
    was_training = model.training
    model.eval()
    size = int(size or model.config.tile)
    x = torch.zeros(1, model.config.in_channels, size, size)
    scale = torch.zeros(1, model.config.scale_features)
    out = Path(path)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        torch.onnx.export(_Wrapper(model).eval(), (x, scale), str(tmp), input_names=["x", "scale"], output_names=list(OUTPUTS),
                          dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}, "scale": {0: "batch"},
                                        **{k: {0: "batch"} for k in OUTPUTS}},
                          opset_version=opset, dynamo=False)
        os.replace(tmp, out)
    except ImportError as exc:
        raise InputError(f"export: ONNX export needs the onnx package ({exc})") from None
    finally:
        model.train(was_training)
        tmp.unlink(missing_ok=True)  # a failed export leaves no partial file
    return out


def parity(model: SurfsightModel, path: str | os.PathLike, size: int = 64, seed: int = 0) -> dict[str, float]:
    """Largest absolute difference between PyTorch and ONNX Runtime per output on a random input."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise InputError("export: the parity check needs onnxruntime (pip install onnxruntime)") from None
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, model.config.in_channels, size, size, generator=g)
    x[:, 4] = torch.tensor([1.0, 0.0])[:, None, None]  # image-presence: one input with an image, one without
    scale = torch.randn(2, model.config.scale_features, generator=g)
    with torch.no_grad():
        ref = model.eval()(x, scale)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(list(OUTPUTS), {"x": x.numpy(), "scale": scale.numpy()})
    return {k: float(np.max(np.abs(ref[k].numpy() - v))) for k, v in zip(OUTPUTS, got)}
