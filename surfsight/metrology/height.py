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

import numpy as np

from ..errors import ParameterError
from ..surface import Surface

__all__ = ["centred_heights", "height_parameters", "Sq", "Ssk", "Sku", "Sp", "Sv", "Sz", "Sa"]


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


def _moments(values: np.ndarray) -> tuple[float, float, float]:
    """(Sq, mean cube, mean fourth power) in one pass over the data."""
    sq2 = values * values
    m2 = float(sq2.mean())
    m3 = float(np.dot(sq2, values)) / values.size
    m4 = float(np.dot(sq2, sq2)) / values.size
    return float(np.sqrt(m2)), m3, m4


def Sq(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Root mean square height, ISO 25178-2:2021 4.2.2: ``sqrt(mean(z**2))`` (m)."""
    v = _values(surface, values)
    return float(np.sqrt(np.dot(v, v) / v.size))


def Sa(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Arithmetic mean height, ISO 25178-2:2021 4.2.8: ``mean(|z|)`` (m)."""
    v = _values(surface, values)
    return float(np.abs(v).mean())


def _need_roughness(surface: Surface, sq: float, name: str) -> None:
    if not sq > 0:
        raise ParameterError(f"{_source(surface)}: {name} is undefined for a flat surface (Sq = 0)")


def Ssk(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Skewness, ISO 25178-2:2021 4.2.3: ``mean(z**3) / Sq**3`` (dimensionless).

    Raises :class:`ParameterError` for a flat surface (Sq = 0), where it is undefined.
    """
    v = _values(surface, values)
    sq, m3, _ = _moments(v)
    _need_roughness(surface, sq, "Ssk")
    return m3 / sq**3


def Sku(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Kurtosis, ISO 25178-2:2021 4.2.4: ``mean(z**4) / Sq**4`` (dimensionless; 3 for a Gaussian)."""
    v = _values(surface, values)
    sq, _, m4 = _moments(v)
    _need_roughness(surface, sq, "Sku")
    return m4 / sq**4


def Sp(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Maximum peak height, ISO 25178-2:2021 4.2.5: the largest height above the mean plane (m)."""
    return float(_values(surface, values).max())


def Sv(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Maximum pit height, ISO 25178-2:2021 4.2.6: minus the smallest height, a positive depth (m)."""
    return float(-_values(surface, values).min())


def Sz(surface: Surface, *, values: np.ndarray | None = None) -> float:
    """Maximum height, ISO 25178-2:2021 4.2.7: ``Sp + Sv`` (m)."""
    v = _values(surface, values)
    return float(v.max() - v.min())


def height_parameters(surface: Surface, *, values: np.ndarray | None = None) -> dict[str, float]:
    """All seven height parameters at once (one masking, one centring, one pass per moment).

    Ssk and Sku are omitted with a :class:`ParameterError` raised only if asked for singly;
    here a flat surface raises as well, since no complete set exists for it.
    """
    v = _values(surface, values)
    sq, m3, m4 = _moments(v)
    sp, sv = float(v.max()), float(-v.min())
    _need_roughness(surface, sq, "Ssk/Sku")
    return {"Sq": sq, "Ssk": m3 / sq**3, "Sku": m4 / sq**4, "Sp": sp, "Sv": sv, "Sz": sp + sv,
            "Sa": float(np.abs(v).mean())}
