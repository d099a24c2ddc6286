"""Seeded blocks that leave the process's random state as it was.

Stages that draw random numbers inside a larger program (fresh head weights, the head refit's
dropout masks, the MC-dropout passes at inference) must give the same result whatever ran
before them, and must not move the random state of the code that called them.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


def _cuda_devices(*where: torch.Tensor | torch.nn.Module) -> list[int]:
    """The CUDA devices the given tensors or modules' parameters live on."""
    tensors = [t for w in where for t in (w.parameters() if isinstance(w, torch.nn.Module) else [w])]
    return sorted({t.device.index or 0 for t in tensors if t.device.type == "cuda"})


@contextmanager
def seeded(seed: int, *where: torch.Tensor | torch.nn.Module) -> Iterator[None]:
    """Run the block with PyTorch's generators seeded by ``seed`` (the CPU one, and those of the
    CUDA devices ``where`` lives on), then put the previous random state back."""
    with torch.random.fork_rng(devices=_cuda_devices(*where)):
        torch.manual_seed(seed)
        yield
