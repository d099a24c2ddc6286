"""Fixtures of the real-data tests: a tiny random surfsight model and tiny labelled images on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the model needs PyTorch (the 'model' extra)")
# Tiny tensors: one thread avoids OpenMP spin-waiting on a busy 2-core machine (10-30x faster here).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised model with the shipped architecture but very few channels."""
    from surfsight.model import save_model
    from surfsight.model.config import ModelConfig
    from surfsight.model.network import SurfsightModel

    torch.manual_seed(0)
    model = SurfsightModel(ModelConfig(base_channels=4, max_channels=16, depth=4, head_hidden=8), {"name": "tiny"})
    return save_model(model, tmp_path_factory.mktemp("tiny") / "model", {})


def blob_image(rng: np.random.Generator, size: int = 64, defect: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A noisy grey texture (uint8) and its mask: a dark square where ``defect``."""
    image = np.clip(128 + 25 * rng.standard_normal((size, size)), 0, 255)
    mask = np.zeros((size, size), np.uint8)
    if defect:
        r, c = rng.integers(8, size - 24, 2)
        image[r:r + 14, c:c + 14] = 20
        mask[r:r + 14, c:c + 14] = 255
    return image.astype(np.uint8), mask


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory) -> Path:
    """Folder with six 64 x 64 JPEG/PNG pairs (four defective) and PAIRS.csv (relative paths)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("pairs")
    rng = np.random.default_rng(1)
    lines = ["image,mask"]
    for i in range(6):
        image, mask = blob_image(rng, 64, defect=i < 4)
        Image.fromarray(image).save(root / f"img{i}.png")
        if i < 5:
            Image.fromarray(mask).save(root / f"img{i}_label.png")
            lines.append(f"img{i}.png,img{i}_label.png")
        else:
            lines.append(f"img{i}.png,")
    (root / "PAIRS.csv").write_text("\n".join(lines) + "\n")
    return root
