"""The data model: :class:`Surface` (areal height map), :class:`Profile` (line scan) and
:class:`PointCloud` (unordered points).

Conventions (see ``docs/conventions.md``):

* heights in metres, float64; ``NaN`` marks a non-measured (invalid) point, never a magic number;
* ``heights[row, col]`` is ``z[y, x]``; ``spacing = (dy, dx)`` in metres; row 0 is ``y = 0``;
* ``layers`` are named arrays on the same grid (intensity, masks, quality maps);
* ``metadata`` is a plain dict (instrument, date, source file, original units, ...).

Objects are cheap values: operations return new objects, nothing is cached behind your back.
"""

from __future__ import annotations

import copy as _copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError


def _as_heights(heights: Any, ndim: int, what: str) -> np.ndarray:
    try:
        array = np.asarray(heights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what}: heights must be numeric ({exc})") from None
    if array.ndim != ndim:
        raise InputError(f"{what}: heights must be a {ndim}-D array, got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{what}: heights are empty (shape {array.shape})")
    if np.isinf(array).any():
        raise InputError(f"{what}: heights contain infinite values; mark invalid points with NaN")
    return array


def _as_step(value: Any, name: str, what: str) -> float:
    try:
        step = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what}: {name} must be a number in metres, got {value!r}") from None
    if not math.isfinite(step) or step <= 0:
        raise InputError(f"{what}: {name} must be a positive finite length in metres, got {value!r}")
    return step


def _check_layers(layers: dict[str, Any] | None, shape: tuple[int, ...], what: str) -> dict[str, np.ndarray]:
    checked: dict[str, np.ndarray] = {}
    for name, layer in (layers or {}).items():
        array = np.asarray(layer)
        if array.shape != shape:
            raise InputError(f"{what}: layer {name!r} has shape {array.shape}, heights have {shape}")
        checked[str(name)] = array
    return checked


class _Validity:
    """Invalid-point bookkeeping shared by gridded measurements (``heights`` with NaN)."""

    heights: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        """Boolean array, True where a height was measured."""
        return ~np.isnan(self.heights)

    @property
    def invalid_fraction(self) -> float:
        """Share of non-measured points, 0..1."""
        return float(np.isnan(self.heights).mean())

    @property
    def has_invalid(self) -> bool:
        return bool(np.isnan(self.heights).any())


@dataclass(eq=False)
class Surface(_Validity):
    """An areal height map on a regular grid.

    Parameters
    ----------
    heights
        2-D array, metres; ``heights[row, col] = z(y=row*dy, x=col*dx)``; NaN = not measured.
    spacing
        ``(dy, dx)`` in metres. A single number means ``dy = dx``.
    layers
        Optional named arrays of the same shape (``"intensity"``, ``"mask"``, ...).
    metadata
        Free-form facts about the data: ``instrument``, ``date``, ``source_file``,
        ``original_units``, ``format``, ``channel``, ``channels``, ...

    Examples
    --------
    >>> import numpy as np
    >>> s = Surface(np.zeros((4, 5)), spacing=(1e-6, 2e-6))
    >>> s.shape, s.size_m
    ((4, 5), (4e-06, 1e-05))
    """

    heights: np.ndarray
    spacing: tuple[float, float]
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    kind = "surface"

    def __post_init__(self) -> None:
        self.heights = _as_heights(self.heights, 2, "Surface")
        if np.ndim(self.spacing) == 0:
            self.spacing = (self.spacing, self.spacing)
        if len(self.spacing) != 2:
            raise InputError(f"Surface: spacing must be (dy, dx) in metres, got {self.spacing!r}")
        self.spacing = (_as_step(self.spacing[0], "dy", "Surface"), _as_step(self.spacing[1], "dx", "Surface"))
        self.layers = _check_layers(self.layers, self.heights.shape, "Surface")
        self.metadata = dict(self.metadata or {})

    # --- geometry -----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` = ``(ny, nx)``."""
        return self.heights.shape  # type: ignore[return-value]

    @property
    def dy(self) -> float:
        return self.spacing[0]

    @property
    def dx(self) -> float:
        return self.spacing[1]

    @property
    def size_m(self) -> tuple[float, float]:
        """Physical size ``(Ly, Lx)`` in metres: number of points times spacing."""
        return self.shape[0] * self.dy, self.shape[1] * self.dx

    @property
    def x(self) -> np.ndarray:
        """x coordinate of each column, metres."""
        return np.arange(self.shape[1]) * self.dx

    @property
    def y(self) -> np.ndarray:
        """y coordinate of each row, metres."""
        return np.arange(self.shape[0]) * self.dy

    # --- cheap operations ---------------------------------------------------------
    def copy(self) -> "Surface":
        """A deep copy (arrays and metadata)."""
        return Surface(self.heights.copy(), self.spacing, {k: v.copy() for k, v in self.layers.items()},
                       _copy.deepcopy(self.metadata))

    def with_heights(self, heights: np.ndarray, *, keep_layers: bool = True, **metadata: Any) -> "Surface":
        """A new surface on the same grid with other heights (e.g. levelled or filtered).

        Extra keyword arguments are merged into a copy of the metadata.
        """
        heights = np.asarray(heights, dtype=np.float64)
        if heights.shape != self.shape:
            raise InputError(f"Surface.with_heights: shape {heights.shape} differs from {self.shape}")
        meta = _copy.deepcopy(self.metadata)
        meta.update(metadata)
        layers = {k: v.copy() for k, v in self.layers.items()} if keep_layers else {}
        return Surface(heights, self.spacing, layers, meta)

    def crop(self, rows: slice | tuple[int, int] = slice(None), cols: slice | tuple[int, int] = slice(None)) -> "Surface":
        """Cut out a rectangle by index: ``crop(rows=(0, 100), cols=(50, 150))``."""
        rs = slice(*rows) if isinstance(rows, tuple) else rows
        cs = slice(*cols) if isinstance(cols, tuple) else cols
        if (rs.step or 1) != 1 or (cs.step or 1) != 1:
            raise InputError("Surface.crop: use resample() to change spacing; crop takes contiguous ranges")
        heights = self.heights[rs, cs]
        if heights.size == 0:
            raise InputError(f"Surface.crop: rows={rows!r}, cols={cols!r} leave no points of {self.shape}")
        layers = {k: v[rs, cs].copy() for k, v in self.layers.items()}
        return Surface(heights.copy(), self.spacing, layers, _copy.deepcopy(self.metadata))

    def resample(self, spacing: float | tuple[float, float]) -> "Surface":
        """Resample to a new spacing ``(dy, dx)`` by bilinear interpolation over the same extent.

        A new point is NaN when any of the four neighbours it interpolates from is NaN.
        Layers are resampled by nearest neighbour (they may be masks or labels).
        """
        if np.ndim(spacing) == 0:
            spacing = (spacing, spacing)  # type: ignore[assignment]
        dy = _as_step(spacing[0], "dy", "Surface.resample")  # type: ignore[index]
        dx = _as_step(spacing[1], "dx", "Surface.resample")  # type: ignore[index]
        ny = max(1, int(math.floor((self.shape[0] - 1) * self.dy / dy + 1e-9)) + 1)
        nx = max(1, int(math.floor((self.shape[1] - 1) * self.dx / dx + 1e-9)) + 1)
        yi = np.arange(ny) * dy / self.dy
        xi = np.arange(nx) * dx / self.dx
        heights = _bilinear(self.heights, yi, xi)
        ry = np.clip(np.rint(yi).astype(int), 0, self.shape[0] - 1)
        rx = np.clip(np.rint(xi).astype(int), 0, self.shape[1] - 1)
        layers = {k: v[np.ix_(ry, rx)] for k, v in self.layers.items()}
        return Surface(heights, (dy, dx), layers, _copy.deepcopy(self.metadata))

    def row(self, index: int) -> "Profile":
        """Row ``index`` as a profile along x."""
        return Profile(self.heights[index].copy(), self.dx, metadata={**_copy.deepcopy(self.metadata), "row": index})

    def column(self, index: int) -> "Profile":
        """Column ``index`` as a profile along y."""
        return Profile(self.heights[:, index].copy(), self.dy,
                       metadata={**_copy.deepcopy(self.metadata), "column": index})

    def __repr__(self) -> str:
        ly, lx = self.size_m
        return (f"Surface(shape={self.shape}, spacing=({self.dy:.4g}, {self.dx:.4g}) m, "
                f"size=({ly:.4g}, {lx:.4g}) m, invalid={self.invalid_fraction:.2%}, layers={list(self.layers)})")


def _bilinear(z: np.ndarray, yi: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``z`` at fractional indices (NaN-propagating)."""
    ny, nx = z.shape
    y0 = np.clip(np.floor(yi).astype(int), 0, max(ny - 2, 0))
    x0 = np.clip(np.floor(xi).astype(int), 0, max(nx - 2, 0))
    y1 = np.minimum(y0 + 1, ny - 1)
    x1 = np.minimum(x0 + 1, nx - 1)
    ty = (yi - y0)[:, None]
    tx = (xi - x0)[None, :]
    z00 = z[np.ix_(y0, x0)]
    z01 = z[np.ix_(y0, x1)]
    z10 = z[np.ix_(y1, x0)]
    z11 = z[np.ix_(y1, x1)]
    top = z00 * (1 - tx) + z01 * tx
    bottom = z10 * (1 - tx) + z11 * tx
    return top * (1 - ty) + bottom * ty


@dataclass(eq=False)
class Profile(_Validity):
    """A line scan: heights along x on a regular spacing ``dx``.

    Parameters
    ----------
    heights
        1-D array, metres; NaN = not measured.
    dx
        Sampling interval in metres.
    layers, metadata
        As for :class:`Surface`.
    """

    heights: np.ndarray
    dx: float
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    kind = "profile"

    def __post_init__(self) -> None:
        self.heights = _as_heights(self.heights, 1, "Profile")
        self.dx = _as_step(self.dx, "dx", "Profile")
        self.layers = _check_layers(self.layers, self.heights.shape, "Profile")
        self.metadata = dict(self.metadata or {})

    @property
    def shape(self) -> tuple[int]:
        return self.heights.shape  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float]:
        return (self.dx,)

    @property
    def length_m(self) -> float:
        """Evaluation length: number of points times ``dx``."""
        return self.heights.size * self.dx

    @property
    def size_m(self) -> tuple[float]:
        return (self.length_m,)

    @property
    def x(self) -> np.ndarray:
        return np.arange(self.heights.size) * self.dx

    def copy(self) -> "Profile":
        return Profile(self.heights.copy(), self.dx, {k: v.copy() for k, v in self.layers.items()},
                       _copy.deepcopy(self.metadata))

    def with_heights(self, heights: np.ndarray, **metadata: Any) -> "Profile":
        heights = np.asarray(heights, dtype=np.float64)
        if heights.shape != self.shape:
            raise InputError(f"Profile.with_heights: shape {heights.shape} differs from {self.shape}")
        meta = _copy.deepcopy(self.metadata)
        meta.update(metadata)
        return Profile(heights, self.dx, {k: v.copy() for k, v in self.layers.items()}, meta)

    def crop(self, start: int | None = None, stop: int | None = None) -> "Profile":
        heights = self.heights[start:stop]
        if heights.size == 0:
            raise InputError(f"Profile.crop: [{start}:{stop}] leaves no points of {self.heights.size}")
        layers = {k: v[start:stop].copy() for k, v in self.layers.items()}
        return Profile(heights.copy(), self.dx, layers, _copy.deepcopy(self.metadata))

    def resample(self, dx: float) -> "Profile":
        """Linear interpolation onto a new spacing over the same extent (NaN-propagating)."""
        dx = _as_step(dx, "dx", "Profile.resample")
        n = max(1, int(math.floor((self.heights.size - 1) * self.dx / dx + 1e-9)) + 1)
        xi = np.arange(n) * dx / self.dx
        i0 = np.clip(np.floor(xi).astype(int), 0, max(self.heights.size - 2, 0))
        i1 = np.minimum(i0 + 1, self.heights.size - 1)
        t = xi - i0
        heights = self.heights[i0] * (1 - t) + self.heights[i1] * t
        return Profile(heights, dx, {}, _copy.deepcopy(self.metadata))

    def __repr__(self) -> str:
        return (f"Profile(n={self.heights.size}, dx={self.dx:.4g} m, length={self.length_m:.4g} m, "
                f"invalid={self.invalid_fraction:.2%})")


@dataclass(eq=False)
class PointCloud:
    """Unordered measured points ``(x, y, z)`` in metres, as some x3p files and scanners give.

    surfsight's analysis works on gridded data; a point cloud is kept as it is and refused,
    with a clear message, by anything that needs a grid.
    """

    points: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    kind = "point cloud"

    def __post_init__(self) -> None:
        array = np.asarray(self.points, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
            raise InputError(f"PointCloud: points must be an (n, 3) array of x, y, z, got shape {array.shape}")
        self.points = array
        self.metadata = dict(self.metadata or {})

    @property
    def shape(self) -> tuple[int]:
        return (self.points.shape[0],)

    @property
    def heights(self) -> np.ndarray:
        """The z values (metres)."""
        return self.points[:, 2]

    @property
    def invalid_fraction(self) -> float:
        return float(np.isnan(self.points).any(axis=1).mean())

    @property
    def size_m(self) -> tuple[float, float]:
        """Extent ``(Ly, Lx)`` of the valid points' bounding box, metres."""
        ok = ~np.isnan(self.points).any(axis=1)
        if not ok.any():
            return (0.0, 0.0)
        p = self.points[ok]
        return float(np.ptp(p[:, 1])), float(np.ptp(p[:, 0]))

    @property
    def spacing(self) -> None:
        return None

    def copy(self) -> "PointCloud":
        return PointCloud(self.points.copy(), _copy.deepcopy(self.metadata))

    def __repr__(self) -> str:
        return f"PointCloud(n={self.points.shape[0]})"


Measurement = Surface | Profile | PointCloud


def require_grid(obj: Measurement, what: str = "this operation") -> Surface | Profile:
    """Return ``obj`` if it is gridded; raise a clear :class:`InputError` for a point cloud."""
    if isinstance(obj, PointCloud):
        raise InputError(f"{what} needs gridded data (a surface or profile); "
                         f"{obj.metadata.get('source_file', 'the input')} is an unordered point cloud")
    return obj
