"""Height parameters of ISO 25178-2:2021, clause 4.2: Sq, Ssk, Sku, Sp, Sv, Sz, Sa.

All heights are taken about the mean of the valid (non-NaN) points, which is the reference
(mean) plane of a levelled, scale-limited surface. Invalid points are simply left out: every
height parameter is an average or extreme over the definition area, so measuring it over the
valid points only is what the definition allows. Results are in metres except Ssk and Sku
(dimensionless).

The functions accept ``values=`` (the centred valid heights, from :func:`centred_heights`) so
that a caller computing several parameters does the masking and centring once; see
:func:`surfsight.metrology.parameters`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..surface import Surface

__all__ = ["centred_heights", "HeightMoments", "height_moments", "height_parameters", "Sq", "Ssk", "Sku", "Sp", "Sv", "Sz", "Sa"]


def _source(surface: Surface) -> str:
    return str(surface.metadata.get("source_file") or surface.metadata.get("name") or "surface")


def centred_heights(surface: Surface) -> np.ndarray:
    """Valid heights of ``surface`` minus their mean, as a flat float64 array (metres).

    Raises
    ------
    ParameterError
        If the surface has no valid point.
    """
    z = surface.heights
    if surface.has_invalid:
        z = z[~np.isnan(z)]
        if z.size == 0:
            raise ParameterError(f"{_source(surface)}: no valid (measured) point; no parameter can be computed")
    else:
        z = z.ravel()
    return z - z.mean()


def _values(surface: Surface, values: np.ndarray | None) -> np.ndarray:
    return centred_heights(surface) if values is None else values


@dataclass(frozen=True)
class HeightMoments:
    """Everything the height parameters need, from one pass over the centred heights.

    ``m2``, ``m3``, ``m4`` are the mean square, cube and fourth power; ``lowest``/``highest`` the
    extreme centred heights; ``mean_abs`` the mean absolute height; ``n`` the number of valid points.
    """

    m2: float
    m3: float
    m4: float
    lowest: float
    highest: float
    mean_abs: float
    n: int
    source: str = "surface"


def height_moments(surface: Surface, *, values: np.ndarray | None = None) -> HeightMoments:
    """Moments and extremes of the centred valid heights (one shared intermediate for 4.2)."""
    v = _values(surface, values)
    n = v.size
    s2 = s3 = s4 = sa = 0.0
    for start in range(0, n, _CHUNK):        # blocks that stay in cache
        block = v[start:start + _CHUNK]
        sq = block * block
        s2 += float(sq.sum())
        s3 += float(np.einsum('i,i->', sq, block))
        s4 += float(np.einsum('i,i->', sq, sq))
        np.abs(block, out=sq)
        sa += float(sq.sum())
    return HeightMoments(s2 / n, s3 / n, s4 / n, float(v.min()), float(v.max()), sa / n, n, _source(surface))


_CHUNK = 1 << 16


def _moments(surface: Surface, values: np.ndarray | None, moments: HeightMoments | None) -> HeightMoments:
    return height_moments(surface, values=values) if moments is None else moments


def Sq(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Root mean square height, ISO 25178-2:2021 4.2.2: ``sqrt(mean(z**2))`` (m)."""
    if moments is not None:
        return float(np.sqrt(moments.m2))
    v = _values(surface, values)
    return float(np.sqrt(np.einsum('i,i->', v, v) / v.size))


def Sa(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Arithmetic mean height, ISO 25178-2:2021 4.2.8: ``mean(|z|)`` (m)."""
    if moments is not None:
        return moments.mean_abs
    return float(np.abs(_values(surface, values)).mean())


def _need_roughness(surface: Surface, m2: float, name: str) -> None:
    if not m2 > 0:
        raise ParameterError(f"{_source(surface)}: {name} is undefined for a flat surface (Sq = 0)")


def Ssk(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Skewness, ISO 25178-2:2021 4.2.3: ``mean(z**3) / Sq**3`` (dimensionless).

    Raises :class:`ParameterError` for a flat surface (Sq = 0), where it is undefined.
    """
    m = _moments(surface, values, moments)
    _need_roughness(surface, m.m2, "Ssk")
    return m.m3 / m.m2**1.5


def Sku(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Kurtosis, ISO 25178-2:2021 4.2.4: ``mean(z**4) / Sq**4`` (dimensionless; 3 for a Gaussian)."""
    m = _moments(surface, values, moments)
    _need_roughness(surface, m.m2, "Sku")
    return m.m4 / m.m2**2


def Sp(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Maximum peak height, ISO 25178-2:2021 4.2.5: the largest height above the mean plane (m)."""
    return moments.highest if moments is not None else float(_values(surface, values).max())


def Sv(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Maximum pit height, ISO 25178-2:2021 4.2.6: minus the smallest height, a positive depth (m)."""
    return -moments.lowest if moments is not None else float(-_values(surface, values).min())


def Sz(surface: Surface, *, values: np.ndarray | None = None, moments: HeightMoments | None = None) -> float:
    """Maximum height, ISO 25178-2:2021 4.2.7: ``Sp + Sv`` (m)."""
    if moments is not None:
        return moments.highest - moments.lowest
    v = _values(surface, values)
    return float(v.max() - v.min())


def height_parameters(surface: Surface, *, values: np.ndarray | None = None) -> dict[str, float]:
    """All seven height parameters at once (one masking, one centring, one pass per moment).

    A flat surface raises :class:`ParameterError` (Ssk and Sku are undefined for it).
    """
    m = height_moments(surface, values=values)
    _need_roughness(surface, m.m2, "Ssk/Sku")
    return {"Sq": float(np.sqrt(m.m2)), "Ssk": m.m3 / m.m2**1.5, "Sku": m.m4 / m.m2**2, "Sp": m.highest,
            "Sv": -m.lowest, "Sz": m.highest - m.lowest, "Sa": m.mean_abs}
