"""Surface defects with exact geometry: scratches, dents, pits, cracks and inclusions.

Each defect is applied to a height map (the clean texture, possibly already carrying other
defects) and returns the new heights; its :class:`Defect` record is measured afterwards from the
data (``measure_defects``), so the numbers describe what the height map really shows:

* ``depth_m``: the deepest deficit of the defect below the texture, ``max(texture - truth)``
  inside the mask;
* ``width_m``, ``length_m``: across and along the long axis (principal axes) of the cavity, the
  part of the mask where material is missing;
* ``area_m2``: plan-view area of the mask;
* ``sqrt_area_m``: Murakami's parameter, the square root of the defect's area projected on the
  plane normal to a load acting across the long axis (the cross-section: deficit integrated along
  the long axis), Murakami, *Metal Fatigue: Effects of Small Defects and Nonmetallic
  Inclusions*, Elsevier 2002, ch. 2;
* ``root_radius_m``: notch root radius of the cross-section at the deepest point (from the
  geometry that made it);
* ``orientation_rad``: direction of the long axis from the x axis.

Geometry follows the usual models: V- and U-section scratches with pile-up ridges of displaced
material (Bowden & Tabor, 1950; Jardret et al., Wear 218 (1998) 8), spherical and conical
indents with a raised rim (Johnson, *Contact Mechanics*, 1985, ch. 5), corrosion pits as
hemispheroids with ragged rims (Frankel, J. Electrochem. Soc. 145 (1998) 2186), thin branching
cracks, and inclusions protruding with a debonding crevice around them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..errors import InputError
from .texture import grid_coordinates

KINDS = ("scratch", "dent", "pit", "crack", "inclusion")


@dataclass
class Defect:
    """A defect record; lengths in metres, angles in radians; ``x_m``, ``y_m`` locate the
    centroid of the cavity (for the interaction rules of :mod:`surfsight.failure.murakami`)."""

    kind: str
    mask: np.ndarray
    depth_m: float = 0.0
    width_m: float = 0.0
    length_m: float = 0.0
    area_m2: float = 0.0
    sqrt_area_m: float = 0.0
    root_radius_m: float = 0.0
    orientation_rad: float = 0.0
    height_m: float = 0.0
    x_m: float = 0.0
    y_m: float = 0.0
    nominal: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record without its mask (JSON-ready)."""
        return {k: v for k, v in self.__dict__.items() if k != "mask"}


@dataclass
class PlacedDefect:
    """A defect as placed: its kind, footprint (boolean, same grid), notch root radius from
    the geometry that made it, and the nominal geometry. :func:`measure_defects` turns it into a
    :class:`Defect` record measured on the data."""

    kind: str
    footprint: np.ndarray
    root_radius_m: float
    nominal: dict[str, Any]


def _window(center, reach, shape, spacing):
    (cy, cx), (dy, dx) = center, spacing
    i0, i1 = max(0, int((cy - reach) / dy)), min(shape[0], int(math.ceil((cy + reach) / dy)) + 1)
    j0, j1 = max(0, int((cx - reach) / dx)), min(shape[1], int(math.ceil((cx + reach) / dx)) + 1)
    return slice(i0, max(i0, i1)), slice(j0, max(j0, j1))


def _reference(z: np.ndarray, footprint: np.ndarray) -> float:
    """Reference level of the texture around a defect: mean of a ring just outside it."""
    ring = ndimage.binary_dilation(footprint, iterations=3) & ~footprint
    values = z[ring] if ring.any() else z[footprint]
    return float(np.mean(values)) if values.size else float(np.mean(z))


def _carve(window: np.ndarray, cut: np.ndarray, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower ``window`` to ``ref - cut`` where ``cut > 0`` (material is only removed), with the
    reference level ``ref`` chosen so that the deepest deficit below the texture is exactly
    ``depth``: ``ref = max(window + cut) - depth`` over the cut (the tool reaches ``depth`` below
    the highest point it meets). Returns the new window and the cut region."""
    sub = cut > 0
    new = window.copy()
    if sub.any():
        ref = float(np.max(window[sub] + cut[sub])) - depth
        new[sub] = np.minimum(window[sub], ref - cut[sub])
    return new, sub


# --- path-based defects (scratch, crack) ----------------------------------------------------------------------

def _path(rng, shape, spacing, length, curved: bool, angle: float | None = None):
    """A polyline (points in metres, (n, 2) as (y, x)) of the given length inside the field."""
    height, width = shape[0] * spacing[0], shape[1] * spacing[1]
    angle = rng.uniform(0, np.pi) if angle is None else angle
    center = np.array([rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width])
    t = np.linspace(-0.5, 0.5, max(64, int(4 * length / min(spacing))))
    direction = np.array([math.sin(angle), math.cos(angle)])
    normal = np.array([direction[1], -direction[0]])
    bow = rng.uniform(-0.25, 0.25) * length if curved else 0.0
    points = center + np.outer(t * length, direction) + np.outer(bow * (1 - 4 * t ** 2), normal)
    return points, angle


def _distance_to_path(points, shape, spacing, reach):
    """Distance of every pixel within ``reach`` of the path, and the path parameter (0..1) of
    its nearest path point. Returns (slices, distance, t)."""
    lo = points.min(axis=0) - reach
    hi = points.max(axis=0) + reach
    rs = slice(max(0, int(lo[0] / spacing[0])), min(shape[0], int(math.ceil(hi[0] / spacing[0])) + 1))
    cs = slice(max(0, int(lo[1] / spacing[1])), min(shape[1], int(math.ceil(hi[1] / spacing[1])) + 1))
    yy, xx = np.mgrid[rs, cs]
    query = np.column_stack([yy.ravel() * spacing[0], xx.ravel() * spacing[1]])
    distance, index = cKDTree(points).query(query, distance_upper_bound=reach)
    distance = distance.reshape(yy.shape)
    index = np.minimum(index, len(points) - 1).reshape(yy.shape)
    return (rs, cs), distance, index / (len(points) - 1)


def scratch(z, rng, spacing, *, depth, width, length, section="V", curved=False, pileup=0.3, partial=False,
            tip_radius=None, angle=None):
    """Cut a scratch: a groove of ``section`` "V" or "U" along a straight or curved path, with
    pile-up ridges holding ``pileup`` of the removed volume, and optionally partial depth along
    the path (the scratching asperity lifting off)."""
    points, angle = _path(rng, z.shape, spacing, length, curved, angle)
    half = width / 2
    (rs, cs), d, t = _distance_to_path(points, z.shape, spacing, reach=2.5 * half + 2 * max(spacing))
    inside = np.isfinite(d)
    profile_t = np.ones_like(t)
    if partial:
        start, stop = sorted(rng.uniform(0, 1, 2))
        stop = max(stop, start + 0.3)
        profile_t = np.clip(np.sin(np.pi * np.clip((t - start) / (stop - start), 0, 1)) ** 0.5, 0, 1)
    ends = np.clip(np.minimum(t, 1 - t) * length / (2 * half), 0, 1)  # the groove runs out at its ends
    local_depth = depth * profile_t * ends
    u = np.where(inside, d, 1e9) / half
    shape_u = (1 - u) if section == "V" else np.sqrt(np.clip(1 - u ** 2, 0, None))
    cut = np.where(u < 1, local_depth * np.clip(shape_u, 0, None), 0.0)
    window = z[rs, cs]
    if not (cut > 0).any():
        return z, None
    new, groove = _carve(window, cut, depth)
    removed = float(np.sum(window - new))
    ridge = np.where(inside & (u >= 1.0), np.exp(-((u - 1.35) / 0.3) ** 2), 0.0) * (local_depth > 0)
    ridge[ridge < 0.05] = 0.0
    if pileup > 0 and ridge.sum() > 0:
        new += ridge * (pileup * removed / ridge.sum())
    out = z.copy()
    out[rs, cs] = new
    footprint = np.zeros(z.shape, bool)
    footprint[rs, cs] = groove | ((ridge > 0) if pileup > 0 else False)
    if tip_radius is None:
        tip_radius = width / 2 if section == "U" else max(min(spacing), 0.05 * width)
    nominal = {"depth": depth, "width": width, "length": length, "section": section, "curved": curved,
               "partial": partial, "pileup": pileup, "angle": angle}
    return out, PlacedDefect("scratch", footprint, float(tip_radius), nominal)


def crack(z, rng, spacing, *, depth, width, length, branches=2, angle=None):
    """A thin, deep crack: a jagged path (random walk around a line) with shallower side
    branches; the deepest point is ``depth`` below the texture."""
    cut = np.zeros(z.shape)
    trunk_angle = rng.uniform(0, np.pi) if angle is None else angle
    segments = [(None, trunk_angle, length, depth)]
    for _ in range(int(branches)):
        segments.append(("branch", trunk_angle + rng.choice([-1, 1]) * rng.uniform(0.4, 0.9),
                         length * rng.uniform(0.2, 0.45), depth * rng.uniform(0.4, 0.8)))
    origin = None
    half = max(width / 2, 0.75 * max(spacing))
    for role, seg_angle, seg_length, seg_depth in segments:
        points, _ = _path(rng, z.shape, spacing, seg_length, curved=False, angle=seg_angle)
        jag = np.cumsum(rng.normal(0, 0.35 * max(spacing), len(points)))
        normal = np.array([math.cos(seg_angle), -math.sin(seg_angle)])
        points = points + np.outer(jag - np.linspace(0, jag[-1], len(points)), normal)
        if role == "branch" and origin is not None:
            anchor = origin[rng.integers(len(origin) // 4, 3 * len(origin) // 4)]
            points = points - points[0] + anchor
        else:
            origin = points
        (rs, cs), d, t = _distance_to_path(points, z.shape, spacing, reach=half + 2 * max(spacing))
        taper = np.clip(np.minimum(t, 1 - t) * 8, 0, 1) if role is None else np.clip((1 - t) * 4, 0, 1)
        u = np.where(np.isfinite(d), d, 1e9) / half
        cut[rs, cs] = np.maximum(cut[rs, cs], np.where(u < 1, seg_depth * taper * (1 - u), 0.0))
    if not (cut > 0).any():
        return z, None
    out, footprint = _carve(z, cut, depth)
    nominal = {"depth": depth, "width": width, "length": length, "branches": int(branches), "angle": trunk_angle}
    return out, PlacedDefect("crack", footprint, float(max(min(spacing) * 0.25, width * 0.05)), nominal)


# --- local defects (dent, pit, inclusion) ----------------------------------------------------------------------

def _center(rng, shape, spacing, margin):
    height, width = shape[0] * spacing[0], shape[1] * spacing[1]
    return (rng.uniform(min(margin, height / 2), max(height - margin, height / 2)),
            rng.uniform(min(margin, width / 2), max(width - margin, width / 2)))


def dent(z, rng, spacing, *, depth, width, shape="spherical", rim=0.2, center=None):
    """An indentation of diameter ``width``, spherical or conical, ``depth`` below the highest
    texture it meets, with a raised rim (pile-up) holding ``rim`` of the displaced volume."""
    a = width / 2
    cy, cx = center or _center(rng, z.shape, spacing, 1.6 * a)
    rs, cs = _window((cy, cx), 1.8 * a, z.shape, spacing)
    y, x = grid_coordinates(z.shape, spacing)
    r = np.sqrt((y[rs] - cy) ** 2 + (x[:, cs] - cx) ** 2)
    if shape == "spherical":
        radius = (a ** 2 + depth ** 2) / (2 * depth)  # sphere through the rim circle and the bottom
        indenter = depth - (radius - np.sqrt(np.clip(radius ** 2 - r ** 2, 0, None)))
        root = radius
    else:
        indenter = depth * (1 - r / a)
        root = max(min(spacing), 0.02 * a)
    cut = np.where(r < a, np.clip(indenter, 0, None), 0.0)
    if not (cut > 0).any():
        return z, None
    window = z[rs, cs]
    new, sub = _carve(window, cut, depth)
    removed = float(np.sum(window - new))
    ring = np.where(r >= a, np.exp(-((r / a - 1.15) / 0.15) ** 2), 0.0)
    ring[ring < 0.05] = 0.0
    if rim > 0 and ring.sum() > 0:
        new += ring * (rim * removed / ring.sum())
    out = z.copy()
    out[rs, cs] = new
    footprint = np.zeros(z.shape, bool)
    footprint[rs, cs] = sub | (ring > 0)
    return out, PlacedDefect("dent", footprint, float(root), {"depth": depth, "width": width, "shape": str(shape), "rim": rim})


def pit(z, rng, spacing, *, depth, width, cluster=1):
    """Corrosion pit(s): hemispheroidal cavities with ragged rims; ``cluster`` pits close
    together, the first (largest) ``depth`` deep."""
    cut = np.zeros(z.shape)
    cy0, cx0 = _center(rng, z.shape, spacing, width * (1 + 0.8 * (cluster > 1)))
    y, x = grid_coordinates(z.shape, spacing)
    for k in range(int(cluster)):
        a = width / 2 * (1 if k == 0 else rng.uniform(0.4, 0.8))
        h = depth * (1 if k == 0 else rng.uniform(0.4, 0.9))
        cy = cy0 + (0 if k == 0 else rng.normal(0, width * 0.6))
        cx = cx0 + (0 if k == 0 else rng.normal(0, width * 0.6))
        rs, cs = _window((cy, cx), 1.4 * a, z.shape, spacing)
        dyy, dxx = y[rs] - cy, x[:, cs] - cx
        theta = np.arctan2(dyy, dxx)
        harmonics = sum(rng.normal(0, 0.08 / m) * np.cos(m * theta + rng.uniform(0, 2 * np.pi)) for m in range(2, 7))
        rho = np.sqrt(dyy ** 2 + dxx ** 2) / (a * (1 + harmonics))
        cut[rs, cs] = np.maximum(cut[rs, cs], np.where(rho < 1, h * np.sqrt(np.clip(1 - rho ** 2, 0, None)), 0.0))
    if not (cut > 0).any():
        return z, None
    out, footprint = _carve(z, cut, depth)
    # a hemispheroid's bottom radius of curvature: a^2 / h
    return out, PlacedDefect("pit", footprint, float((width / 2) ** 2 / depth), {"depth": depth, "width": width, "cluster": int(cluster)})


def inclusion(z, rng, spacing, *, depth, width, protrusion=None):
    """A hard inclusion: a particle of diameter ``width`` protruding by ``protrusion`` (default
    half the crevice depth), ringed by a debonding crevice ``depth`` deep."""
    a = width / 2
    protrusion = depth * 0.5 if protrusion is None else protrusion
    cy, cx = _center(rng, z.shape, spacing, 1.5 * a)
    rs, cs = _window((cy, cx), 1.5 * a, z.shape, spacing)
    y, x = grid_coordinates(z.shape, spacing)
    r = np.sqrt((y[rs] - cy) ** 2 + (x[:, cs] - cx) ** 2)
    window = z[rs, cs]
    body = r < a
    gap_width = max(1.5 * max(spacing), 0.12 * a)
    crevice = np.abs(r - a - gap_width / 2) < gap_width / 2
    if not body.any() or not crevice.any():
        return z, None
    ref = _reference(window, body | crevice)
    new, _ = _carve(window, np.where(crevice, depth, 0.0), depth)
    # the particle stands proud of the surface; it never lies below the texture
    new[body] = np.maximum(window[body], ref + protrusion * np.sqrt(np.clip(1 - (r[body] / a) ** 2, 0, None)))
    out = z.copy()
    out[rs, cs] = new
    footprint = np.zeros(z.shape, bool)
    footprint[rs, cs] = body | crevice
    return out, PlacedDefect("inclusion", footprint, float(gap_width / 2), {"depth": depth, "width": width, "protrusion": protrusion})


APPLY = {"scratch": scratch, "dent": dent, "pit": pit, "crack": crack, "inclusion": inclusion}


def default_geometry(kind: str, rng: np.random.Generator, field_size: float, texture_Sq: float,
                     overrides: dict[str, float] | None = None) -> dict[str, Any]:
    """Draw a defect's geometry, scaled to the field and the texture so that it is visible:
    depth several times Sq, width and length a fraction of the field."""
    o = {k.removeprefix("defect_"): v for k, v in (overrides or {}).items() if v is not None}
    depth = o.get("depth", texture_Sq * rng.uniform(4, 15))
    if kind == "scratch":
        g = {"depth": depth, "width": o.get("width", field_size * rng.uniform(0.02, 0.06)),
             "length": o.get("length", field_size * rng.uniform(0.4, 0.9)), "section": rng.choice(["V", "U"]),
             "curved": bool(rng.random() < 0.4), "partial": bool(rng.random() < 0.3), "pileup": rng.uniform(0.1, 0.5)}
    elif kind == "crack":
        g = {"depth": o.get("depth", texture_Sq * rng.uniform(10, 30)), "width": o.get("width", field_size * 0.008),
             "length": o.get("length", field_size * rng.uniform(0.3, 0.7)), "branches": int(rng.integers(0, 3))}
    elif kind == "dent":
        g = {"depth": depth, "width": o.get("width", field_size * rng.uniform(0.06, 0.18)),
             "shape": rng.choice(["spherical", "conical"]), "rim": rng.uniform(0.1, 0.4)}
    elif kind == "pit":
        g = {"depth": depth, "width": o.get("width", field_size * rng.uniform(0.03, 0.1)),
             "cluster": int(rng.choice([1, 1, 2, 3]))}
    elif kind == "inclusion":
        g = {"depth": depth, "width": o.get("width", field_size * rng.uniform(0.04, 0.1))}
    else:
        raise InputError(f"unknown defect kind {kind!r}; known: {', '.join(KINDS)}")
    return g


def measure_defects(texture: np.ndarray, truth: np.ndarray, placed: list[PlacedDefect],
                    spacing: tuple[float, float]) -> list[Defect]:
    """Measure each placed defect on the data (see the module docstring for the definitions)."""
    records = []
    deficit = texture - truth
    cell = spacing[0] * spacing[1]
    for p in placed:
        mask = p.footprint
        depth = float(np.max(deficit[mask])) if mask.any() else 0.0
        height = float(np.max(-deficit[mask])) if mask.any() else 0.0
        # plan-view extent of the cavity (where material is missing); the mask as a fallback
        cavity = mask & (deficit > 0)
        yy, xx = np.nonzero(cavity if cavity.sum() > 1 else mask)
        py, px = yy * spacing[0], xx * spacing[1]
        if len(py) > 1:
            cov = np.cov(np.vstack([px, py]))
            evals, evecs = np.linalg.eigh(cov)
            major = evecs[:, 1]
            orientation = float(math.atan2(major[1], major[0]) % math.pi)
        else:
            orientation, major = 0.0, np.array([1.0, 0.0])
        along = px * major[0] + py * major[1]
        across = -px * major[1] + py * major[0]
        length = float(np.ptp(along) + max(spacing)) if len(along) else 0.0
        width = float(np.ptp(across) + max(spacing)) if len(across) else 0.0
        area = float(mask.sum() * cell)
        # cross-section normal to a load across the long axis: deficit integrated along the axis
        positive = np.clip(deficit, 0, None) * mask
        bins = np.floor((along - along.min()) / max(spacing)).astype(int) if len(along) else np.zeros(0, int)
        if len(bins):
            per_bin = np.zeros(bins.max() + 1)
            np.maximum.at(per_bin, bins, positive[yy, xx])
            projected = float(per_bin.sum() * max(spacing))
        else:
            projected = 0.0
        records.append(Defect(p.kind, mask, depth_m=depth, width_m=width, length_m=length, area_m2=area,
                              sqrt_area_m=math.sqrt(projected), root_radius_m=p.root_radius_m,
                              orientation_rad=orientation, height_m=height,
                              x_m=float(px.mean()) if len(px) else 0.0, y_m=float(py.mean()) if len(py) else 0.0,
                              nominal=p.nominal))
    return records


def add_defects(texture: np.ndarray, spacing: tuple[float, float], kinds: list[str], rng: np.random.Generator,
                texture_Sq: float, overrides: dict[str, float] | None = None) -> tuple[np.ndarray, list[Defect]]:
    """Place one defect of each kind in ``kinds`` on ``texture``; return the truth and records."""
    truth = texture.copy()
    placed = []
    field_size = min(texture.shape[0] * spacing[0], texture.shape[1] * spacing[1])
    for kind in kinds:
        if kind not in APPLY:
            raise InputError(f"unknown defect kind {kind!r}; known: {', '.join(KINDS)}")
        geometry = default_geometry(kind, rng, field_size, texture_Sq, overrides)
        before = truth
        truth, p = APPLY[kind](truth, rng, spacing, **geometry)
        if p is not None:
            # the mask covers every pixel this defect changed, whatever its geometry says
            p.footprint = p.footprint | (truth != before)
            placed.append(p)
    return truth, measure_defects(texture, truth, placed, spacing)


def label_map(records: list[Defect], shape: tuple[int, int]) -> np.ndarray:
    """Per-pixel class index: 0 background, 1 + index in :data:`KINDS` for each defect kind
    (later defects drawn over earlier ones)."""
    labels = np.zeros(shape, np.uint8)
    for record in records:
        labels[record.mask] = 1 + KINDS.index(record.kind)
    return labels
