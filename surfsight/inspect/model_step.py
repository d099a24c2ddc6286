"""The model step of the pipeline, in one place: run the detector on a prepared surface and turn
what it says into plain data (:class:`Detection`).

Two detectors stand behind :func:`detect`:

* the learnt multi-task model of :mod:`surfsight.model` (defect segmentation and instances,
  true-texture parameter estimates with calibrated intervals, instrument class), used when the
  package and its shipped weights (``surfsight/data/models/default/``) are present;
* otherwise a **rule-based height detector** (:func:`rule_based_detection`): a defect is a
  connected region that lies far below (or above) the local reference surface, beyond what the
  texture itself does. It gives defect masks and geometry but no parameter estimates and no
  instrument class; the result says which detector ran.

The model's interface used here (:mod:`surfsight.model`, read from its code; :func:`_from_model`
is the only place that knows its shape)::

    model = surfsight.model.load_model("default")      # weights in surfsight/data/models/default/
    p = surfsight.model.predict(model, heights=z, image=None, spacing=(dy, dx))
    p.classes        # (rows, cols) 0 background, 1 + index in KINDS
    p.defects        # instances: kind, center_m (y, x), length_m, width_m, area_m2, orientation_rad,
                     # depth_m, sqrt_area_m (None where the heights could not size them)
    p.parameters     # {name: {"value", "low90", "high90", ...}}: calibrated 90 % intervals
    p.instrument, p.instrument_probabilities

Dict-like predictions with the same keys are accepted too.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
from scipy import ndimage

from ..surface import Surface
from ..synth.defects import KINDS, PlacedDefect, measure_defects

__all__ = ["Detection", "detect", "rule_based_detection", "RULE_BASED", "model_available"]

RULE_BASED = "rule-based height detector (no learnt model available)"

#: Geometry keys of a defect record, in report order.
RECORD_KEYS = ("kind", "depth_m", "length_m", "width_m", "area_m2", "sqrt_area_m", "orientation_rad", "x_m", "y_m",
               "u_depth_m", "u_length_m", "u_width_m", "confidence")


@dataclass
class Detection:
    """What the model step found on one surface.

    Attributes
    ----------
    mask
        Boolean ``(rows, cols)``: defect points (excluded from the ISO parameters).
    defects
        Defect records (see :data:`RECORD_KEYS`; SI units).
    estimates
        ``{name: (value, u)}``: the model's estimate of the true texture's parameters and their
        standard uncertainty (empty for the rule-based detector).
    instrument, instrument_probability
        The instrument class the model recognises (``None`` if unknown).
    detector
        Which detector ran, in words.
    notes
        Anything the reader of a report should know.
    """

    mask: np.ndarray
    defects: list[dict[str, Any]] = field(default_factory=list)
    estimates: dict[str, tuple[float, float]] = field(default_factory=dict)
    instrument: str | None = None
    instrument_probability: float | None = None
    detector: str = RULE_BASED
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Rule-based detector
# ------------------------------------------------------------------------------------------------

def _reference_surface(z: np.ndarray, weight: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian normalised convolution of ``z`` with weights (0 where a point must not count),
    computed on a block-averaged grid when the kernel is wide (cheap at 2048^2) and brought back
    by bilinear interpolation."""
    block = max(1, int(sigma_px // 4))
    rows, cols = z.shape
    if block > 1:
        pr, pc = (-rows) % block, (-cols) % block
        zw = np.pad(np.where(weight > 0, z, 0.0) * weight, ((0, pr), (0, pc)))
        w = np.pad(weight, ((0, pr), (0, pc)))
        shape = (zw.shape[0] // block, block, zw.shape[1] // block, block)
        zw, w = zw.reshape(shape).sum(axis=(1, 3)), w.reshape(shape).sum(axis=(1, 3))
    else:
        zw, w = np.where(weight > 0, z, 0.0) * weight, weight.astype(float)
    s = sigma_px / block
    num = ndimage.gaussian_filter(zw, s, mode="nearest", truncate=3.0)
    den = ndimage.gaussian_filter(w, s, mode="nearest", truncate=3.0)
    small = num / np.maximum(den, 1e-12)
    if block == 1:
        return small
    # cell centres of the small grid sit at (i + 0.5) * block - 0.5 in full-grid coordinates
    yi = (np.arange(rows) + 0.5) / block - 0.5
    xi = (np.arange(cols) + 0.5) / block - 0.5
    return ndimage.map_coordinates(small, np.meshgrid(yi, xi, indexing="ij"), order=1, mode="nearest")


def robust_sigma(values: np.ndarray) -> float:
    """1.4826 x median absolute deviation: the standard deviation of the texture, not the defects."""
    deviation = np.abs(values - np.median(values))
    sigma = 1.4826 * float(np.median(deviation))
    return sigma if sigma > 0 else 1.2533 * float(deviation.mean())  # quantised data: mean absolute deviation


def rule_based_detection(surface: Surface, *, k_seed: float = 6.5, k_grow: float = 3.0, min_points: int = 12,
                         min_seeds: int = 4, scale: float = 0.25) -> Detection:
    """Find defects as regions far from the local reference surface.

    The reference is a Gaussian-weighted local mean of the heights (width ``scale`` times the
    shorter side of the field, as a standard deviation) from which the candidate defect points
    are excluded and which is then recomputed (two passes), so a defect does not pull its own
    reference towards it. With ``r`` the residual heights and ``s`` their robust standard deviation
    (1.4826 MAD), a defect is a connected region (8-neighbourhood) of ``|r| > k_grow s`` with
    points of ``|r| > k_seed s`` (hysteresis, as in Canny's edge linking), at least
    ``min_seeds`` points beyond ``k_seed s`` and at least ``min_points`` points. Isolated spikes
    should be removed before (the pipeline's preparation does). Below the reference: scratch (length >= 4 x width), dent
    (shallow: depth < width / 10) or pit; above: inclusion. Geometry is measured by
    :func:`surfsight.synth.defects.measure_defects`, the same definitions as the simulator's
    labels (depth below the reference, principal-axis length and width, plan area, Murakami's
    sqrt(area) across the long axis).

    Standard uncertainties: depth, the texture's robust standard deviation ``s`` (the reference
    level is known to about that); length and width, one sampling interval.
    """
    z = surface.heights
    valid = np.isfinite(z)
    mask = np.zeros(z.shape, dtype=bool)
    if valid.sum() < 16:
        return Detection(mask, notes=["too few valid points for defect detection"])
    sigma_px = max(3.0, scale * min(z.shape))
    weight = valid.astype(float)
    reference = _reference_surface(z, weight, sigma_px)
    residual = np.where(valid, z - reference, 0.0)
    s = robust_sigma(residual[valid])
    if not s > 0:
        return Detection(mask, notes=["flat surface: no texture to compare defects with"])
    # second pass: leave the candidates out of the reference
    weight = (valid & (np.abs(residual) <= k_grow * s)).astype(float)
    reference = _reference_surface(z, weight, sigma_px)
    residual = np.where(valid, z - reference, 0.0)
    s = robust_sigma(residual[valid & (weight > 0)])
    structure = np.ones((3, 3), dtype=bool)
    placed: list[PlacedDefect] = []
    for sign in (-1.0, 1.0):
        r = sign * residual
        weak = valid & (r > k_grow * s)
        strong = valid & (r > k_seed * s)
        labels, count = ndimage.label(weak, structure)
        if count == 0:
            continue
        seeded = np.bincount(labels[strong], minlength=count + 1) >= min_seeds
        seeded[0] = False
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        keep = np.nonzero(seeded & (sizes >= min_points))[0]
        for index in keep:
            footprint = labels == index
            placed.append(PlacedDefect("inclusion" if sign > 0 else "valley", footprint, 0.0, {}))
            mask |= footprint
    if not placed:
        return Detection(mask, detector=RULE_BASED)
    truth = np.where(valid, z, reference)
    records = measure_defects(reference, truth, placed, surface.spacing)
    dy, dx = surface.spacing
    step = max(dy, dx)
    defects = []
    for record, p in zip(records, placed):
        kind = p.kind
        depth = record.depth_m if kind != "inclusion" else record.height_m
        if kind == "valley":
            if record.length_m >= 4 * record.width_m:
                kind = "scratch"
            elif depth < record.width_m / 10:
                kind = "dent"
            else:
                kind = "pit"
        yy, xx = np.nonzero(p.footprint)
        defects.append({
            "kind": kind, "depth_m": float(depth), "length_m": record.length_m, "width_m": record.width_m,
            "area_m2": record.area_m2, "sqrt_area_m": record.sqrt_area_m, "orientation_rad": record.orientation_rad,
            "x_m": float(xx.mean() * dx), "y_m": float(yy.mean() * dy),
            "u_depth_m": s, "u_length_m": step, "u_width_m": step, "confidence": None,
        })
    defects.sort(key=lambda d: -d["depth_m"])
    return Detection(mask, defects, detector=RULE_BASED)


# ------------------------------------------------------------------------------------------------
# Learnt model (surfsight.model), when present
# ------------------------------------------------------------------------------------------------

_LOADED: dict[str, Any] = {}


def _load(name: str) -> tuple[Any, Any] | None:
    """(model, predict function) or None when the model package or its weights are missing.
    Loaded once per process (a batch worker inspects many parts with the same weights)."""
    if name in _LOADED:
        return _LOADED[name]
    result = None
    try:
        model_pkg = importlib.import_module("surfsight.model")
        result = (model_pkg.load_model(name), model_pkg.predict)
    except Exception:  # noqa: BLE001 -- a missing or broken model must not stop the inspection
        result = None
    _LOADED[name] = result
    return result


def model_available(name: str = "default") -> bool:
    """Whether the learnt model ``name`` can be loaded here."""
    return _load(name) is not None


def _field(obj: Any, *names: str) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _estimate(entry: Any) -> tuple[float, float] | None:
    """(value, standard uncertainty) from ``{"value", "u"}``, ``{"value", "lower", "upper"}`` or
    ``(value, lo, hi)`` with a 95 % interval (u = half-width / 1.96)."""
    if isinstance(entry, Mapping):
        value = entry.get("value")
        u = entry.get("u")
        if u is None and entry.get("lower") is not None and entry.get("upper") is not None:
            u = (float(entry["upper"]) - float(entry["lower"])) / (2 * 1.96)
        if u is None and entry.get("low90") is not None and entry.get("high90") is not None:
            u = (float(entry["high90"]) - float(entry["low90"])) / (2 * 1.645)
        interval = entry.get("interval")
        if u is None and interval is not None:
            u = (float(interval[1]) - float(interval[0])) / (2 * 1.96)
    elif isinstance(entry, (tuple, list)) and len(entry) == 3:
        value, u = entry[0], (float(entry[2]) - float(entry[1])) / (2 * 1.96)
    elif isinstance(entry, (tuple, list)) and len(entry) == 2:
        value, u = entry
    else:
        value, u = entry, None
    try:
        value = float(value)
        u = float(u) if u is not None else math.nan
    except (TypeError, ValueError):
        return None
    return (value, u) if math.isfinite(value) else None


def _from_model(prediction: Any, surface: Surface, name: str) -> Detection:
    """Adapt the model's prediction (see the module docstring) to a :class:`Detection`."""
    shape = surface.shape
    labels = _field(prediction, "classes", "label_map", "labels", "mask")
    labels = np.zeros(shape, dtype=int) if labels is None else np.asarray(labels)
    if labels.shape != shape:
        labels = ndimage.zoom(labels.astype(float), (shape[0] / labels.shape[0], shape[1] / labels.shape[1]),
                              order=0) > 0.5 if labels.dtype == bool else \
            ndimage.zoom(labels, (shape[0] / labels.shape[0], shape[1] / labels.shape[1]), order=0)
    mask = labels.astype(bool) if labels.dtype == bool else labels > 0
    step = max(surface.spacing)
    defects: list[dict[str, Any]] = []
    instances = _field(prediction, "defects", "instances")
    if instances is not None:
        for item in instances:
            record = {key: _field(item, key) for key in RECORD_KEYS}
            centre = _field(item, "center_m")
            if centre is not None and record["x_m"] is None:
                record["y_m"], record["x_m"] = float(centre[0]), float(centre[1])
            record["kind"] = str(record["kind"] or "defect")
            for key in RECORD_KEYS[1:]:
                if record[key] is not None:
                    record[key] = float(record[key])
            record["u_length_m"] = record["u_length_m"] if record["u_length_m"] is not None else step
            record["u_width_m"] = record["u_width_m"] if record["u_width_m"] is not None else step
            defects.append(record)
    elif mask.any():
        # instances from the label map: one per connected region, measured like the simulator's labels
        z = surface.heights
        valid = np.isfinite(z)
        reference = _reference_surface(z, (valid & ~mask).astype(float), max(3.0, 0.1 * min(shape)))
        components, count = ndimage.label(mask, np.ones((3, 3), bool))
        placed = []
        for index in range(1, count + 1):
            footprint = components == index
            code = int(np.bincount(labels[footprint].astype(int)).argmax()) if labels.dtype != bool else 0
            kind = KINDS[code - 1] if 1 <= code <= len(KINDS) else "defect"
            placed.append(PlacedDefect(kind, footprint, 0.0, {}))
        records = measure_defects(reference, np.where(valid, z, reference), placed, surface.spacing)
        u_depth = robust_sigma((z - reference)[valid & ~mask]) if (valid & ~mask).any() else 0.0
        dy, dx = surface.spacing
        for record, p in zip(records, placed):
            yy, xx = np.nonzero(p.footprint)
            defects.append({"kind": p.kind, "depth_m": record.depth_m if p.kind != "inclusion" else record.height_m,
                            "length_m": record.length_m, "width_m": record.width_m, "area_m2": record.area_m2,
                            "sqrt_area_m": record.sqrt_area_m, "orientation_rad": record.orientation_rad,
                            "x_m": float(xx.mean() * dx), "y_m": float(yy.mean() * dy), "u_depth_m": u_depth,
                            "u_length_m": step, "u_width_m": step, "confidence": None})
    estimates = {}
    for key, entry in (_field(prediction, "parameters", "estimates") or {}).items():
        est = _estimate(entry)
        if est is not None:
            estimates[str(key)] = est
    instrument = _field(prediction, "instrument", "instrument_class")
    probability = _field(prediction, "instrument_probability")
    probabilities = _field(prediction, "instrument_probabilities")
    if probability is None and isinstance(probabilities, Mapping) and instrument in probabilities:
        probability = probabilities[instrument]
    defects.sort(key=lambda d: -(d.get("depth_m") or 0.0))
    return Detection(mask, defects, estimates, None if instrument is None else str(instrument),
                     None if probability is None else float(probability), f"surfsight model {name!r}")


#: Smallest defect mIoU, measured on fresh simulator samples and recorded with the weights
#: (``metadata["evaluation"]["height"]["defects"]["miou"]``), for the model's defect masks to be
#: used in a verdict: the model's own target (issue 5). Below it the rule-based detector finds the
#: defects and the model still gives its parameter estimates and instrument class. (At 0.5, the
#: gate before, weights with mIoU 0.595 on simulated tiles passed and turned the demo's verdicts
#: wrong: zero-depth blobs made a good part nonconform, and a 190 um scratch found as three short
#: fragments left it in the roughness; docs/inspect.md.)
DEFECT_QUALITY_GATE = 0.8


def defect_quality(net: Any) -> float | None:
    """The defect mIoU recorded with a model's weights, or ``None`` when none is recorded."""
    try:
        return float(net.metadata["evaluation"]["height"]["defects"]["miou"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def detect(surface: Surface, *, model: str | None = "default") -> Detection:
    """Run the learnt model ``model`` when it is available, else the rule-based detector.

    ``model=None`` forces the rule-based detector. A model whose recorded defect mIoU is below
    :data:`DEFECT_QUALITY_GATE` (or not recorded) contributes its parameter estimates and
    instrument class only; the defects then come from the rule-based detector, and the report
    says so.
    """
    loaded = _load(model) if model else None
    if loaded is None:
        return rule_based_detection(surface)
    net, predict = loaded
    try:
        image = surface.layers.get("intensity")
        prediction = predict(net, heights=surface.heights, image=image, spacing=surface.spacing)
        found = _from_model(prediction, surface, str(model))
        quality = defect_quality(net)
        if quality is None or quality < DEFECT_QUALITY_GATE:
            rules = rule_based_detection(surface)
            rules.estimates, rules.instrument = found.estimates, found.instrument
            rules.instrument_probability = found.instrument_probability
            rules.detector = (f"rule-based height detector for defects (model {model!r} defect mIoU "
                              f"{'not recorded' if quality is None else f'{quality:.2f}'} is below the "
                              f"{DEFECT_QUALITY_GATE:.2f} gate); parameter estimates and instrument from the model")
            return rules
        return found
    except Exception as exc:  # noqa: BLE001 -- say so in the report and keep inspecting
        found = rule_based_detection(surface)
        found.notes.append(f"the model {model!r} failed on this surface ({type(exc).__name__}: {exc}); "
                           "the rule-based detector was used")
        return found
