"""The network: a residual U-Net with dense heads and a global head.

* Encoder: a 3x3 stem, then ``depth`` levels of residual blocks (two 3x3 convolutions with
  batch normalisation and SiLU, identity or 1x1 shortcut; He et al., CVPR 2016), each level
  after the first entered by a stride-2 convolution. :meth:`SurfsightModel.encode` returns the
  level outputs, finest first.
* Decoder: U-Net style (Ronneberger et al., MICCAI 2015): bilinear up-sampling, concatenation
  with the encoder level, a residual block. Two 1x1 heads on the finest decoder level: defect
  segmentation logits (background + :data:`surfsight.synth.KINDS`) and the reconstructed true
  height map (in units of the reference height).
* Reconstruction block (``config.reconstruction_block``): the reconstruction reads the decoder
  through a residual block of its own, a task-specific tower on the shared decoder (as the
  global head's ``head_shared`` does for the global tasks); the segmentation reads it directly.
* Height decoder (``config.height_decoder``): a second decoder of the same shape, with its own
  dense heads, for inputs that carry no image (height maps alone); the first then serves inputs
  with an image (image alone, or heights and image). A shared decoder trades one input against
  the other: refitted on height maps alone it gained 0.05 height mIoU and lost the image masks
  entirely (docs/model.md), so each gets its own. The route is read from the input's
  image-presence channel, sample by sample.
* Context block (``config.context_dilations``, e.g. ``(2, 4, 8)``): parallel dilated 3x3
  convolutions on the coarsest encoder level, concatenated and projected back onto it as a
  residual (atrous spatial pyramid pooling without its image-pooling branch, Chen et al.,
  "Rethinking atrous convolution", arXiv 1706.05587, 2017; no image pooling, so a crop and a
  whole tile see context of the same physical size). It widens the receptive field of every
  output pixel by ``2 x 2^(depth-1) x max(dilations)`` pixels (128 at depth 4 with 8) for a few
  per cent of the compute. Its projection starts at zero, so adding it to a trained network
  (:meth:`SurfsightModel.add_context`, fine-tuning) leaves every output as it was.
* Global head: mean and standard deviation of every encoder level over the whole surface
  (pooled statistics, so a surface larger than a tile is summarised exactly tile by tile),
  concatenated with the scale features, then an MLP with dropout (kept on at inference for MC
  dropout, Gal & Ghahramani, ICML 2016) giving the parameters (mean and log-variance,
  standardised transformed space), the measurement uncertainty of Sa and Sq (same) and the
  instrument logits. The MLP has two hidden layers; ``config.head_shared`` says how many of
  them the three global tasks share (2: one MLP for all, 1: a shared layer and then a hidden
  layer per task, 0: an MLP per task). Hard parameter sharing up to a point, then task-specific
  towers, is the usual remedy when tasks compete for a shared layer's capacity (Ruder, "An
  overview of multi-task learning in deep neural networks", 2017, sec. 3.1; Misra et al.,
  "Cross-stitch networks", CVPR 2016, measured where to split); docs/model.md measures it here.

The convolution weights are kept channels-last (NHWC): oneDNN on CPUs (and cuDNN on GPUs) run these
convolutions faster in that layout, whatever the input's. On two cores: fine-tuning on 256 x 256
images 1.47 times faster (docs/realdata.md), ``predict`` from heights 1.07 times at 256 x 256 and
1.20 times at 1024 x 1024 (``benchmarks/bench_model.py``, against the same weights contiguous).
Dense outputs are then channels-last too; the values are the same up to the summation order.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig


class ResBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and SiLU, plus a shortcut."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.silu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.silu(y + self.skip(x))


class Down(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.block = ResBlock(cout, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(F.silu(self.bn(self.conv(x))))


class Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.reduce = nn.Conv2d(cin, cskip, 1, bias=False)
        self.block = ResBlock(2 * cskip, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.reduce(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(torch.cat([x, skip], dim=1))


class Context(nn.Module):
    """Parallel dilated 3x3 convolutions (half the channels each, batch norm, SiLU), concatenated,
    then a 1x1 projection added to the input; the projection is initialised to zero."""

    def __init__(self, channels: int, dilations: tuple[int, ...]):
        super().__init__()
        width = max(channels // 2, 1)
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Conv2d(channels, width, 3, padding=d, dilation=d, bias=False),
                          nn.BatchNorm2d(width), nn.SiLU()) for d in dilations])
        self.project = nn.Conv2d(width * len(dilations), channels, 1)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(torch.cat([branch(x) for branch in self.branches], dim=1))


class SurfsightModel(nn.Module):
    """Multi-task surface model. ``forward(x, scale)`` returns a dict of outputs:

    ``segmentation`` (B, 1 + len(KINDS), H, W) logits; ``reconstruction`` (B, 1, H, W);
    ``parameters`` and ``parameters_logvar`` (B, P) standardised transformed space;
    ``uncertainty`` and ``uncertainty_logvar`` (B, 2); ``instrument`` (B, n_instruments) logits.
    """

    def __init__(self, config: ModelConfig | None = None, metadata: dict[str, Any] | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.metadata: dict[str, Any] = dict(metadata or {})
        c = self.config.channels
        self.stem = nn.Sequential(nn.Conv2d(self.config.in_channels, c[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c[0]), nn.SiLU(), ResBlock(c[0], c[0]))
        self.down = nn.ModuleList([Down(c[i - 1], c[i]) for i in range(1, len(c))])
        self.context = Context(c[-1], tuple(self.config.context_dilations)) if self.config.context_dilations else None
        self.up = nn.ModuleList([Up(c[i], c[i - 1], c[i - 1]) for i in range(len(c) - 1, 0, -1)])
        self.segment = nn.Conv2d(c[0], len(self.config.defect_classes), 1)
        self.reconstruct = self._reconstruction_head(c[0])
        if self.config.height_decoder:
            self.height_up = nn.ModuleList([Up(c[i], c[i - 1], c[i - 1]) for i in range(len(c) - 1, 0, -1)])
            self.height_segment = nn.Conv2d(c[0], len(self.config.defect_classes), 1)
            self.height_reconstruct = self._reconstruction_head(c[0])
        pooled = 2 * sum(c) + self.config.scale_features
        hidden = self.config.head_hidden
        shared = self.config.head_shared
        if shared not in (0, 1, 2):
            raise ValueError(f"ModelConfig.head_shared must be 0, 1 or 2 (of the head's two hidden layers), got {shared!r}")
        widths = [pooled, hidden, hidden]
        self.trunk = self._mlp(widths[:shared + 1])
        # task-specific hidden layers after the shared ones (empty, i.e. the identity, when the head is wholly shared)
        self.tower_parameters = self._mlp(widths[shared:])
        self.tower_uncertainty = self._mlp(widths[shared:])
        self.tower_instrument = self._mlp(widths[shared:])
        n_p, n_u = len(self.config.parameter_names), len(self.config.uncertainty_names)
        self.out_parameters = nn.Linear(hidden, 2 * n_p)
        self.out_uncertainty = nn.Linear(hidden, 2 * n_u)
        self.out_instrument = nn.Linear(hidden, len(self.config.instrument_classes))
        self.to(memory_format=torch.channels_last)
        self.eval()

    def _reconstruction_head(self, channels: int) -> nn.Module:
        """The 1x1 reconstruction head, after a residual block of its own with
        ``config.reconstruction_block`` (a task-specific tower on the shared decoder)."""
        conv = nn.Conv2d(channels, 1, 1)
        return nn.Sequential(ResBlock(channels, channels), conv) if self.config.reconstruction_block else conv

    def _mlp(self, widths: list[int]) -> nn.Sequential:
        """Linear, SiLU, dropout for each consecutive pair of ``widths`` (empty: the identity)."""
        layers: list[nn.Module] = []
        for cin, cout in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(cin, cout), nn.SiLU(), nn.Dropout(self.config.dropout)]
        return nn.Sequential(*layers)

    # --- pieces ---------------------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Multi-scale encoder features, finest first (input from :meth:`prepare`)."""
        feats = [self.stem(x)]
        for down in self.down:
            feats.append(down(feats[-1]))
        if self.context is not None:
            feats[-1] = self.context(feats[-1])
        return feats

    def add_context(self, dilations: tuple[int, ...]) -> None:
        """Give a network without one a context block (see the module docstring) whose projection is
        zero, so that every output stays as it was until the block is trained; the configuration
        records it, so the saved model is rebuilt with it."""
        from dataclasses import replace

        if self.context is not None:
            raise ValueError(f"this network already has a context block (dilations {self.config.context_dilations})")
        dilations = tuple(int(d) for d in dilations)
        if not dilations or min(dilations) < 1:
            raise ValueError(f"context dilations must be positive integers, got {dilations}")
        device = next(self.parameters()).device
        self.context = Context(self.config.channels[-1], dilations).to(device, memory_format=torch.channels_last)
        self.context.train(self.training)
        self.config = replace(self.config, context_dilations=dilations)

    @staticmethod
    def has_image(x: torch.Tensor) -> torch.Tensor:
        """(B,) bool: which inputs carry an image (the image-presence channel of :meth:`prepare`)."""
        return x[:, 4].flatten(1).amax(dim=1) > 0.5

    def decoder(self, heights: bool = False) -> tuple[nn.ModuleList, nn.Module, nn.Module]:
        """(up-sampling blocks, segmentation head, reconstruction head) of the general decoder, or
        with ``heights`` of the height decoder."""
        if heights:
            return self.height_up, self.height_segment, self.height_reconstruct
        return self.up, self.segment, self.reconstruct

    def decoders(self) -> list[nn.Module]:
        """Every decoder module with its dense heads (the general decoder first)."""
        return [*self.decoder(), *(self.decoder(heights=True) if self.config.height_decoder else ())]

    def decode(self, feats: list[torch.Tensor], has_image: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Dense outputs from encoder features. With a height decoder, ``has_image`` ((B,) bool,
        :meth:`has_image` of the input) routes each sample: with an image through the general
        decoder, without one through the height decoder."""
        if not self.config.height_decoder:
            return self._decode(feats, *self.decoder())
        if has_image is None:
            raise ValueError("SurfsightModel.decode: this model has a height decoder; pass has_image "
                             "(SurfsightModel.has_image(x))")
        tracing = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
        if not tracing and bool(has_image.all()):
            return self._decode(feats, *self.decoder())
        if not tracing and not bool(has_image.any()):
            return self._decode(feats, *self.decoder(heights=True))
        # a batch mixing both kinds of input (and any exported graph): both decoders, picked per sample
        general = self._decode(feats, *self.decoder())
        heights = self._decode(feats, *self.decoder(heights=True))
        pick = has_image.view(-1, 1, 1, 1)
        return {k: torch.where(pick, general[k], heights[k]) for k in general}

    def segment_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Only the segmentation logits of :meth:`forward` (the same values): encoder and decoder,
        without the global head, which needs no scale features and costs a tenth of a training step
        (its pooled moments) where only the masks are learnt (fine-tuning on real images)."""
        return self.decode(self.encode(x), self.has_image(x))["segmentation"]

    @staticmethod
    def _decode(feats: list[torch.Tensor], up: nn.ModuleList, segment: nn.Module, reconstruct: nn.Module
                ) -> dict[str, torch.Tensor]:
        y = feats[-1]
        for k, block in enumerate(up):
            y = block(y, feats[-2 - k])
        return {"segmentation": segment(y), "reconstruction": reconstruct(y)}

    @staticmethod
    def moments(feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Spatial first and second moments of each level, concatenated: (B, sum C) each."""
        m1 = torch.cat([f.mean(dim=(2, 3)) for f in feats], dim=1)
        m2 = torch.cat([(f * f).mean(dim=(2, 3)) for f in feats], dim=1)
        return m1, m2

    def head(self, m1: torch.Tensor, m2: torch.Tensor, scale: torch.Tensor) -> dict[str, torch.Tensor]:
        """The global outputs from pooled moments and the scale features."""
        std = torch.sqrt((m2 - m1 * m1).clamp(min=0) + 1e-6)
        # a model trained with fewer scale features reads the leading ones (same order)
        h = self.trunk(torch.cat([m1, std, scale[:, :self.config.scale_features].to(m1.dtype)], dim=1))
        n_p, n_u = len(self.config.parameter_names), len(self.config.uncertainty_names)
        p = self.out_parameters(self.tower_parameters(h))
        u = self.out_uncertainty(self.tower_uncertainty(h))
        return {"parameters": p[:, :n_p], "parameters_logvar": p[:, n_p:].clamp(-12, 8),
                "uncertainty": u[:, :n_u], "uncertainty_logvar": u[:, n_u:].clamp(-12, 8),
                "instrument": self.out_instrument(self.tower_instrument(h))}

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if scale is None:
            scale = getattr(x, "scale", None)
            if scale is None:
                raise ValueError("SurfsightModel: pass the scale features (model.prepare attaches them as x.scale)")
        feats = self.encode(x)
        out = self.decode(feats, self.has_image(x))
        out.update(self.head(*self.moments(feats), scale))
        return out

    def prepare(self, heights=None, image=None, spacing=1e-6) -> torch.Tensor:
        """Level and normalise one surface (see :func:`surfsight.model.data.prepare`)."""
        from .data import prepare

        x = prepare(heights, image, spacing)
        return x

    def global_head_modules(self) -> list[nn.Module]:
        """The modules of the global head: the shared hidden layers, the per-task ones and the outputs."""
        return [self.trunk, self.tower_parameters, self.tower_uncertainty, self.tower_instrument,
                self.out_parameters, self.out_uncertainty, self.out_instrument]

    def set_mc_dropout(self, on: bool) -> None:
        """Keep the head's dropout active in eval mode (MC dropout) or not."""
        for m in (layer for module in self.global_head_modules() for layer in module.modules()):
            if isinstance(m, nn.Dropout):
                m.train(on)
