"""ISO 25178-2 feature parameters: Spd, Spc, S10z, S5p, S5v, Sda, Sha, Sdv, Shv.

Feature parameters describe a surface by its significant hills and dales rather than by its height
distribution (ISO 25178-2, clause on feature characterisation). The five steps of the standard, with the
choices made here (the ISO defaults where the standard gives one):

1. texture feature: peaks/hills (Spd, Spc, S5p, Sha, Shv), pits/dales (S5v, Sda, Sdv), both (S10z);
2. segmentation: watershed into hills and dales (:mod:`surfsight.metrology.segmentation`);
3. significant features: Wolf pruning at ``pruning`` x Sz (default 5 %, ISO 25178-3), optional area pruning;
4. attributes: peak/pit height above/below the mean plane, peak curvature, motif area, motif volume at
   the height of its saddle;
5. statistics: count per unit area, mean, mean of the top/bottom five.

Which motifs enter the statistics:

* point attributes (Spd, Spc, S5p, S5v, S10z) use every significant motif whose peak/pit is a verified
  local extremum: not on the border of the definition area and with no invalid (NaN) point among its 8
  neighbours. A hill cut by the border still has a real peak if that peak lies inside;
* area and volume attributes (Sda, Sha, Sdv, Shv) use only *complete* motifs, those that touch neither
  the border nor an invalid point, because the area or volume of a cut motif is unknown.

All heights are taken relative to the mean plane, i.e. the mean of the valid heights; levelling (form
removal, the F-operator) is the caller's job. Invalid points are barriers (see the segmentation module)
and do not count in the definition area.

Every function takes a :class:`~surfsight.surface.Surface` and, optionally, a precomputed
:class:`~surfsight.metrology.segmentation.FeatureSegmentation` so that several parameters share one
segmentation; :func:`feature_parameters` does that for you.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import InputError, ParameterError
from ..surface import Surface
from .segmentation import DEFAULT_PRUNING, FeatureSegmentation, Motifs, feature_segmentation, segment

__all__ = [
    "Spd", "Spc", "S10z", "S5p", "S5v", "Sda", "Sha", "Sdv", "Shv",
    "feature_parameters", "feature_segmentation", "segment", "FeatureSegmentation", "Motifs",
    "FEATURE_PARAMETERS", "FEATURE_UNITS", "DEFAULT_PRUNING",
]

#: The feature parameters this module computes, in the order of ISO 25178-2.
FEATURE_PARAMETERS = ("Spd", "Spc", "S10z", "S5p", "S5v", "Sda", "Sha", "Sdv", "Shv")

#: SI unit of each parameter.
FEATURE_UNITS = {"Spd": "1/m2", "Spc": "1/m", "S10z": "m", "S5p": "m", "S5v": "m",
                 "Sda": "m2", "Sha": "m2", "Sdv": "m3", "Shv": "m3"}

_TOP = 5  # "Top 5" / "Bottom 5" of S5p, S5v (ISO 25178-2)


def _segmentation(surface: Surface, pruning: float, min_area: float,
                  segmentation: FeatureSegmentation | None) -> FeatureSegmentation:
    if segmentation is None:
        return feature_segmentation(surface, pruning=pruning, min_area=min_area)
    if not isinstance(segmentation, FeatureSegmentation):
        raise InputError(f"segmentation must be a FeatureSegmentation, got {type(segmentation).__name__}")
    return segmentation


def _verified(motifs: Motifs) -> np.ndarray:
    return np.flatnonzero(motifs.extremum_valid)


def Spd(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Density of peaks Spd, 1/m^2 (ISO 25178-2): significant peaks per unit definition area.

    Counts the peaks of the Wolf-pruned hills that are verified local maxima (not on the border, no
    invalid neighbour), divided by the area of the valid points. A surface without such a peak gives 0.
    """
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return float(_verified(seg.hills).size / seg.valid_area)


def Spc(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Arithmetic mean peak curvature Spc, 1/m (ISO 25178-2).

    ``Spc = -1/(2n) * sum over the n significant peaks of (d2z/dx2 + d2z/dy2)``, the second derivatives
    estimated by central differences at each peak point. A paraboloid ``z = -a r^2`` gives ``2a``.

    Raises
    ------
    ParameterError
        If the surface has no significant peak.
    """
    seg = _segmentation(surface, pruning, min_area, segmentation)
    hills = seg.hills
    chosen = _verified(hills)
    if chosen.size == 0:
        raise ParameterError("Spc: the surface has no significant peak (after Wolf pruning) inside the "
                             "definition area")
    z = surface.heights
    dy, dx = surface.spacing
    r, c = hills.extrema[chosen, 0], hills.extrema[chosen, 1]
    d2x = (z[r, c + 1] - 2.0 * z[r, c] + z[r, c - 1]) / dx**2
    d2y = (z[r + 1, c] - 2.0 * z[r, c] + z[r - 1, c]) / dy**2
    return float(np.mean(-0.5 * (d2x + d2y)))


def _five(values: np.ndarray, what: str) -> float:
    if values.size == 0:
        raise ParameterError(f"{what}: the surface has no significant {'peak' if what == 'S5p' else 'pit'} "
                             f"(after Wolf pruning) inside the definition area")
    top = np.sort(values)[::-1][:_TOP]
    return float(top.mean())


def S5p(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Five-point peak height S5p, m (ISO 25178-2): mean height of the five highest significant peaks
    above the mean plane. With fewer than five significant peaks the mean is over those found."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _five(seg.hills.heights[_verified(seg.hills)], "S5p")


def S5v(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Five-point pit height S5v, m (ISO 25178-2): mean depth of the five deepest significant pits below
    the mean plane (a positive number for pits below the plane). With fewer than five pits the mean is over
    those found."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _five(-seg.dales.heights[_verified(seg.dales)], "S5v")


def S10z(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
         segmentation: FeatureSegmentation | None = None) -> float:
    """Ten-point height S10z = S5p + S5v, m (ISO 25178-2)."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return S5p(surface, segmentation=seg) + S5v(surface, segmentation=seg)


def _mean_complete(motifs: Motifs, values: np.ndarray, what: str) -> float:
    chosen = motifs.complete & np.isfinite(values)
    if not chosen.any():
        raise ParameterError(f"{what}: no significant {motifs.kind[:-1]} lies wholly inside the definition area "
                             f"(every one touches the border or an invalid point)")
    return float(values[chosen].mean())


def Sda(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Mean dale area Sda, m^2 (ISO 25178-2): mean projected area of the complete significant dales."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _mean_complete(seg.dales, seg.dales.areas, "Sda")


def Sha(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Mean hill area Sha, m^2 (ISO 25178-2): mean projected area of the complete significant hills."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _mean_complete(seg.hills, seg.hills.areas, "Sha")


def Sdv(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Mean dale volume Sdv, m^3 (ISO 25178-2): mean void volume of the complete significant dales below
    the horizontal plane through each dale's saddle (its lowest boundary point)."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _mean_complete(seg.dales, seg.dales.volumes, "Sdv")


def Shv(surface: Surface, pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
        segmentation: FeatureSegmentation | None = None) -> float:
    """Mean hill volume Shv, m^3 (ISO 25178-2): mean material volume of the complete significant hills
    above the horizontal plane through each hill's saddle (its highest boundary point)."""
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return _mean_complete(seg.hills, seg.hills.volumes, "Shv")


_FUNCTIONS = {"Spd": Spd, "Spc": Spc, "S10z": S10z, "S5p": S5p, "S5v": S5v,
              "Sda": Sda, "Sha": Sha, "Sdv": Sdv, "Shv": Shv}


def feature_parameters(surface: Surface, names: Iterable[str] | None = None,
                       pruning: float = DEFAULT_PRUNING, *, min_area: float = 0.0,
                       segmentation: FeatureSegmentation | None = None) -> dict[str, float]:
    """Several feature parameters from one segmentation.

    Parameters
    ----------
    surface
        The scale-limited surface (metres, NaN = invalid).
    names
        ISO symbols to compute (default: all of :data:`FEATURE_PARAMETERS`).
    pruning
        Wolf pruning threshold as a share of Sz (default 0.05).
    min_area
        Area pruning threshold as a share of the definition area (default 0: off).
    segmentation
        A precomputed :func:`feature_segmentation` of ``surface`` (then ``pruning`` and ``min_area`` are
        those it was made with).

    Returns
    -------
    dict
        ``{symbol: value}`` in SI units (see :data:`FEATURE_UNITS`).

    Raises
    ------
    InputError
        For an unknown name.
    ParameterError
        When a requested parameter is undefined for this surface (e.g. no complete dale for Sda).

    Examples
    --------
    >>> import numpy as np
    >>> from surfsight.surface import Surface
    >>> y, x = np.mgrid[0:136, 0:136] + 0.5
    >>> z = 1e-6 * np.sin(2 * np.pi * x / 34) * np.sin(2 * np.pi * y / 34)
    >>> p = feature_parameters(Surface(z, 1e-6), ["Spd", "Sha"])
    >>> round(p["Spd"] * (34e-6) ** 2, 6), round(p["Sha"] / (34e-6) ** 2, 2)
    (2.0, 0.5)
    """
    wanted = list(FEATURE_PARAMETERS if names is None else ([names] if isinstance(names, str) else names))
    unknown = [n for n in wanted if n not in _FUNCTIONS]
    if unknown:
        raise InputError(f"feature_parameters: unknown parameter(s) {unknown}; known: {list(FEATURE_PARAMETERS)}")
    seg = _segmentation(surface, pruning, min_area, segmentation)
    return {name: _FUNCTIONS[name](surface, segmentation=seg) for name in wanted}
