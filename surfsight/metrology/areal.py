"""``parameters()``: compute a set of areal parameters (ISO 25178-2) sharing intermediates.

The expensive pieces (the centred valid heights, the sorted heights of the material ratio curve
and its core line, the slope sums, the autocorrelation function, the power spectrum, the feature
segmentation) are built at most once per call, by an :class:`Intermediates` object that the call
creates and hands explicitly to each parameter function. Nothing is cached on the surface: a
caller who wants to reuse intermediates across calls creates an :class:`Intermediates` and passes
it in.

Examples
--------
>>> import numpy as np
>>> from surfsight import Surface
>>> x = np.arange(256) * 1e-6
>>> s = Surface(np.tile(1e-6 * np.sin(2 * np.pi * x / 32e-6), (64, 1)), spacing=1e-6)
>>> p = parameters(s, ["Sq", "Sa", "Smc(50)"])
>>> round(p["Sq"] / 1e-6, 4), round(p["Sa"] / 1e-6, 4)   # A/sqrt(2); 2A/pi = 0.6366 for a continuous sine
(0.7071, 0.6346)
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, Callable, Iterable

from ..errors import ParameterError
from ..surface import Surface
from . import features, height, hybrid, material_ratio, psd, spatial
from .registry import PARAMETERS, ParameterRequest, resolve

__all__ = ["Intermediates", "parameters", "ParameterWarning"]

#: Surfaces at least this large build the feature segmentation in a background thread.
_OVERLAP_MIN_POINTS = 256 * 256


class ParameterWarning(UserWarning):
    """A parameter could not be computed and was reported as NaN (``on_error="nan"``)."""


class Intermediates:
    """Shared intermediate results for one surface, built on first use.

    ``get(name)`` returns one of ``"values"`` (centred valid heights), ``"moments"``
    (:class:`~surfsight.metrology.height.HeightMoments`), ``"curve"``
    (:class:`~surfsight.metrology.material_ratio.MaterialRatioCurve`), ``"core"``
    (:class:`~surfsight.metrology.material_ratio.CoreLine`), ``"slopes"``
    (:class:`~surfsight.metrology.hybrid.SlopeSums`), ``"acf"``
    (:class:`~surfsight.metrology.spatial.ACF`), ``"decay"`` (:class:`~surfsight.metrology.spatial.Decay`,
    the ACF decay lengths for Sal and Str at s = 0.2), ``"spectrum"``
    (:class:`~surfsight.metrology.psd.Spectrum`, Hann window) and ``"features"``
    (:class:`~surfsight.metrology.segmentation.FeatureSegmentation`, Wolf pruning at 5 % of Sz).

    The object belongs to one surface; create a new one for another surface (or after changing
    the heights).
    """

    def __init__(self, surface: Surface):
        self.surface = surface
        self._built: dict[str, Any] = {}
        self._pending: dict[str, Future] = {}
        self._builders: dict[str, Callable[[], Any]] = {
            "values": lambda: height.centred_heights(surface),
            "moments": lambda: height.height_moments(surface, values=self.get("values")),
            "curve": lambda: material_ratio.material_ratio_curve(surface, values=self.get("values")),
            "core": lambda: material_ratio.core_line(self.get("curve")),
            "slopes": lambda: hybrid.slope_sums(surface),
            "acf": lambda: spatial.autocorrelation(surface),
            "decay": lambda: spatial.decay(surface),
            "spectrum": lambda: psd.psd_2d(surface),
            "features": lambda: features.feature_segmentation(surface),
        }

    def prefetch(self, name: str, executor: Executor) -> None:
        """Start building ``name`` on ``executor`` (a thread pool); :meth:`get` waits for it."""
        if name not in self._built and name not in self._pending:
            self._pending[name] = executor.submit(self._builders[name])

    def get(self, name: str) -> Any:
        """The intermediate ``name``, built now if not yet built (or awaited if prefetched)."""
        if name in self._pending:
            self._built[name] = self._pending.pop(name).result()
        if name not in self._built:
            try:
                builder = self._builders[name]
            except KeyError:
                raise ParameterError(f"unknown intermediate {name!r}; known: {', '.join(self._builders)}") from None
            self._built[name] = builder()
        return self._built[name]

    @property
    def built(self) -> tuple[str, ...]:
        """Names of the intermediates built so far."""
        return tuple(self._built)


def _surface_of(surface: Any) -> Surface:
    if not isinstance(surface, Surface):
        kind = getattr(surface, "kind", type(surface).__name__)
        raise ParameterError(f"areal parameters need a Surface (a gridded height map); got a {kind}. "
                             "Use surfsight.metrology.profile_parameters for a profile.")
    return surface


#: Keyword under which each intermediate is passed to a parameter function.
_KEYWORDS = {"values": "values", "moments": "moments", "curve": "curve", "core": "core", "slopes": "sums", "acf": "acf",
             "decay": "decay", "spectrum": "spectrum", "features": "segmentation"}


def _compute_one(req: ParameterRequest, surface: Surface, inter: Intermediates) -> float:
    info = req.info
    kwargs = {_KEYWORDS[need]: inter.get(need) for need in info.needs}
    if req.argument is not None:
        return float(info.function(surface, req.argument, **kwargs))
    return float(info.function(surface, **kwargs))


def parameters(surface: Surface, names: Iterable[str] | str | None = None, *,
               on_error: str = "raise", intermediates: Intermediates | None = None) -> dict[str, float]:
    """Compute areal parameters of ``surface`` (ISO 25178-2), sharing intermediates.

    Parameters
    ----------
    surface
        A levelled, filtered (scale-limited) :class:`~surfsight.surface.Surface`; NaN points are
        handled as each parameter's documentation says.
    names
        ISO symbols (list or comma-separated string), e.g. ``["Sa", "Sq", "Sdr", "Vmc"]``, and
        parametrised ones ``"Smr(1um)"``, ``"Smc(10)"``, ``"Vm(10)"``, ``"Vv(80)"``. ``None`` computes
        :data:`~surfsight.metrology.registry.DEFAULT_NAMES` (every parameter without an argument,
        feature parameters included).
    on_error
        ``"raise"`` (default): the first :class:`ParameterError` propagates. ``"nan"``: a parameter
        that cannot be computed for this surface (e.g. Str on a surface with a strong lay) is
        reported as NaN and a :class:`ParameterWarning` carrying the reason is issued.
    intermediates
        Reuse intermediates built by an earlier call on the same surface.

    Returns
    -------
    dict
        ``{name: value}`` in the order asked, values in the units of
        :data:`~surfsight.metrology.registry.PARAMETERS`.
    """
    if on_error not in ("raise", "nan"):
        raise ParameterError(f"parameters: on_error must be 'raise' or 'nan', got {on_error!r}")
    requests = resolve(list(names) if names is not None and not isinstance(names, str) else names)
    surface = _surface_of(surface)
    inter = Intermediates(surface) if intermediates is None else intermediates
    if inter.surface is not surface:
        raise ParameterError("parameters: the intermediates given belong to another surface")

    # The feature segmentation (the largest cost) is built in a background thread while the other
    # parameters are computed: NumPy and SciPy release the GIL in their heavy loops, so on two
    # cores the two overlap. The feature parameters are taken last; the order asked is kept.
    ordered = sorted(requests, key=lambda r: "features" in r.info.needs)
    overlap = (any("features" in r.info.needs for r in requests) and len(ordered) > 1
               and "features" not in inter.built and surface.heights.size >= _OVERLAP_MIN_POINTS)
    computed: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=1) if overlap else nullcontext() as pool:
        if overlap:
            inter.prefetch("features", pool)
        for req in ordered:
            try:
                computed[req.key] = _compute_one(req, surface, inter)
            except ParameterError as exc:
                if on_error == "raise":
                    raise
                warnings.warn(f"{req.key}: {exc}", ParameterWarning, stacklevel=2)
                computed[req.key] = math.nan
    return {req.key: computed[req.key] for req in requests}


def describe(name: str) -> str:
    """One line about a registered parameter: symbol, unit, reference, description."""
    info = PARAMETERS[name]
    return f"{info.name} [{info.unit}] {info.description} ({info.reference})"
