"""A quick, level-free summary of a measurement: what ``surfsight info`` prints."""

from __future__ import annotations

from typing import Any

import numpy as np

from .surface import Measurement


def rms_height(obj: Measurement) -> float:
    """Root mean square of the valid heights about their mean, without levelling (metres).

    NaN points are left out. Returns NaN when no point is valid.
    """
    z = obj.heights[~np.isnan(obj.heights)]
    if z.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((z - z.mean()) ** 2)))


def summary(obj: Measurement) -> dict[str, Any]:
    """Format, kind, grid, spacing, size, invalid share, rms height, channels and metadata."""
    metadata = dict(obj.metadata)
    spacing = obj.spacing
    return {
        "format": metadata.get("format"),
        "kind": obj.kind,
        "shape": list(obj.shape),
        "spacing_m": None if spacing is None else list(spacing),
        "size_m": list(obj.size_m),
        "invalid_fraction": obj.invalid_fraction,
        "rms_height_m": rms_height(obj),
        "channels": list(metadata.get("channels") or [metadata.get("channel") or "height"]),
        "layers": list(getattr(obj, "layers", {}) or {}),
        "metadata": metadata,
    }
