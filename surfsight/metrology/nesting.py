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
ISO 25178-3:2012, Table 1 pairs the S-filter nesting index with the largest sampling distance.
The L-filter (or F-operator) nesting index is chosen from the scale of the features of interest;
a ratio L / S of 100 to 1000 is common.

Where each number comes from (checked with the project's search tools; the ISO texts themselves
were not available, so every value rests on secondary sources, named here and in
docs/metrology/filters-and-profiles.md)
---------------------------------------------------------------------------------------------------
* ``PROFILE_CUTOFFS``, lambda_s and the stylus tip radius for each lambda_c (2.5, 2.5, 2.5, 8,
  25 um; 2, 2, 2, 5, 10 um; lambda_c / lambda_s = 30, 100, 300, 300, 300): **confirmed** by the
  ISO 3274:1996 table reproduced in Mitutoyo's leaflet "Surface Texture / Contour Measuring
  Instruments: Explanation of Surface Characteristics / Standards" (studylib.net copy, doc
  18091676), which also allows a 5 um tip at 0.8 mm for Rz > 3 um and smaller tips at 2.5 / 8 mm.
  The largest sampling interval (0.5, 0.5, 0.5, 1.5, 5 um) agrees with an ISO 21920-3:2021
  "Table 1" reproduced in a third-party roughness tool's documentation (setting classes Sc1-Sc5)
  and with this project's brief; it is **not confirmed** from a primary source.
* ``ISO4288_RA_RANGES``, ``ISO4288_RZ_RANGES``, ``RSM_RANGES`` (ISO 4288:1996 Tables 1-3):
  **confirmed** by the ISO-reference notes of a public "surface_analysis" package (GitHub, found
  through the code search), which cite Keyence's measurement-procedure page; every bound agrees.
* ``ISO21920_RA_RANGES``, ``ISO21920_RZ_RANGES`` (ISO 21920-3, non-periodic profiles:
  Ra 0.02 / 0.1 / 2 / 10 um, Rz 0.16 / 0.8 / 16 / 80 um): **confirmed** by a Swedish vendor table
  written with ISO 21920-3's symbols (Nic, lsc, le) found through the page search (its address
  was not recorded by the search index). ISO 21920-3's rule for periodic profiles was not found;
  ``RSM_RANGES`` is the ISO 4288 one.
* ``AREAL_S_NESTING`` and ``PREFERRED_NESTING_INDICES``: **not confirmed**. No copy or faithful
  reproduction of ISO 25178-3:2012 Table 1 could be found with the search tools. The values are the
  original author's recollection (largest sampling distance about a third of the S-filter nesting
  index, nesting indices from the 1 - 2 - 2.5 - 5 - 8 series); treat them as a rule of thumb and
  check them against the standard before relying on them. Note that the confirmed profile table
  uses a ratio of about 5 (lambda_s 2.5 um for 0.5 um), not 3.
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

#: ISO 21920-3 / ISO 3274 / ISO 4288: lambda_c -> lambda_s, stylus tip and spacing. lambda_s and the tip
#: radius confirmed (ISO 3274:1996 table in Mitutoyo's "Explanation of Surface Characteristics /
#: Standards"); the largest spacing from a third-party copy of ISO 21920-3 Table 1 (see module notes).
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
#: ISO 21920-3:2021 table for non-periodic profiles, by Ra (confirmed: Swedish vendor table, module notes).
ISO21920_RA_RANGES = ((0.02 * _UM, 0.08 * _MM), (0.1 * _UM, 0.25 * _MM), (2.0 * _UM, 0.8 * _MM),
                      (10.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 21920-3:2021 table for non-periodic profiles, by Rz (confirmed: Swedish vendor table, module notes).
ISO21920_RZ_RANGES = ((0.16 * _UM, 0.08 * _MM), (0.8 * _UM, 0.25 * _MM), (16.0 * _UM, 0.8 * _MM),
                      (80.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288:1996 Table 1 (Ra, non-periodic); kept for old drawings. Confirmed (module notes).
ISO4288_RA_RANGES = ((0.02 * _UM, 0.08 * _MM), (0.1 * _UM, 0.25 * _MM), (2.0 * _UM, 0.8 * _MM),
                     (10.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288:1996 Table 2 (Rz, non-periodic). Confirmed (module notes).
ISO4288_RZ_RANGES = ((0.1 * _UM, 0.08 * _MM), (0.5 * _UM, 0.25 * _MM), (10.0 * _UM, 0.8 * _MM),
                     (50.0 * _UM, 2.5 * _MM), (math.inf, 8.0 * _MM))
#: ISO 4288:1996 Table 3: periodic profiles, by RSm. Confirmed for ISO 4288; ISO 21920-3's periodic rule not found.
RSM_RANGES = ((0.04 * _MM, 0.08 * _MM), (0.13 * _MM, 0.25 * _MM), (0.4 * _MM, 0.8 * _MM),
              (1.3 * _MM, 2.5 * _MM), (math.inf, 8.0 * _MM))

#: S-filter nesting index -> largest sampling distance (metres), meant as ISO 25178-3:2012 Table 1.
#: NOT CONFIRMED: no copy of that table could be found; the values are the original author's
#: recollection (sampling distance about a third of the nesting index). See the module notes.
AREAL_S_NESTING: tuple[tuple[float, float], ...] = tuple(
    (ns * _UM, dx * _UM) for ns, dx in (
        (0.1, 0.03), (0.2, 0.06), (0.25, 0.08), (0.5, 0.15), (0.8, 0.25), (1.0, 0.3), (2.0, 0.6),
        (2.5, 0.8), (5.0, 1.5), (8.0, 2.5), (10.0, 3.0), (20.0, 6.0), (25.0, 8.0), (50.0, 15.0),
        (80.0, 25.0), (100.0, 30.0),
    )
)

#: Preferred nesting index values (metres): the 1 - 2 - 2.5 - 5 - 8 series, meant as those of ISO 25178-3.
#: NOT CONFIRMED against the standard (module notes).
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
    """Largest sampling distance (metres) for an S-filter nesting index, from :data:`AREAL_S_NESTING`
    (meant as ISO 25178-3:2012 Table 1; the values are not confirmed, see the module notes).

    A nesting index between table rows gets the value of the next smaller row (conservative); one
    below the table gets 0.3 times itself.
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
