"""Profile parameters of ISO 21920-2 (and ISO 4287 / ISO 13565-2) on primary, waviness and roughness profiles.

The flow of :func:`profile_parameters` is the ISO 21920-3 specification operator:

1. form removal (F-operation): the least-squares straight line (:func:`~surfsight.metrology.prepare.level_line`);
2. S-filter ``lambda_s`` -> primary profile P (ISO 16610-21 Gaussian);
3. L-filter ``lambda_c`` -> waviness W (the mean line) and roughness R = P - W;
4. the evaluation length is taken from the middle of the filtered profile, made of whole
   sections (sampling lengths) of ``lambda_c`` each, at most ``n_sections`` (default 5, ISO 21920-3);
5. parameters, named with the profile letter: ``Pa``, ``Wq``, ``Rz``, ``RSm`` ...

Conventions (ISO 21920-2:2021 unless noted)
-------------------------------------------
* ``Xa``, ``Xq``, ``Xsk``, ``Xku``, ``Xdq``, ``XSm``, ``Xmr``, ``Xdc`` and the ISO 13565-2 set
  (``Rk``, ``Rpk``, ``Rvk``, ``Mr1``, ``Mr2``) are evaluated over the whole evaluation length.
* ``Xp``, ``Xv``, ``Xz`` are means of the per-section values (``Rz = mean(Rz_i)``); ``Xt`` is
  the peak-to-valley over the evaluation length. For P and W the section is the whole
  evaluation length (so ``Pz = Pt``, ``Wz = Wt``), for R it is ``lambda_c``.
* Heights are measured from the mean line (R: the Gaussian mean line; P, W: the least-squares
  line), they are not re-centred.
* Material ratios (``Xmr``, ``Mr1``, ``Mr2``, and the arguments of ``Xdc``) are in per cent, as
  ISO 21920-2 and ISO 13565-2 write them and as the areal ``Smr1``, ``Smr2``, ``Smr(c)`` are; slopes
  (``Rdq``) are dimensionless (m/m); lengths are metres. :data:`PROFILE_PARAMETERS` gives the unit,
  family, reference and description of every name.
* Invalid (NaN) points are left out of every sum; a section without valid points is skipped,
  and a parameter that cannot be evaluated raises :class:`~surfsight.errors.ParameterError`.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ParameterError
from ..surface import Profile, Surface
from .filters import profile_filters
from .prepare import level_line

__all__ = [
    "PROFILE_PARAMETER_NAMES",
    "PROFILE_PARAMETERS",
    "ProfileParameterInfo",
    "profile_parameters",
    "row_profile_parameters",
    "amplitude_parameters",
    "section_heights",
    "mean_width",
    "slope_7point",
    "rms_slope",
    "profile_material_ratio",
    "profile_material_ratio_height",
    "profile_material_ratio_curve",
    "rk_parameters",
]

_BASIC = ("a", "q", "p", "v", "z", "t", "sk", "ku", "Sm", "dq", "mr", "dc")
_RK = ("Rk", "Rpk", "Rvk", "Mr1", "Mr2")
#: Every name :func:`profile_parameters` knows, in a stable order.
PROFILE_PARAMETER_NAMES: tuple[str, ...] = tuple(
    f"{prefix}{suffix}" for prefix in ("P", "W", "R") for suffix in _BASIC
) + _RK


@dataclass(frozen=True)
class ProfileParameterInfo:
    """What the profile registry knows about one parameter.

    Attributes
    ----------
    name
        Symbol as computed here (``"Ra"``, ``"WSm"``, ``"Mr1"``).
    unit
        Unit of the value returned: ``"m"``, ``"1"`` (dimensionless) or ``"%"``.
    family
        The profile it is evaluated on: ``"primary"`` (P), ``"waviness"`` (W) or ``"roughness"`` (R).
    reference
        ISO 21920-2:2021 names the parameter; the clause given is the one of the withdrawn standard
        whose definition ISO 21920-2 carries over (ISO 4287:1997 or ISO 13565-2:1996), because the
        clause numbers of ISO 21920-2 could not be checked against its text (see
        docs/metrology/filters-and-profiles.md).
    description
        One line in plain words.
    """

    name: str
    unit: str
    family: str
    reference: str
    description: str


_FAMILIES = {"P": "primary", "W": "waviness", "R": "roughness"}
# suffix -> (unit, ISO 4287:1997 clause, description)
_BASIC_INFO = {
    "a": ("m", "4.2.1", "arithmetic mean deviation (mean |Z|) over the evaluation length"),
    "q": ("m", "4.2.2", "root mean square deviation over the evaluation length"),
    "p": ("m", "4.1.1", "maximum peak height, mean over the sections"),
    "v": ("m", "4.1.2", "maximum valley depth (positive), mean over the sections"),
    "z": ("m", "4.1.3", "maximum height Xp + Xv, mean over the sections"),
    "t": ("m", "4.1.5", "total height, peak to valley over the evaluation length"),
    "sk": ("1", "4.2.3", "skewness of the height distribution"),
    "ku": ("1", "4.2.4", "kurtosis of the height distribution"),
    "Sm": ("m", "4.3.1", "mean width of the profile elements"),
    "dq": ("1", "4.4.1", "root mean square slope (7-point differentiator)"),
    "mr": ("%", "4.5.1", "material ratio at height c from the mean line (c = 0 by default)"),
    "dc": ("m", "4.5.3", "section height difference c(20 %) - c(80 %)"),
}
_RK_INFO = {
    "Rk": ("m", "core height (ISO 13565-2 equivalent straight line)"),
    "Rpk": ("m", "reduced peak height"),
    "Rvk": ("m", "reduced valley depth"),
    "Mr1": ("%", "material ratio at the top of the core (Rmr1 in ISO 21920-2)"),
    "Mr2": ("%", "material ratio at the bottom of the core (Rmr2 in ISO 21920-2)"),
}

#: Every profile parameter by symbol: unit, family, reference and description.
PROFILE_PARAMETERS: dict[str, ProfileParameterInfo] = {
    **{f"{prefix}{suffix}": ProfileParameterInfo(
        f"{prefix}{suffix}", unit, _FAMILIES[prefix],
        f"ISO 21920-2:2021 ({prefix}{suffix}); as ISO 4287:1997 {clause}", description)
       for prefix in ("P", "W", "R") for suffix, (unit, clause, description) in _BASIC_INFO.items()},
    **{name: ProfileParameterInfo(name, unit, "roughness", "ISO 21920-2:2021; as ISO 13565-2:1996 clause 4", description)
       for name, (unit, description) in _RK_INFO.items()},
}
assert tuple(PROFILE_PARAMETERS) == PROFILE_PARAMETER_NAMES


# ----------------------------------------------------------------------------------------------
# array-level building blocks (heights in metres from the mean line, NaN = invalid)
# ----------------------------------------------------------------------------------------------
def _valid(z: np.ndarray, what: str) -> np.ndarray:
    v = z[np.isfinite(z)]
    if v.size == 0:
        raise ParameterError(f"{what}: the profile has no valid points in the evaluation length")
    return v


def _mean_abs(z: np.ndarray) -> float:
    return float(np.mean(np.abs(_valid(z, "Ra"))))


def amplitude_parameters(z: np.ndarray) -> dict[str, float]:
    """``a``, ``q``, ``sk``, ``ku``, ``t`` over the evaluation length (ISO 21920-2:2021; as ISO 4287:1997
    4.2.1-4.2.4 and 4.1.5).

    ``Xa = mean|Z|``, ``Xq = sqrt(mean Z^2)``, ``Xsk = mean Z^3 / Xq^3``, ``Xku = mean Z^4 / Xq^4``,
    ``Xt = max Z - min Z``; ``Z`` measured from the mean line, valid points only.
    ``Xsk`` and ``Xku`` raise for a flat profile (``Xq = 0``).
    """
    v = _valid(np.asarray(z, dtype=np.float64), "amplitude parameters")
    q = float(np.sqrt(np.mean(v * v)))
    out = {"a": float(np.mean(np.abs(v))), "q": q, "t": float(v.max() - v.min())}
    if q > 0:
        out["sk"] = float(np.mean(v**3) / q**3)
        out["ku"] = float(np.mean(v**4) / q**4)
    return out


def section_heights(z: np.ndarray, n_sections: int) -> dict[str, float]:
    """Mean peak height ``p``, valley depth ``v`` and height ``z`` over ``n_sections`` sections.

    The evaluation length ``z`` is split into ``n_sections`` equal sections (boundaries rounded to
    the nearest sample). ``Rp_i = max Z``, ``Rv_i = -min Z``, ``Rz_i = Rp_i + Rv_i`` in section
    ``i``; the results are the means over the sections (ISO 21920-2:2021; ISO 4287:1997
    4.1.1-4.1.3; default number of sections 5, ISO 21920-3). Sections without a valid point are skipped.
    """
    z = np.asarray(z, dtype=np.float64)
    if not isinstance(n_sections, (int, np.integer)) or n_sections < 1 or n_sections > z.size:
        raise ParameterError(f"section parameters need 1..{z.size} sections, got {n_sections!r}")
    bounds = np.rint(np.linspace(0, z.size, n_sections + 1)).astype(int)
    peaks, valleys = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        block = z[a:b]
        block = block[np.isfinite(block)]
        if block.size:
            peaks.append(block.max())
            valleys.append(-block.min())
    if not peaks:
        raise ParameterError("section parameters: no section has a valid point")
    p, v = np.array(peaks), np.array(valleys)
    return {"p": float(p.mean()), "v": float(v.mean()), "z": float((p + v).mean()), "sections": len(peaks)}


def _sections_in(n_points: int, dx: float, sampling_length: float) -> int:
    """Whole sampling lengths in ``n_points`` samples (tolerant to the rounding of ``dx``)."""
    return int(math.floor(n_points * dx / sampling_length + 1e-6))


def slope_7point(z: np.ndarray, dx: float) -> np.ndarray:
    """Local slope by the 7-point differentiator (the local-slope formula of ISO 4287:1997,
    carried into ISO 21920-2:2021; clause not checked against the text):

    ``dZ/dx_i = (Z_{i+3} - 9 Z_{i+2} + 45 Z_{i+1} - 45 Z_{i-1} + 9 Z_{i-2} - Z_{i-3}) / (60 dx)``.

    The three points at each end, and points whose stencil touches NaN, are NaN.
    """
    z = np.asarray(z, dtype=np.float64)
    out = np.full(z.shape, np.nan)
    if z.size < 7:
        return out
    c = slice(3, z.size - 3)
    out[c] = (z[6:] - 9 * z[5:-1] + 45 * z[4:-2] - 45 * z[2:-4] + 9 * z[1:-5] - z[:-6]) / (60.0 * dx)
    return out


def rms_slope(z: np.ndarray, dx: float) -> float:
    """``Xdq``: root-mean-square slope over the evaluation length with :func:`slope_7point`."""
    s = slope_7point(z, dx)
    s = s[np.isfinite(s)]
    if s.size == 0:
        raise ParameterError("Rdq: fewer than 7 consecutive valid points")
    return float(np.sqrt(np.mean(s * s)))


def mean_width(z: np.ndarray, dx: float, sampling_length: float, *, height_fraction: float = 0.1,
               width_fraction: float = 0.01, rz: float | None = None) -> float:
    """``XSm``: mean width of the profile elements (ISO 21920-2:2021; ISO 4287:1997 4.3.1).

    The profile is cut into portions above and below the mean line (crossings located by linear
    interpolation). A portion whose peak height (or valley depth) is below ``height_fraction *
    Rz`` (10 % of Rz) or whose width is below ``width_fraction * sampling_length`` (1 %) is not
    a peak or valley of its own: the smallest such portion is merged with its neighbours, and
    so on until all remaining portions pass both tests. A profile element is a peak and the
    following valley; ``XSm`` is the mean distance between successive up-crossings bounding
    complete elements. Runs of invalid points split the profile; no element spans them.

    Parameters
    ----------
    z
        Heights from the mean line over the evaluation length (metres).
    dx
        Sampling interval (metres).
    sampling_length
        Section length (for the width discrimination and, if ``rz`` is None, for Rz).
    rz
        ``Rz`` for the height discrimination; computed from ``z`` if None.
    """
    z = np.asarray(z, dtype=np.float64)
    if rz is None:
        rz = section_heights(z, max(1, _sections_in(z.size, dx, sampling_length)))["z"]
    h_min = height_fraction * rz
    w_min = width_fraction * sampling_length
    widths: list[float] = []
    valid = np.isfinite(z)
    # split into runs of valid points
    edges = np.flatnonzero(np.diff(np.concatenate(([0], valid.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        widths.extend(_element_widths(z[start:stop], dx, h_min, w_min))
    if not widths:
        raise ParameterError("RSm: no complete profile element (peak and valley both above the height "
                             "and width discrimination) in the evaluation length")
    return float(np.mean(widths))


def _element_widths(z: np.ndarray, dx: float, h_min: float, w_min: float) -> list[float]:
    if z.size < 3:
        return []
    positive = z >= 0
    change = np.flatnonzero(positive[1:] != positive[:-1])  # crossing between i and i+1
    if change.size < 2:
        return []
    zi, zj = z[change], z[change + 1]
    xc = (change + zi / (zi - zj)) * dx  # interpolated crossing positions
    bounds = np.concatenate(([0], change + 1, [z.size]))
    # portions: sign, start crossing (nan at run start), end crossing, extreme height
    n = bounds.size - 1
    sign = np.array([1.0 if positive[bounds[k]] else -1.0 for k in range(n)])
    extreme = np.array([float(np.max(sign[k] * z[bounds[k]:bounds[k + 1]])) for k in range(n)])
    left = np.concatenate(([np.nan], xc))
    right = np.concatenate((xc, [np.nan]))
    # doubly linked list of portions, merged smallest-first with a heap
    prev = list(range(-1, n - 1))
    nxt = list(range(1, n + 1))
    alive = [True] * n
    version = [0] * n

    def badness(k: int) -> float:
        width = right[k] - left[k]
        score = extreme[k] / h_min if h_min > 0 else math.inf
        if np.isfinite(width) and w_min > 0:
            score = min(score, width / w_min)
        return score

    heap = [(badness(k), k, 0) for k in range(n)]
    heapq.heapify(heap)
    while heap:
        score, k, ver = heapq.heappop(heap)
        if not alive[k] or ver != version[k]:
            continue  # stale entry
        if score >= 1.0:
            break  # the worst remaining portion passes both tests: done
        a, b = prev[k], nxt[k]
        a = a if a >= 0 else None
        b = b if b < n else None
        if a is None and b is None:
            break
        # merge k into its neighbours (of the opposite sign): a + k + b become one portion
        keep = a if a is not None else b
        alive[k] = False
        if a is not None and b is not None:
            extreme[a] = max(extreme[a], extreme[b])
            right[a] = right[b]
            alive[b] = False
            nxt[a] = nxt[b]
            if nxt[b] < n:
                prev[nxt[b]] = a
        elif a is None:  # first portion: b now starts the run
            left[b] = np.nan
            prev[b] = -1
        else:  # last portion: a now ends the run
            right[a] = np.nan
            nxt[a] = n
        version[keep] += 1  # type: ignore[index]
        heapq.heappush(heap, (badness(keep), keep, version[keep]))  # type: ignore[arg-type]
    starts = [left[k] for k in range(n) if alive[k] and sign[k] > 0 and np.isfinite(left[k])]
    # an element (peak + following valley) is complete when the valley ends at a crossing too;
    # successive up-crossings bound exactly the complete elements
    return list(np.diff(starts)) if len(starts) > 1 else []


def profile_material_ratio_curve(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Material ratio (Abbott-Firestone) curve, ISO 4287:1997 4.5.2 / ISO 13565-2: ``(ratio, height)``.

    Heights sorted from the highest down; ``ratio[i] = 100 (i + 0.5) / n`` in per cent.
    """
    v = np.sort(_valid(np.asarray(z, dtype=np.float64), "material ratio"))[::-1]
    return 100.0 * (np.arange(v.size) + 0.5) / v.size, v


def profile_material_ratio(z: np.ndarray, c: float) -> float:
    """``Xmr(c)`` in per cent: share of the evaluation length where the profile is at or above height ``c``."""
    v = _valid(np.asarray(z, dtype=np.float64), "Rmr")
    return float(100.0 * np.mean(v >= c))


def profile_material_ratio_height(z: np.ndarray, ratio: float) -> float:
    """Inverse of :func:`profile_material_ratio`: the height ``c`` at which the material ratio is
    ``ratio`` per cent (0..100)."""
    if not 0.0 <= ratio <= 100.0:
        raise InputError(f"material ratio must be within 0..100 %, got {ratio!r}")
    v = _valid(np.asarray(z, dtype=np.float64), "Rmc")
    return float(np.quantile(v, 1.0 - ratio / 100.0))


def rk_parameters(z: np.ndarray, *, window: float = 0.4) -> dict[str, float]:
    """ISO 13565-2 core roughness parameters ``Rk``, ``Rpk``, ``Rvk``, ``Mr1``, ``Mr2``.

    The equivalent straight line is found on the material ratio curve: among all secants that
    span ``window`` (40 %) of material ratio, the one with the smallest gradient locates the
    central region, and the least-squares line through the curve points of that region is the
    equivalent straight line (ISO 13565-2:1996, 4.3). Its heights at ratio 0 and 1 bound the
    core: ``Rk`` is their difference; ``Mr1`` / ``Mr2`` are the material ratios at the upper /
    lower bound. ``Rpk = 2 A1 / Mr1`` and ``Rvk = 2 A2 / (1 - Mr2)`` are the heights of the
    triangles with the areas ``A1`` (peaks above the core) and ``A2`` (valleys below it).
    ``Mr1`` and ``Mr2`` are returned in per cent (the computation works with fractions).
    """
    ratio, h = profile_material_ratio_curve(z)
    ratio = ratio / 100.0
    n = h.size
    w = int(round(window * n))
    if n < 10 or w < 2:
        raise ParameterError(f"Rk: need at least 10 valid points, got {n}")
    drop = h[: n - w] - h[w:]  # height fall across each 40 % secant (>= 0)
    i = int(np.argmin(drop))
    seg = slice(i, i + w + 1)
    slope, intercept = np.polyfit(ratio[seg], h[seg], 1)
    top = intercept
    bottom = intercept + slope
    rk = float(top - bottom)
    mr1 = float(np.mean(h > top))
    mr2 = float(np.mean(h > bottom))
    a1 = float(np.sum(np.clip(h - top, 0, None))) / n
    a2 = float(np.sum(np.clip(bottom - h, 0, None))) / n
    rpk = 2 * a1 / mr1 if mr1 > 0 else 0.0
    rvk = 2 * a2 / (1 - mr2) if mr2 < 1 else 0.0
    return {"Rk": rk, "Rpk": rpk, "Rvk": rvk, "Mr1": 100.0 * mr1, "Mr2": 100.0 * mr2}


# ----------------------------------------------------------------------------------------------
# the specification operator
# ----------------------------------------------------------------------------------------------
def _names(names: Iterable[str] | None) -> list[str]:
    if names is None:
        return list(PROFILE_PARAMETER_NAMES)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    unknown = [n for n in names if n not in PROFILE_PARAMETER_NAMES]
    if unknown:
        raise InputError(f"unknown profile parameter(s) {unknown}; known: {', '.join(PROFILE_PARAMETER_NAMES)}")
    return names


def _profile_values(z: np.ndarray, dx: float, prefix: str, wanted: list[str], n_sec: int, lr: float,
                    rmr_c: float, rdc: tuple[float, float], errors: dict[str, str]) -> dict[str, float]:
    """Values of the ``prefix`` parameters in ``wanted``; failures go to ``errors`` by name."""
    out: dict[str, float] = {}
    suffixes = [n[1:] for n in wanted if n.startswith(prefix) and n[1:] in _BASIC]
    cache: dict[str, Any] = {}

    def amp() -> dict[str, float]:
        if "amp" not in cache:
            cache["amp"] = amplitude_parameters(z)
        return cache["amp"]

    def sec() -> dict[str, float]:
        if "sec" not in cache:
            cache["sec"] = section_heights(z, n_sec)
        return cache["sec"]

    def one(s: str) -> float:
        if s in ("a", "q", "t", "sk", "ku"):
            values = amp()
            if s not in values:
                raise ParameterError(f"{prefix}{s}: undefined for a flat profile ({prefix}q = 0)")
            return values[s]
        if s in ("p", "v", "z"):
            return sec()[s]
        if s == "Sm":
            return mean_width(z, dx, lr, rz=sec()["z"])
        if s == "dq":
            return rms_slope(z, dx)
        if s == "mr":
            return profile_material_ratio(z, rmr_c)
        return profile_material_ratio_height(z, rdc[0]) - profile_material_ratio_height(z, rdc[1])  # "dc"

    for s in suffixes:
        try:
            out[prefix + s] = one(s)
        except ParameterError as exc:
            errors[prefix + s] = str(exc)
    return out


def profile_parameters(profile: Profile, names: Iterable[str] | None = None, lambda_s: float | None = None,
                       lambda_c: float | None = None, *, lambda_f: float | None = None,
                       sampling_length: float | None = None, evaluation_length: float | None = None,
                       n_sections: int = 5, level: bool = True, ends: str = "renormalise",
                       rmr_c: float = 0.0, rdc: tuple[float, float] = (20.0, 80.0),
                       details: dict[str, Any] | None = None) -> dict[str, float]:
    """ISO 21920-2 profile parameters of a measured profile, in SI units.

    Parameters
    ----------
    profile
        The total profile (heights in metres, NaN allowed).
    names
        Parameters to compute (see :data:`PROFILE_PARAMETER_NAMES`); all by default.
    lambda_s, lambda_c
        Cut-offs in metres. ``lambda_c`` None: chosen by the ISO 4288 / ISO 21920-3 iteration
        (:func:`~surfsight.metrology.nesting.default_profile_cutoff`). ``lambda_s`` None: from the
        ISO 21920-3 table for ``lambda_c`` (2.5, 2.5, 2.5, 8, 25 um); 0 means no S-filter. An
        S-filter shorter than two sampling intervals is skipped (it would do nothing).
    lambda_f
        Optional long-wave cut-off of the waviness profile.
    sampling_length
        Section length for the R section parameters; ``lambda_c`` by default (ISO 21920-3).
    evaluation_length
        Length evaluated, centred in the profile; default ``k * sampling_length`` with ``k`` the
        number of whole sections that fit, at most ``n_sections`` (5, ISO 21920-3).
    level
        Remove the least-squares line first (the default F-operation).
    ends
        End treatment of the filters (ISO 16610-28), see :mod:`surfsight.metrology.filters`.
    rmr_c
        Height (metres, from the mean line) at which ``Xmr`` is evaluated (default 0: material
        ratio at the mean line). ISO 4287 measured ``c`` down from the highest peak; use
        :func:`profile_material_ratio` directly for that.
    rdc
        Material ratios in per cent ``(Rmr1, Rmr2)`` of ``Xdc = c(Rmr1) - c(Rmr2)``; (20, 80) by default.
    details
        If a dict is given, it receives the lengths and cut-offs used, the filtered profiles and
        ``undefined``: ``{name: reason}`` for parameters that could not be evaluated.

    Returns
    -------
    dict
        ``{name: value}`` in the units of :data:`PROFILE_PARAMETERS`: heights and widths in
        metres, material ratios in per cent, slopes in m/m. With ``names``
        given, a parameter that cannot be evaluated (e.g. ``WSm`` of a profile without waviness)
        raises :class:`~surfsight.errors.ParameterError`; with ``names=None`` it is left out of
        the result and its reason is put in ``details["undefined"]``.
    """
    if isinstance(profile, Surface):
        raise InputError("profile_parameters takes a Profile; use row_profile_parameters for each row of a Surface")
    if not isinstance(profile, Profile):
        raise InputError(f"profile_parameters needs a Profile, got {type(profile).__name__}")
    wanted = _names(names)
    from .nesting import PROFILE_CUTOFFS, default_profile_cutoff

    work = level_line(profile) if level else profile
    choice = None
    if lambda_c is None:
        choice = default_profile_cutoff(profile)
        lambda_c = choice.lambda_c
        if lambda_s is None:
            lambda_s = choice.lambda_s
    if not (lambda_c > 0):
        raise InputError(f"lambda_c must be a positive length in metres, got {lambda_c!r}")
    if lambda_s is None:
        row = min(PROFILE_CUTOFFS, key=lambda r: abs(math.log(r.lambda_c / lambda_c)))
        lambda_s = row.lambda_s
    s_used: float | None = lambda_s if lambda_s and lambda_s > 2 * profile.dx else None
    parts = profile_filters(work, s_used, lambda_c, lambda_f, ends=ends)  # type: ignore[arg-type]

    lr = float(sampling_length) if sampling_length else float(lambda_c)
    n_total = profile.heights.size
    if lr < profile.dx:
        raise InputError(f"sampling length {lr} m is shorter than the sampling interval {profile.dx} m")
    if evaluation_length is None:
        k = min(int(n_sections), _sections_in(n_total, profile.dx, lr))
        if k < 1:
            raise ParameterError(f"the profile ({profile.length_m:.4g} m) is shorter than one sampling length "
                                 f"({lr:.4g} m); choose a shorter lambda_c or measure a longer profile")
        n_eval = min(n_total, int(round(k * lr / profile.dx)))
    else:
        n_eval = int(round(evaluation_length / profile.dx))
        if not 1 <= n_eval <= n_total:
            raise InputError(f"evaluation length {evaluation_length} m does not fit the profile "
                             f"({profile.length_m:.4g} m)")
        k = _sections_in(n_eval, profile.dx, lr)
    first = (n_total - n_eval) // 2
    window = slice(first, first + n_eval)
    z = {key: parts[key].heights[window] for key in ("primary", "waviness", "roughness")}

    out: dict[str, float] = {}
    errors: dict[str, str] = {}
    out.update(_profile_values(z["primary"], profile.dx, "P", wanted, 1, lr, rmr_c, rdc, errors))
    out.update(_profile_values(z["waviness"], profile.dx, "W", wanted, 1, lr, rmr_c, rdc, errors))
    out.update(_profile_values(z["roughness"], profile.dx, "R", wanted, k, lr, rmr_c, rdc, errors))
    if any(n in _RK for n in wanted):
        try:
            rk = rk_parameters(z["roughness"])
            out.update({n: rk[n] for n in _RK if n in wanted})
        except ParameterError as exc:
            errors.update({n: str(exc) for n in _RK if n in wanted})
    if errors and names is not None:
        raise ParameterError("; ".join(f"{n}: {msg}" for n, msg in errors.items()))
    if details is not None:
        details.update(lambda_s=s_used, lambda_c=float(lambda_c), lambda_f=lambda_f, sampling_length=lr,
                       evaluation_length=n_eval * profile.dx, sections=k,
                       evaluation_slice=(first, first + n_eval), profiles=parts,
                       cutoff_choice=choice, undefined=errors)
    return {n: out[n] for n in wanted if n in out}


def row_profile_parameters(surface: Surface, names: Iterable[str] | None = None, lambda_s: float | None = None,
                           lambda_c: float | None = None, *, axis: str = "x",
                           **options: Any) -> dict[str, np.ndarray]:
    """:func:`profile_parameters` of every row (``axis="x"``) or column (``axis="y"``) of a surface.

    Returns ``{name: array}`` with one value per profile (NaN where a profile has no valid data
    or the parameter is undefined for it). ``lambda_c`` should be given: otherwise it is chosen
    once from the middle profile and used for all, so that the rows are comparable.
    """
    if not isinstance(surface, Surface):
        raise InputError(f"row_profile_parameters needs a Surface, got {type(surface).__name__}")
    if axis not in ("x", "y"):
        raise InputError(f"axis must be 'x' or 'y', got {axis!r}")
    count = surface.shape[0] if axis == "x" else surface.shape[1]
    get = surface.row if axis == "x" else surface.column
    wanted = _names(names)
    if lambda_c is None:
        from .nesting import default_profile_cutoff

        choice = default_profile_cutoff(get(count // 2))
        lambda_c, lambda_s = choice.lambda_c, choice.lambda_s if lambda_s is None else lambda_s
    result = {n: np.full(count, np.nan) for n in wanted}
    for i in range(count):
        prof = get(i)
        if not prof.valid.any():
            continue
        try:
            values = profile_parameters(prof, wanted, lambda_s, lambda_c, **options)
        except ParameterError:
            values = {}
            for n in wanted:  # one parameter failed: keep the others
                try:
                    values[n] = profile_parameters(prof, [n], lambda_s, lambda_c, **options)[n]
                except ParameterError:
                    pass
        for n, value in values.items():
            result[n][i] = value
    return result
