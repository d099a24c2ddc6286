"""The inspection pipeline for one part: read -> prepare -> model -> measure -> failure risk -> verdict.

Each stage is a plain function on plain data; :func:`inspect_surface` chains them for a surface
already in memory and :func:`inspect_file` adds the reading and turns any failure into an error
row. Nothing here prints or writes files (the batch runner and the reports do).

Stages
------
prepare
    Plane levelling (least squares, ISO 25178-2 F-operation), removal of isolated spikes
    (single points far from their 3 x 3 median, an instrument artefact; a line of such points,
    e.g. a fine crack, is kept), then the specification's S-filter (``filters.S``, lambda_s) and
    L-filter (``filters.L``, ISO 16610-61 Gaussian). An L-filter longer than the scan cannot be
    applied meaningfully; it is skipped and a note says so.
model
    :func:`surfsight.inspect.model_step.detect`: defect mask and instances with geometry, the
    model's parameter estimates with standard uncertainties, the instrument class.
measure
    The ISO 25178-2 parameters of the prepared surface with the defect points set to NaN (the
    texture, not the defects, is what roughness limits are about). Each value carries a standard
    uncertainty from the spread over the four quarters of the field (type A: the standard
    deviation of the four quarter values divided by 2), combined in quadrature with the model's
    uncertainty where the model estimates the parameter. ISO 21920-2 profile parameters a
    specification names (``Ra``, ``Rz``...) are evaluated on every row along x and averaged, with
    the standard error of the mean as their uncertainty.
failure
    When the specification has a fatigue requirement: the roughness notch factor Kf (Arola and
    Ramulu's Kt from the middle row's valley radii, Peterson's notch sensitivity), then
    :func:`surfsight.failure.assess` with the detected defects: fatigue limit, safety factor,
    Monte Carlo probability of failure.
verdict
    :func:`surfsight.spec.evaluate` on all of the above (ISO 14253-1 decision rule of the spec).
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import SurfsightError
from ..surface import Surface
from .model_step import Detection, detect, robust_sigma
from .results import OK, error_row, new_row

__all__ = ["DISPLAY_PARAMETERS", "Prepared", "Inspection", "prepare", "measure", "measured_parameters",
           "notch_factor", "assess_failure", "inspect_surface", "inspect_file", "file_sha256"]

#: Parameters reported for every part (besides those the specification limits).
DISPLAY_PARAMETERS = ("Sa", "Sq", "Ssk", "Sku", "Sp", "Sv", "Sz", "Sdq", "Sdr", "Sk", "Spk", "Svk", "Smr1", "Smr2",
                      "Vmp", "Vmc", "Vvc", "Vvv", "Sal", "Str")
_PROFILE_PREFIXES = ("R", "P", "W")
#: Monte Carlo samples of the failure probability.
FAILURE_SAMPLES = 20000


@dataclass
class Prepared:
    """A prepared surface and what preparation did."""

    surface: Surface
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    """Everything the pipeline learnt about one part: the result row and, for the report,
    the prepared surface, the defect mask and the material ratio curve / PSD inputs."""

    row: dict[str, Any]
    surface: Surface | None = None
    mask: np.ndarray | None = None


# ------------------------------------------------------------------------------------------------
# prepare
# ------------------------------------------------------------------------------------------------

def _remove_spikes(surface: Surface, k: float = 10.0) -> tuple[Surface, int]:
    """Set isolated spikes to NaN: points farther than ``k`` robust standard deviations from the
    median of their 3 x 3 neighbourhood and with no such neighbour of the same sign."""
    z = surface.heights
    valid = np.isfinite(z)
    if valid.sum() < 9:
        return surface, 0
    filled = np.where(valid, z, np.nanmedian(z))
    r = np.where(valid, z - ndimage.median_filter(filled, size=3, mode="nearest"), 0.0)
    sigma = robust_sigma(r[valid])
    if not sigma > 0:
        return surface, 0
    kernel = np.ones((3, 3), dtype=np.int8)
    spikes = np.zeros(z.shape, dtype=bool)
    for sign in (1.0, -1.0):
        candidate = valid & (sign * r > k * sigma)
        neighbours = ndimage.convolve(candidate.astype(np.int8), kernel, mode="constant") - candidate
        spikes |= candidate & (neighbours == 0)
    count = int(spikes.sum())
    if count == 0:
        return surface, 0
    return surface.with_heights(np.where(spikes, np.nan, z)), count


def prepare(surface: Surface, spec: Any = None) -> Prepared:
    """Level the surface, remove isolated spikes and apply the specification's S- and L-filters."""
    from .. import metrology

    steps, notes = ["plane levelled (least squares)"], []
    out = metrology.level_plane(surface)
    out, spikes = _remove_spikes(out)
    if spikes:
        steps.append(f"{spikes} isolated spike(s) set to not measured")
    filters = getattr(spec, "filters", None)
    if filters is not None:
        ly, lx = out.size_m
        if filters.S is not None:
            if filters.S <= 2 * max(out.spacing):
                notes.append(f"S-filter {filters.S * 1e6:g} um not applied: not longer than two sampling "
                             f"intervals ({max(out.spacing) * 1e6:.3g} um), it would change nothing")
            else:
                out = metrology.s_filter(out, filters.S)
                steps.append(f"S-filter lambda_s = {filters.S * 1e6:g} um (Gaussian)")
        if filters.L is not None:
            if filters.L > min(lx, ly):
                notes.append(f"L-filter {filters.L * 1e3:g} mm not applied: longer than the scan "
                             f"({lx * 1e3:.3g} x {ly * 1e3:.3g} mm); the surface is plane levelled only")
            else:
                out = metrology.l_filter(out, filters.L)
                steps.append(f"L-filter lambda_c = {filters.L * 1e3:g} mm (Gaussian, ISO 16610-61)")
    return Prepared(out, steps, notes)


# ------------------------------------------------------------------------------------------------
# measure
# ------------------------------------------------------------------------------------------------

def _areal(surface: Surface, names: list[str]) -> dict[str, float]:
    from ..metrology import parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parameters(surface, names, on_error="nan")


def _quarters(surface: Surface) -> list[Surface]:
    rows, cols = surface.shape
    r, c = rows // 2, cols // 2
    return [surface.crop((i0, i1), (j0, j1)) for i0, i1 in ((0, r), (r, rows)) for j0, j1 in ((0, c), (c, cols))]


def measured_parameters(surface: Surface, names: list[str]) -> dict[str, tuple[float, float]]:
    """``{name: (value, u)}`` of ISO 25178-2 parameters: the value on the whole field and the
    standard uncertainty from the four quarters (std / 2; NaN where fewer than two quarters give
    a value)."""
    whole = _areal(surface, names)
    quarters = [_areal(q, names) for q in _quarters(surface)] if min(surface.shape) >= 32 else []
    out = {}
    for name in names:
        values = np.array([q[name] for q in quarters], dtype=float)
        values = values[np.isfinite(values)]
        u = float(np.std(values, ddof=1) / math.sqrt(values.size)) if values.size >= 2 else math.nan
        out[name] = (float(whole[name]), u)
    return out


def _profile_measured(surface: Surface, names: list[str]) -> dict[str, tuple[float, float]]:
    """ISO 21920-2 parameters averaged over the rows (along x), standard error of the mean as u."""
    from ..metrology import row_profile_parameters

    step = max(1, surface.shape[0] // 64)  # at most about 64 rows: enough for the mean
    rows = surface if step == 1 else Surface(surface.heights[::step], (surface.dy * step, surface.dx),
                                             metadata=surface.metadata)
    out = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = row_profile_parameters(rows, names)
    except SurfsightError:
        return {name: (math.nan, math.nan) for name in names}
    for name in names:
        v = np.asarray(values.get(name, []), dtype=float)
        v = v[np.isfinite(v)]
        out[name] = (float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan) \
            if v.size else (math.nan, math.nan)
    return out


def _unit(name: str) -> str:
    from ..metrology import PARAMETERS, resolve

    try:
        return resolve([name])[0].info.unit
    except SurfsightError:
        pass
    if name in PARAMETERS:
        return PARAMETERS[name].unit
    from ..spec import known_parameters

    return known_parameters().get(name, "")


def measure(surface: Surface, mask: np.ndarray | None, names: list[str],
            estimates: dict[str, tuple[float, float]] | None = None) -> dict[str, dict[str, Any]]:
    """The parameter table: ``{name: {"measured", "u", "estimate", "estimate_u", "unit"}}``.

    ``surface`` is the prepared surface; ``mask`` marks defect points, set to NaN first together
    with a margin of two points around them (pile-up ridges and the defect's flanks are not texture).
    """
    if mask is not None and mask.any():
        excluded = ndimage.binary_dilation(mask, iterations=2)
        surface = surface.with_heights(np.where(excluded, np.nan, surface.heights))
    areal = [n for n in names if not n.startswith(_PROFILE_PREFIXES) or n.startswith("S")]
    profile = [n for n in names if n not in areal]
    values = measured_parameters(surface, areal) if areal else {}
    if profile:
        values.update(_profile_measured(surface, profile))
    estimates = estimates or {}
    table = {}
    for name in names:
        value, u = values[name]
        est, u_est = estimates.get(name, (None, None))
        if est is not None and u_est is not None and math.isfinite(u_est):
            u = math.hypot(u, u_est) if math.isfinite(u) else u_est
        table[name] = {"measured": value if math.isfinite(value) else None,
                       "u": u if math.isfinite(u) else None,
                       "estimate": est, "estimate_u": u_est if u_est is None or math.isfinite(u_est) else None,
                       "unit": _unit(name)}
    return table


# ------------------------------------------------------------------------------------------------
# failure
# ------------------------------------------------------------------------------------------------

def notch_factor(surface: Surface, mask: np.ndarray | None, material: Any) -> tuple[float, str]:
    """Roughness fatigue notch factor Kf and how it was obtained.

    Arola and Ramulu's Kt = 1 + 2 (Ra / rho)(Ry / Rz) (uniaxial load) from the row through the
    middle of the field (defects masked out; rho the mean valley radius of
    :func:`surfsight.failure.valley_radii`), then Kf = 1 + q (Kt - 1) with Peterson's q for the
    material's tensile strength. Kf = 1 (and a note) when the profile gives no valley to fit.
    """
    from .. import failure
    from ..surface import Profile

    z = surface.heights if mask is None else np.where(mask, np.nan, surface.heights)
    best = None
    for i in (surface.shape[0] // 2, surface.shape[0] // 4, 3 * surface.shape[0] // 4):
        row = z[i] - np.nanmean(z[i]) if np.isfinite(z[i]).sum() > 5 else None
        if row is None:
            continue
        try:
            radii = failure.valley_radii(Profile(row, surface.dx))
        except SurfsightError:
            continue
        finite = row[np.isfinite(row)]
        ra = float(np.mean(np.abs(finite)))
        ry = float(finite.max() - finite.min())
        n5 = max(1, finite.size // 5)
        rz = float(np.mean([np.ptp(finite[k * n5:(k + 1) * n5]) for k in range(5) if finite[k * n5:(k + 1) * n5].size]))
        kt = failure.arola_ramulu_kt(ra, ry, rz, radii.mean_m)
        q = failure.peterson_q(radii.mean_m, failure.peterson_constant(material.tensile_strength_Pa))
        kf = failure.fatigue_notch_factor(kt, q)
        best = (kf, f"Kf = {kf:.3f} (Arola-Ramulu Kt = {kt:.3f}, valley radius {radii.mean_m * 1e6:.3g} um, "
                    f"Peterson q = {q:.2f}; row {i})")
        break
    return best if best is not None else (1.0, "Kf = 1: no valley radius could be measured on the roughness")


def assess_failure(rule: Any, surface: Surface, mask: np.ndarray | None, defects: list[dict[str, Any]],
                   seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """(row entry, measurements entry for :func:`surfsight.spec.evaluate`) of the fatigue check."""
    from .. import failure

    material = failure.get_material(rule.material, failure.load_materials(rule.material_file)
                                    if rule.material_file else None)
    kf, how = notch_factor(surface, mask, material)
    usable = [d for d in defects if (d.get("depth_m") or 0) > 0 and ((d.get("length_m") or 0) > 0
                                                                     or (d.get("sqrt_area_m") or 0) > 0)]
    result = failure.assess(material, rule.stress_amplitude, defects=usable, kf=kf,
                            load_direction_rad=rule.load_direction, location=rule.location,
                            stress_ratio=rule.stress_ratio, samples=FAILURE_SAMPLES, seed=seed)
    p = result.probability
    entry = {
        "fatigue_limit_pa": result.limit.value_Pa, "smooth_limit_pa": result.limit.smooth_Pa,
        "safety_factor": result.safety_factor, "safety_factor_interval": list(p.safety_factor_interval),
        "safety_factor_u": p.safety_factor_u, "min_safety_factor": rule.min_safety_factor,
        "p_failure": p.probability, "p_failure_upper_95": p.upper_95,
        "max_failure_probability": rule.max_failure_probability, "kf": kf, "kf_note": how,
        "governing": result.limit.governing, "life_cycles": result.life_cycles if math.isfinite(result.life_cycles)
        else None, "material": result.material, "stress_amplitude_pa": rule.stress_amplitude,
        "notes": result.notes,
    }
    return entry, result.as_measurement()


# ------------------------------------------------------------------------------------------------
# the whole part
# ------------------------------------------------------------------------------------------------

def _names(spec: Any) -> list[str]:
    limited = list(getattr(spec, "parameters", {}) or {})
    return list(dict.fromkeys([*limited, *DISPLAY_PARAMETERS]))


def inspect_surface(surface: Surface, spec: Any, *, file: str = "surface", sha256: str | None = None,
                    model: str | None = "default", seed: int = 0) -> Inspection:
    """Inspect a surface in memory against ``spec`` (a :class:`surfsight.spec.Spec`).

    Returns an :class:`Inspection` whose ``row`` follows :mod:`surfsight.inspect.results`.
    """
    from ..spec import evaluate

    start = time.perf_counter()
    prepared = prepare(surface, spec)
    found: Detection = detect(prepared.surface, model=model)
    parameters = measure(prepared.surface, found.mask, _names(spec), found.estimates)
    measurements: dict[str, Any] = {
        "parameters": {name: {"value": p["measured"], "u": p["u"] or 0.0} for name, p in parameters.items()},
        "defects": found.defects,
    }
    failure_entry = None
    if spec.failure is not None:
        failure_entry, measurements["failure"] = assess_failure(spec.failure, prepared.surface, found.mask,
                                                                found.defects, seed=seed)
    verdict = evaluate(spec, measurements)
    ly, lx = surface.size_m
    instrument = surface.metadata.get("instrument") or found.instrument
    row = new_row(
        file, sha256, status=OK, verdict=verdict.status, reasons=[c.as_dict() for c in verdict.reasons],
        parameters=parameters, defects=found.defects, failure=failure_entry, spec=spec.name,
        surface={"rows": surface.shape[0], "cols": surface.shape[1], "dy_m": surface.dy, "dx_m": surface.dx,
                 "size_y_m": ly, "size_x_m": lx, "invalid_fraction": surface.invalid_fraction,
                 "defect_fraction": float(found.mask.mean()) if found.mask is not None else 0.0,
                 "preparation": prepared.steps},
        detector=found.detector,
        instrument={"name": None if instrument is None else str(instrument), "model_class": found.instrument,
                    "model_probability": found.instrument_probability},
        notes=[*prepared.notes, *found.notes],
        seconds=round(time.perf_counter() - start, 3),
    )
    return Inspection(row, prepared.surface, found.mask)


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes (read in 1 MiB blocks), ``None`` if it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def inspect_file(path: str | Path, spec: Any, *, model: str | None = "default", seed: int = 0,
                 sha256: str | None = None) -> Inspection:
    """Read and inspect one file; any problem gives an error row naming the file, never an exception
    (except KeyboardInterrupt)."""
    from .. import io
    from ..surface import PointCloud, Profile

    start = time.perf_counter()
    path = Path(path)
    digest = sha256 if sha256 is not None else file_sha256(path)
    spec_name = getattr(spec, "name", None)

    def failed(message: str) -> Inspection:
        return Inspection(error_row(str(path), digest, message, spec_name, round(time.perf_counter() - start, 3)))

    if not path.exists():
        return failed(f"{path}: no such file")
    if path.is_dir():
        return failed(f"{path}: is a folder, not a file")
    if digest is None:
        return failed(f"{path}: cannot be read (permission denied?)")
    try:
        data = io.read(path)
        if isinstance(data, (Profile, PointCloud)):
            kind = "a profile (line scan)" if isinstance(data, Profile) else "a point cloud"
            return failed(f"{path}: holds {kind}; inspect needs an areal height map on a grid")
        if data.valid.sum() < 16:
            return failed(f"{path}: fewer than 16 measured points; nothing to inspect")
        return inspect_surface(data, spec, file=str(path), sha256=digest, model=model, seed=seed)
    except SurfsightError as exc:
        return failed(str(exc) if str(path) in str(exc) or path.name in str(exc) else f"{path}: {exc}")
    except MemoryError:
        return failed(f"{path}: not enough memory to inspect this scan")
    except Exception as exc:  # noqa: BLE001 -- one bad part must not stop a batch; say what happened
        return failed(f"{path}: internal error while inspecting ({type(exc).__name__}: {exc})")
