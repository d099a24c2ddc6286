"""Labelled samples: texture, defects, instrument, image, and the exact truth behind them.

``sample()`` is the simulator's one entry point for training and evaluation data. Every random
step draws from its own child of one ``numpy.random.SeedSequence(seed)``, so the same seed gives
the same bytes, and the texture of a seed does not change when, say, the instrument does.

The measurement uncertainty (``mc=N``) is a Monte Carlo evaluation in the sense of GUM
Supplement 1 (JCGM 101:2008): the texture is measured N times by the instrument model with
independent noise, tilt, dropouts and spikes, each repetition is plane-levelled and evaluated,
and the standard uncertainty of each parameter is the standard deviation of its N values
(``uncertainty``); the mean minus the true value is reported as ``bias``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from ..surface import Surface
from .defects import KINDS, Defect, add_defects, label_map
from .instruments import INSTRUMENT_CLASSES, instrument as get_instrument, measure
from .processes import preset as get_preset
from .render import Camera, render
from .texture import JohnsonTranslation  # noqa: F401  (re-exported for users of the module)

#: Parameters the model learns; ``labels`` holds at least these.
LABEL_NAMES = ("Sa", "Sq", "Ssk", "Sku", "Sz", "Sdq", "Sdr", "Sal", "Str")
#: Defect rates (expected count per sample) when ``defects=None``.
DEFAULT_DEFECT_RATES = {"scratch": 0.35, "dent": 0.2, "pit": 0.25, "crack": 0.15, "inclusion": 0.15}
GEOMETRY_OVERRIDES = ("defect_depth", "defect_width", "defect_length")


@dataclass
class Sample:
    """One simulated measurement with its truth. Heights in metres."""

    preset: str
    seed: int | None
    params: dict[str, float]
    texture: Surface
    truth: Surface
    measured: Surface
    image: np.ndarray
    defects: list[Defect]
    instrument: str
    labels: dict[str, float]
    uncertainty: dict[str, float] | None = None
    bias: dict[str, float] | None = None
    camera: dict[str, Any] = field(default_factory=dict)

    @property
    def instrument_index(self) -> int:
        return INSTRUMENT_CLASSES.index(self.instrument)

    @property
    def label_map(self) -> np.ndarray:
        """Per-pixel defect class: 0 background, 1 + index in ``KINDS``."""
        return label_map(self.defects, self.truth.shape)


def _streams(seed: int | None, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _defect_kinds(defects: Sequence[str] | None, rng: np.random.Generator, rates: dict[str, float]) -> list[str]:
    if defects is None:
        kinds = []
        for kind, rate in rates.items():
            kinds.extend([kind] * int(rng.poisson(rate)))
        rng.shuffle(kinds)
        return kinds
    kinds = list(defects)
    for kind in kinds:
        if kind not in KINDS:
            raise InputError(f"sample: unknown defect kind {kind!r}; known: {', '.join(KINDS)}")
    return kinds


def measured_parameters(texture: np.ndarray, spacing: tuple[float, float], inst: str, rng: np.random.Generator,
                        names: Sequence[str]) -> dict[str, float]:
    """One simulated measurement of ``texture``, plane-levelled, evaluated for ``names``."""
    from ..metrology import level_plane

    m = Surface(measure(texture, spacing, inst, rng), spacing)
    return _parameters(level_plane(m), names)


def _parameters(surface: Surface, names: Sequence[str]) -> dict[str, float]:
    """The metrology engine's values; a parameter undefined for this surface (e.g. Str on a
    turned surface whose ACF never decays along the lay) is NaN, and training masks it."""
    import warnings

    from ..metrology import parameters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parameters(surface, names=list(names), on_error="nan")


def sample(preset: str = "ground", size: int | tuple[int, int] = 256, spacing: float | None = None, seed: int | None = 0,
           defects: Sequence[str] | None = None, instrument: str | None = None, mc: int = 0,
           label_names: Sequence[str] = LABEL_NAMES, camera: Camera | None = None, **overrides: float) -> Sample:
    """Simulate one labelled sample.

    Parameters
    ----------
    preset
        Manufacturing process (see :data:`surfsight.synth.processes.PRESETS`).
    size
        Points per side, or ``(rows, cols)``.
    spacing
        Sampling distance in metres; default: the preset's.
    seed
        Seed of every random step.
    defects
        ``None``: drawn from the preset's defect rates (possibly none); ``[]``: none; a list of
        kinds: one of each, in that order.
    instrument
        Instrument model name; ``None`` draws one uniformly.
    mc
        Number of Monte Carlo repetitions for ``uncertainty`` (0: none).
    overrides
        Texture targets and process parameters (``Sq`` rescales any preset; other names must be
        parameters of the preset) and defect geometry (``defect_depth``, ``defect_width``,
        ``defect_length``, metres).
    """
    process = get_preset(preset)
    shape = (size, size) if np.ndim(size) == 0 else tuple(int(n) for n in size)  # type: ignore[arg-type]
    if len(shape) != 2 or min(shape) < 16:
        raise InputError(f"sample: size must be at least 16 points per side, got {size!r}")
    step = float(spacing) if spacing is not None else process.spacing
    grid = (step, step)
    r_texture, r_defects, r_instrument, r_image, r_mc, r_choice = _streams(seed, 6)
    geometry = {k: overrides.pop(k) for k in GEOMETRY_OVERRIDES if k in overrides}
    if "Std" in overrides and "lay" in process.ranges:
        # Std (dominant wave direction, as surfsight.metrology.Std measures it) is normal to the lay
        overrides["lay"] = (float(overrides.pop("Std")) + math.pi / 2) % math.pi
    target_Sq = overrides.pop("Sq", None) if "Sq" not in process.ranges else None
    unknown = sorted(set(overrides) - set(process.ranges))
    if unknown:
        raise InputError(f"sample: {', '.join(unknown)} not a parameter of preset {preset!r}; it takes "
                         f"{', '.join(sorted(process.ranges))}, Sq and {', '.join(GEOMETRY_OVERRIDES)}")
    params = process.draw(r_texture, overrides)
    z = process.build(r_texture, shape, grid, params)  # type: ignore[arg-type]
    if target_Sq is not None:
        z = z * (float(target_Sq) / z.std())
    meta = {"preset": preset, "seed": seed, "process_parameters": params}
    texture = Surface(z, grid, metadata={**meta, "stage": "texture"})
    kinds = _defect_kinds(defects, r_defects, DEFAULT_DEFECT_RATES)
    truth_z, records = add_defects(z, grid, kinds, r_defects, float(z.std()), geometry)
    truth = Surface(truth_z, grid, metadata={**meta, "stage": "truth"})
    inst = instrument if instrument is not None else INSTRUMENT_CLASSES[int(r_choice.integers(len(INSTRUMENT_CLASSES)))]
    get_instrument(inst)
    measured_z = measure(truth_z, grid, inst, r_instrument)
    cam = camera or Camera(light=str(r_image.choice(["coaxial", "oblique"])),
                           azimuth=float(r_image.uniform(0, 2 * math.pi)),
                           defocus=float(r_image.uniform(0.0, 1.2)))
    image = render(truth_z, grid, r_image, cam)
    measured = Surface(measured_z, grid, layers={"intensity": image},
                       metadata={**meta, "stage": "measured", "instrument": inst})
    labels = _parameters(texture, label_names)
    uncertainty = bias = None
    if mc > 0:
        runs = [measured_parameters(z, grid, inst, rng, label_names) for rng in
                [np.random.default_rng(s) for s in np.random.SeedSequence(r_mc.integers(2**63)).spawn(mc)]]
        uncertainty, bias = {}, {}
        for n in label_names:
            values = np.array([r[n] for r in runs], dtype=float)
            values = values[np.isfinite(values)]
            uncertainty[n] = float(np.std(values, ddof=1)) if values.size > 1 else math.nan
            bias[n] = float(np.mean(values) - labels[n]) if values.size else math.nan
    return Sample(preset, seed, params, texture, truth, measured, image, records, inst, labels, uncertainty, bias,
                  camera={k: getattr(cam, k) for k in ("light", "azimuth", "defocus")})
