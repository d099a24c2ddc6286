"""Semi-supervised fine-tuning: unlabelled images of the same parts teach through a mean teacher.

A plant has a few dozen labelled images and many more it never labelled. With 50 labelled
magnetic tiles the fine-tuned network fits its own tiles (IoU 0.76) far better than the other
train tiles (0.37): the gap is generalisation, which unlabelled images of the same parts can
narrow. The scheme:

* a **teacher** whose weights (and batch-norm statistics) are an exponential moving average of
  the student's (mean teacher: Tarvainen & Valpola, "Mean teachers are better role models",
  NeurIPS 2017), with the usual warm-up of the decay, ``min(decay, (1 + t) / (10 + t))``;
* on each step a batch of unlabelled crops next to the labelled ones: the teacher reads a weakly
  augmented view (the same flips and crop-and-resize as the labelled crops), the student a
  strongly augmented view of the same pixels (harsher brightness, contrast, gamma, blur and noise:
  :data:`STRONG`); the student learns the teacher's hard decision where the teacher is confident,
  ``|p - 0.5| >= confidence - 0.5`` (FixMatch: Sohn et al., NeurIPS 2020; for segmentation,
  French et al., "Semi-supervised semantic segmentation needs strong, varied perturbations",
  BMVC 2020), binary cross-entropy averaged over all unlabelled pixels, so a doubtful teacher
  teaches less;
* the unlabelled term is ramped in with ``exp(-5 (1 - t)^2)`` over the first ``ramp`` share of
  the steps (Laine & Aila, "Temporal ensembling for semi-supervised learning", ICLR 2017), since
  the teacher knows nothing of the new images at first;
* the teacher's weights are the result (an average of the late students).

Measured on the magnetic tiles (50 labels + 379 unlabelled, docs/realdata.md): IoU 0.387 against
0.340 at the same 5600 steps, but a step costs 2.3 times as much, and the supervised recipe given
that time (12950 steps) reaches 0.424. Hence an option, not the default.

Height maps have no photometric augmentation here, so for them the strong view equals the weak
one and the term is plain self-training on the teacher's confident pixels.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .augment import Augment, geometric, photometric
from .crops import sample_crops

#: at most this many unlabelled images are held (an evenly spread subset of more): 0.25 MB each at
#: 256 x 256, and a run of 5600 steps of 8 crops sees each of them about 22 times
MAX_UNLABELLED = 2000

#: the student's view of an unlabelled crop: the recipe's photometric ranges, roughly doubled
STRONG = Augment(brightness=0.25, contrast=0.6, gamma=0.6, blur=0.5, noise=0.6)


class MeanTeacher:
    """An exponential moving average of a student network, kept in evaluation mode."""

    def __init__(self, student, decay: float = 0.99):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"mean teacher: decay must be in [0, 1), got {decay}")
        self.model = copy.deepcopy(student).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay = float(decay)
        self.updates = 0

    def rate(self) -> float:
        """Decay of the next update: ``min(decay, (1 + t) / (10 + t))`` after ``t`` updates."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    def update(self, student) -> None:
        """Move every weight and floating batch-norm statistic towards the student's."""
        import torch

        d = self.rate()
        with torch.no_grad():
            torch._foreach_lerp_(list(self.model.parameters()), [p.detach() for p in student.parameters()], 1.0 - d)
            for t, s in zip(self.model.buffers(), student.buffers()):
                if t.dtype.is_floating_point:
                    t.lerp_(s, 1.0 - d)
                else:
                    t.copy_(s)
        self.updates += 1


def ramp(position: float, steps: int, fraction: float) -> float:
    """Weight of the unlabelled term at step ``position`` of ``steps``: ``exp(-5 (1 - t)^2)`` with
    ``t = position / (fraction * steps)`` clipped to [0, 1] (1.0 throughout when ``fraction`` is 0)."""
    if fraction <= 0:
        return 1.0
    t = min(1.0, max(0.0, position / (fraction * max(steps, 1))))
    return math.exp(-5.0 * (1.0 - t) ** 2)


def views(images, kind: str, spacing, crop: int, rng: np.random.Generator, augment: Augment,
          strong: Augment = STRONG):
    """(weak, strong) model inputs of the same random crops of unlabelled ``images`` (B, 1, H, W).

    Both views are normalised whole (as at inference), then cropped and flipped together; only
    the photometric perturbation differs (images only)."""
    import torch

    from .inputs import model_input

    xw, _ = model_input(images, kind, spacing)
    xs = model_input(photometric(images, rng, strong), kind, spacing)[0] if kind == "image" else xw
    c = xw.shape[1]
    blank = torch.zeros_like(xw[:, :1])
    both, _ = sample_crops(torch.cat([xw, xs], 1), blank, crop, 0.0, rng)
    both, _ = geometric(both, torch.zeros_like(both[:, :1]), rng, augment)
    return both[:, :c].contiguous(), both[:, c:].contiguous()


def pseudo_label_loss(student_logit, teacher_logit, confidence: float):
    """(loss, kept share): BCE of the student's defect logits against the teacher's decisions on
    pixels where the teacher's probability is at least ``confidence`` either way, averaged over
    all pixels."""
    import torch
    import torch.nn.functional as F

    if not 0.5 <= confidence <= 1.0:
        raise ValueError(f"pseudo labels: confidence must be in [0.5, 1], got {confidence}")
    p = torch.sigmoid(teacher_logit.float())
    target = (p > 0.5).float()
    keep = ((p - 0.5).abs() >= confidence - 0.5).float()
    bce = F.binary_cross_entropy_with_logits(student_logit.float(), target, reduction="none")
    return (bce * keep).mean(), keep.mean()
