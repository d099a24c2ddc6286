"""Nesting indices (cut-offs) and default sampling / evaluation lengths.

Profile method
--------------
ISO 21920-3:2021 (which replaces ISO 4288:1996) chooses the roughness cut-off ``lambda_c`` (nesting
index ``Nic``) from the expected roughness: from ``Ra`` or ``Rz`` for non-periodic profiles and
from ``RSm`` for periodic ones. The sampling (section) length is ``lambda_c`` and the evaluation
length 5 sections. ISO 3274 / ISO 21920-3 then fix the short-wave cut-off ``lambda_s``, the
largest stylus tip radius and the largest sampling interval for each ``lambda_c``.

Areal method
------------
ISO 25178-3:2012, Table 1 pairs the S-filter nesting index with the largest sampling distance
(about a third of the nesting index) and lists the preferred nesting indices
(1 - 2 - 2.5 - 5 - 8 series). The L-filter (or F-operator) nesting index is chosen from the
scale of the features of interest; a ratio L / S of 100 to 1000 is common.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, ParameterError
from ..surface import Profile

__all__ = [
    "PROFILE_CUTOFFS",
    "ProfileNesting",
    "CutoffChoice",
    "ISO21920_RA_RANGES",
    "ISO21920_RZ_RANGES",
    "ISO4288_RA_RANGES",
    "ISO4288_RZ_RANGES",
    "RSM_RANGES",
    "AREAL_S_NESTING",
    "PREFERRED_NESTING_INDICES",
    "nesting_for_cutoff",
    "cutoff_from_ra",
    "cutoff_from_rz",
    "cutoff_from_rsm",
    "default_profile_cutoff",
    "areal_nesting_for_s",
]


@dataclass(frozen=True)
class ProfileNesting:
    """One row of the ISO 21920-3 / ISO 3274 table, all lengths in metres.

    Attributes
    ----------
    lambda_c
        Roughness cut-off (nesting index Nic).
    lambda_s
        Short-wave cut-off of the primary profile (Nis).
    sampling_length
        Section length ``lsc = lambda_c``.
    evaluation_length
        ``le = 5 lsc``.
    max_tip_radius
        Largest stylus tip radius.
    max_spacing
        Largest sampling interval.
    """

    lambda_c: float
    lambda_s: float
    sampling_length: float
    evaluation_length: float
    max_tip_radius: float
    max_spacing: float

    @property
    def ratio(self) -> float:
        """``lambda_c / lambda_s`` (30, 100 or 300)."""
        return self.lambda_c / self.lambda_s


_MM, _UM = 1e-3, 1e-6

#: ISO 21920-3 / ISO 3274 / ISO 4288: lambda_c -> lambda_s, stylus tip and spacing.
PROFILE_CUTOFFS: tuple[ProfileNesting, ...] = tuple(
    ProfileNesting(lc * _MM, ls * _UM, lc * _MM, 5 * lc * _MM, tip * _UM, dx * _UM)
    for lc, ls, tip, dx in (
        (0.08, 2.5, 2.0, 0.5),
        (0.25, 2.5, 2.0, 0.5),
        (0.8, 2.5, 2.0, 0.5),
        (2.5, 8.0, 5.0, 1.5),
        (8.0, 25.0, 10.0, 5.0),
    )
)

# (upper bound of the range, lambda_c); the last upper bound is open. Metres.
#: ISO 21920-3:2021 table for non-periodic profiles, by Ra.
ISO21920_RA_RANGES = ((0.02 * _UM, 0.08 * _MM), (0.1 * _UM, 0.25 * _MM), (2.0 * _UM, 0.8 * _MM),
                      (10.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 21920-3:2021 table for non-periodic profiles, by Rz.
ISO21920_RZ_RANGES = ((0.16 * _UM, 0.08 * _MM), (0.8 * _UM, 0.25 * _MM), (16.0 * _UM, 0.8 * _MM),
                      (80.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288:1996 Table 1 (Ra, non-periodic); kept for old drawings.
ISO4288_RA_RANGES = ((0.02 * _UM, 0.08 * _MM), (0.1 * _UM, 0.25 * _MM), (2.0 * _UM, 0.8 * _MM),
                     (10.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288:1996 Table 2 (Rz, non-periodic).
ISO4288_RZ_RANGES = ((0.1 * _UM, 0.08 * _MM), (0.5 * _UM, 0.25 * _MM), (10.0 * _UM, 0.8 * _MM),
                     (50.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288 Table 3 / ISO 21920-3: periodic profiles, by RSm.
RSM_RANGES = ((0.04 * _MM, 0.08 * _MM), (0.13 * _MM, 0.25 * _MM), (0.4 * _MM, 0.8 * _MM),
              (1.3 * _MM, 2.5 * _MM), (math.inf, 8.0 * _MM))

#: ISO 25178-3, Table 1: S-filter nesting index -> largest sampling distance (metres).
#: Values as in the standard's preferred series; the sampling distance is about a third of
#: the nesting index.
AREAL_S_NESTING: tuple[tuple[float, float], ...] = tuple(
    (ns * _UM, dx * _UM) for ns, dx in (
        (0.1, 0.03), (0.2, 0.06), (0.25, 0.08), (0.5, 0.15), (0.8, 0.25), (1.0, 0.3), (2.0, 0.6),
        (2.5, 0.8), (5.0, 1.5), (8.0, 2.5), (10.0, 3.0), (20.0, 6.0), (25.0, 8.0), (50.0, 15.0),
        (80.0, 25.0), (100.0, 30.0),
    )
)

#: Preferred nesting index values of ISO 25178-3 (metres): the 1 - 2 - 2.5 - 5 - 8 series.
PREFERRED_NESTING_INDICES: tuple[float, ...] = tuple(
    m * 10.0**e for e in range(-7, 0) for m in (1.0, 2.0, 2.5, 5.0, 8.0)
)


def nesting_for_cutoff(lambda_c: float) -> ProfileNesting:
    """The ISO 21920-3 row for a standard ``lambda_c`` (0.08, 0.25, 0.8, 2.5 or 8 mm).

    Raises
    ------
    InputError
        If ``lambda_c`` is not one of the five standard values (within 0.1 %).
    """
    for row in PROFILE_CUTOFFS:
        if math.isclose(row.lambda_c, lambda_c, rel_tol=1e-3):
            return row
    raise InputError(f"lambda_c = {lambda_c!r} m is not a standard cut-off; ISO 21920-3 uses "
                     f"{[row.lambda_c for row in PROFILE_CUTOFFS]} m")


def _lookup(value: float, ranges: tuple[tuple[float, float], ...], name: str) -> float:
    if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a positive length in metres, got {value!r}")
    for upper, lambda_c in ranges:
        if value <= upper:
            return lambda_c
    return ranges[-1][1]


def cutoff_from_ra(ra: float, *, standard: str = "ISO 21920-3") -> float:
    """``lambda_c`` for a non-periodic profile of roughness ``Ra`` (metres), ISO 21920-3 / ISO 4288 Table 1."""
    return _lookup(ra, ISO21920_RA_RANGES if standard == "ISO 21920-3" else ISO4288_RA_RANGES, "Ra")


def cutoff_from_rz(rz: float, *, standard: str = "ISO 21920-3") -> float:
    """``lambda_c`` for a non-periodic profile of ``Rz`` (metres), ISO 21920-3 / ISO 4288 Table 2."""
    return _lookup(rz, ISO21920_RZ_RANGES if standard == "ISO 21920-3" else ISO4288_RZ_RANGES, "Rz")


def cutoff_from_rsm(rsm: float) -> float:
    """``lambda_c`` for a periodic profile of mean width ``RSm`` (metres), ISO 4288 Table 3."""
    return _lookup(rsm, RSM_RANGES, "RSm")


def areal_nesting_for_s(s_nesting: float) -> float:
    """Largest sampling distance (metres) for an S-filter nesting index (ISO 25178-3, Table 1).

    A nesting index between table rows gets the value of the next smaller row (conservative).
    """
    if not (s_nesting > 0):
        raise InputError(f"S-filter nesting index must be positive, got {s_nesting!r}")
    best = AREAL_S_NESTING[0][1]
    for ns, dx in AREAL_S_NESTING:
        if ns <= s_nesting * (1 + 1e-9):
            best = dx
    if s_nesting < AREAL_S_NESTING[0][0]:
        return s_nesting * 0.3
    return best


@dataclass
class CutoffChoice:
    """Result of :func:`default_profile_cutoff` (lengths in metres)."""

    lambda_c: float
    lambda_s: float
    sampling_length: float
    evaluation_length: float
    basis: str
    periodic: bool
    iterations: int
    history: list[tuple[float, float]] = field(default_factory=list)
    note: str = ""


def _is_periodic(r: np.ndarray) -> bool:
    """Heuristic: the roughness profile is periodic if its autocorrelation has a secondary peak
    above 0.5 (a regular turned or ground lay); otherwise it is treated as non-periodic."""
    r = r[np.isfinite(r)]
    if r.size < 16:
        return False
    r = r - r.mean()
    n = r.size
    spec = np.fft.rfft(r, 2 * n)
    acf = np.fft.irfft(spec * np.conj(spec))[:n]
    if acf[0] <= 0:
        return False
    acf = acf / acf[0] * n / (n - np.arange(n))  # unbiased
    half = acf[: n // 2]
    negative = np.nonzero(half < 0)[0]
    if negative.size == 0:
        return False
    tail = half[negative[0]:]
    return bool(tail.size and tail.max() > 0.5)


def default_profile_cutoff(profile: Profile, *, periodic: bool | None = None, start: float = 0.8e-3,
                           max_iter: int = 6) -> CutoffChoice:
    """Choose ``lambda_c`` the ISO 4288 / ISO 21920-3 way, by iteration on the measured profile.

    ISO 4288, clause 7.2 (non-periodic profiles): estimate ``Ra`` with a trial cut-off, look up the
    cut-off for that ``Ra`` (Table 1), measure again with it and repeat until the cut-off and the
    measured ``Ra`` agree. Clause 7.3 (periodic profiles): the same with ``RSm`` and Table 3.

    Parameters
    ----------
    profile
        The (levelled) total profile; NaN allowed.
    periodic
        Use the ``RSm`` rule (True) or the ``Ra`` rule (False). None: decide from the profile
        (an autocorrelation heuristic, see ``_is_periodic``).
    start
        Trial cut-off (0.8 mm, the most common value).
    max_iter
        Iteration limit; the procedure normally settles in two or three steps. If it
        oscillates between two cut-offs, the shorter is kept and ``note`` says so.

    Returns
    -------
    CutoffChoice
        ``lambda_c``, the matching ``lambda_s``, section length ``lambda_c``, evaluation length
        (``5 lambda_c``, or as many whole sections as the profile holds), the rule used and the
        trail ``history`` of ``(lambda_c, measured value)``.

    Notes
    -----
    A cut-off longer than the profile is never chosen: the longest standard cut-off that fits
    at least once into the profile is used instead and ``note`` says so.
    """
    from .filters import profile_filters
    from .prepare import level_line
    from .profile import mean_width, _mean_abs

    if not isinstance(profile, Profile):
        raise InputError(f"default_profile_cutoff needs a Profile, got {type(profile).__name__}")
    levelled = level_line(profile)
    length = profile.length_m
    fits = [row.lambda_c for row in PROFILE_CUTOFFS if row.lambda_c <= length * (1 + 1e-9)]
    if not fits:
        raise ParameterError(f"profile of {length:.4g} m is shorter than the shortest standard cut-off "
                             f"({PROFILE_CUTOFFS[0].lambda_c} m)")
    lambda_c = start if any(math.isclose(start, c) for c in fits) else fits[-1]
    history: list[tuple[float, float]] = []
    note = ""
    seen: list[float] = []
    iterations = 0
    decided_periodic = periodic
    for iterations in range(1, max_iter + 1):
        row = nesting_for_cutoff(lambda_c)
        parts = profile_filters(levelled, row.lambda_s if row.lambda_s > 2 * profile.dx else None, lambda_c)
        r = parts["roughness"].heights
        if decided_periodic is None:
            decided_periodic = _is_periodic(r)
        if decided_periodic:
            try:
                value = mean_width(r, profile.dx, lambda_c)
            except ParameterError:
                value = math.nan
            proposal = cutoff_from_rsm(value) if math.isfinite(value) and value > 0 else lambda_c
        else:
            value = _mean_abs(r)
            proposal = cutoff_from_ra(value) if value > 0 else lambda_c
        history.append((lambda_c, value))
        if proposal > fits[-1] * (1 + 1e-9):
            note = (f"the rule asks for lambda_c = {proposal:g} m but the profile is only {length:.4g} m long; "
                    f"using {fits[-1]:g} m")
            proposal = fits[-1]
        if math.isclose(proposal, lambda_c):
            break
        if proposal in seen:
            note = f"the rule oscillates between {lambda_c:g} m and {proposal:g} m; using the shorter"
            lambda_c = min(lambda_c, proposal)
            break
        seen.append(lambda_c)
        lambda_c = proposal
    row = nesting_for_cutoff(lambda_c)
    sections = max(1, min(5, int(math.floor(length / lambda_c + 1e-9))))
    return CutoffChoice(lambda_c=row.lambda_c, lambda_s=row.lambda_s, sampling_length=row.lambda_c,
                        evaluation_length=sections * row.lambda_c, basis="RSm" if decided_periodic else "Ra",
                        periodic=bool(decided_periodic), iterations=iterations, history=history, note=note)
