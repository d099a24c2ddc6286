"""Saving and loading models: ``model.safetensors`` (tensors only, no pickle) + ``model.json``.

``model.json`` holds ``{"format", "version", "config", "metadata"}``: the architecture
(:class:`~surfsight.model.config.ModelConfig`) and everything known about the weights (seeds,
versions, training recipe, metrics, calibration). Shipped models live in
``surfsight/data/models/<name>/``; nothing is ever downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from .config import ModelConfig
from .network import SurfsightModel

FORMAT = "surfsight-model"
VERSION = 1
MODELS = Path(__file__).resolve().parents[1] / "data" / "models"


def resolve(path_or_name: str | os.PathLike = "default") -> Path:
    """Folder of a model: a shipped name (``default``) or a path to a folder or its ``model.json``."""
    p = Path(path_or_name)
    if p.name in ("model.json", "model.safetensors"):
        p = p.parent
    if p.is_dir():
        return p
    shipped = MODELS / str(path_or_name)
    if shipped.is_dir():
        return shipped
    names = sorted(d.name for d in MODELS.iterdir() if d.is_dir()) if MODELS.is_dir() else []
    raise InputError(f"model {str(path_or_name)!r}: no such folder and no shipped model of that name "
                     f"(shipped: {', '.join(names) or 'none'})")


def save_model(model: SurfsightModel, directory: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory`` (atomically, file by file)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = {**model.metadata, **(metadata or {})}
    model.metadata = meta
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = out / f".model.safetensors.{os.getpid()}.tmp"
    save_file(state, str(tmp), metadata={"format": FORMAT})
    os.chmod(tmp, 0o644)
    os.replace(tmp, out / "model.safetensors")
    doc = {"format": FORMAT, "version": VERSION, "config": model.config.to_dict(), "metadata": meta}
    tmp = out / f".model.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(doc, indent=1, default=_plain))
    os.replace(tmp, out / "model.json")
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def read_description(path: Path, expected_format: str, what: str = "model description") -> dict[str, Any]:
    """The JSON beside a safetensors file, checked to be of ``expected_format``."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"{path}: format is {found!r}, expected {expected_format!r}")
    return doc


def load_model(path_or_name: str | os.PathLike = "default") -> SurfsightModel:
    """A saved model in eval mode on the CPU (``model.config``, ``model.metadata`` filled)."""
    from safetensors.torch import load_file

    folder = resolve(path_or_name)
    meta_path, weights = folder / "model.json", folder / "model.safetensors"
    doc = read_description(meta_path, FORMAT)
    if not weights.is_file():
        raise InputError(f"{weights}: weights file missing")
    model = SurfsightModel(ModelConfig.from_dict(doc["config"]), doc.get("metadata", {}))
    try:
        state = load_file(str(weights), device="cpu")
        model.load_state_dict(state)
    except Exception as exc:  # safetensors raises its own error types
        raise InputError(f"{weights}: weights do not match the model description ({exc})") from None
    model.eval()
    return model
