"""Surface textures by manufacturing process.

Each preset draws its process parameters from documented ranges (uniform, or log-uniform for
quantities spanning decades) and builds a height map from the process geometry: feed marks from
tool nose radius and feed (turning, milling; Whitehouse, *Handbook of Surface and Nanometrology*,
2nd ed., 2011, ch. 6: theoretical peak-to-valley ``f^2 / (8 r)``), cross-hatch grooves (plateau
honing; ISO 13565-1 describes the resulting stratified profile), overlapping dimples and craters
(shot peening, EDM), random fields for abrasive processes (grinding, lapping, polishing), and
layer lines with partly fused powder particles (laser powder-bed fusion; Townsend et al.,
Precis. Eng. 46 (2016) 34).

Every preset function has the signature ``build(rng, shape, spacing, params) -> heights`` and
returns metres; :data:`PRESETS` lists them with their parameter ranges. The resulting ranges of
Sa, Sq, Sal and Str are measured by ``benchmarks/bench_synth.py`` and tabulated in
``docs/synth.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InputError
from .texture import fractal_field, gaussian_field, grid_coordinates, texture

Params = dict[str, float]


@dataclass(frozen=True)
class Preset:
    """A manufacturing process: how to draw its parameters and build its texture.

    ``ranges`` maps each parameter to ``(low, high, scale)`` with scale ``"lin"`` or ``"log"``;
    lengths in metres, angles in radians.
    """

    name: str
    description: str
    spacing: float
    ranges: dict[str, tuple[float, float, str]]
    build: Callable[[np.random.Generator, tuple[int, int], tuple[float, float], Params], np.ndarray]
    defect_rates: dict[str, float] = field(default_factory=dict)

    def draw(self, rng: np.random.Generator, overrides: Params | None = None) -> Params:
        """Draw the process parameters; ``overrides`` fix some of them."""
        params: Params = {}
        for name, (low, high, scale) in self.ranges.items():
            if scale == "log":
                params[name] = float(math.exp(rng.uniform(math.log(low), math.log(high))))
            else:
                params[name] = float(rng.uniform(low, high))
        for name, value in (overrides or {}).items():
            params[name] = float(value)
        return params


def _scaled(z: np.ndarray, Sq: float) -> np.ndarray:
    z = z - z.mean()
    std = z.std()
    return z if std == 0 else z * (Sq / std)



def _cusp(u: np.ndarray, feed: float, radius: float) -> np.ndarray:
    """Feed-mark profile of a round tool: parabolic cusps of period ``feed``, height
    ``feed^2 / (8 radius)`` (small-slope approximation of the nose circle)."""
    phase = np.mod(u, feed) - feed / 2
    return phase ** 2 / (2 * radius)


# --- abrasive processes -------------------------------------------------------------------------------------

def _random_abrasive(rng, shape, spacing, p, acf="exponential"):
    """A random field meeting Sq, Sal, Str, lay, Ssk, Sku (see :func:`.texture.texture`);
    moments in expectation (no rank mapping, for speed)."""
    return texture(shape, spacing, rng, acf, Sq=p["Sq"], Sal=p["Sal"], Str=p.get("Str", 1.0), lay=p.get("lay", 0.0),
                   Ssk=p["Ssk"], Sku=p["Sku"], exact_moments=False).heights


def _ground(rng, shape, spacing, p):
    return _random_abrasive(rng, shape, spacing, p, acf="gaussian")


def _polished(rng, shape, spacing, p):
    z = _random_abrasive(rng, shape, spacing, p, acf="gaussian")
    # a few faint polishing scratches (random straight lines, Gaussian cross-section)
    y, x = grid_coordinates(shape, spacing)
    for _ in range(int(p["scratches"])):
        angle = rng.uniform(0, np.pi)
        offset = rng.uniform(0, shape[0] * spacing[0])
        d = (y - offset) * np.cos(angle) - x * np.sin(angle)
        width = rng.uniform(2, 5) * spacing[1]
        z -= p["Sq"] * rng.uniform(0.5, 1.5) * np.exp(-0.5 * (d / width) ** 2)
    return z - z.mean()


# --- machining with a defined tool edge -----------------------------------------------------------------------

def _turned(rng, shape, spacing, p):
    y, x = grid_coordinates(shape, spacing)
    u = x + rng.uniform(0, p["feed"]) + p["feed_jitter"] * p["feed"] * np.sin(2 * np.pi * y / (shape[0] * spacing[0]))
    z = _cusp(u, p["feed"], p["nose_radius"]) + 0 * y
    noise = gaussian_field(shape, spacing, rng, acf="exponential", Sal=p["noise_Sal"], Str=0.3, lay=np.pi / 2)
    return z - z.mean() + p["noise_Sq"] * noise


def _milled(rng, shape, spacing, p):
    y, x = grid_coordinates(shape, spacing)
    yc = rng.uniform(-0.5, 1.5) * shape[0] * spacing[0]
    radius = p["cutter_radius"]
    arc = radius - np.sqrt(np.maximum(radius ** 2 - (y - yc) ** 2, 0.0))
    u = x - arc + rng.uniform(0, p["feed"])
    z = _cusp(u, p["feed"], p["corner_radius"])
    noise = gaussian_field(shape, spacing, rng, acf="exponential", Sal=p["noise_Sal"], Str=1.0)
    return z - z.mean() + p["noise_Sq"] * noise


# --- finishing with stratified results ------------------------------------------------------------------------

def _honed(rng, shape, spacing, p):
    z = _scaled(gaussian_field(shape, spacing, rng, acf="gaussian", Sal=p["plateau_Sal"], Str=1.0), p["plateau_Sq"])
    y, x = grid_coordinates(shape, spacing)
    area = shape[0] * spacing[0] * shape[1] * spacing[1]
    count = max(1, int(p["groove_density"] * area))
    half = p["hatch_angle"] / 2
    extent = math.hypot(shape[0] * spacing[0], shape[1] * spacing[1])
    for _ in range(count):
        angle = half if rng.random() < 0.5 else -half
        offset = rng.uniform(-extent, extent)
        d = np.abs((x * math.sin(angle) - y * math.cos(angle)) - offset)
        depth = rng.exponential(p["groove_depth"])
        width = p["groove_width"] * rng.uniform(0.6, 1.4)
        groove = np.where(d < width / 2, -depth * (1 - (2 * d / width) ** 2), np.inf)
        z = np.minimum(z, groove)
    return z - z.mean()


def _dimpled(rng, shape, spacing, p, *, rims: bool):
    """Overlapping spherical dimples (shot peening) or craters with raised rims (EDM)."""
    y, x = grid_coordinates(shape, spacing)
    height, width = shape[0] * spacing[0], shape[1] * spacing[1]
    mean_radius = p["radius"]
    count = max(1, int(p["coverage"] * height * width / (np.pi * mean_radius ** 2)))
    z = np.zeros(shape)
    for _ in range(count):
        r = mean_radius * rng.lognormal(0, 0.25)
        cy, cx = rng.uniform(-r, height + r), rng.uniform(-r, width + r)
        depth = p["depth_ratio"] * r * rng.uniform(0.7, 1.3)
        i0, i1 = max(0, int((cy - 1.6 * r) / spacing[0])), min(shape[0], int((cy + 1.6 * r) / spacing[0]) + 2)
        j0, j1 = max(0, int((cx - 1.6 * r) / spacing[1])), min(shape[1], int((cx + 1.6 * r) / spacing[1]) + 2)
        if i0 >= i1 or j0 >= j1:
            continue
        rho2 = ((y[i0:i1] - cy) ** 2 + (x[:, j0:j1] - cx) ** 2) / r ** 2
        if rims:
            crater = -depth * np.clip(1 - rho2, 0, None) + 0.35 * depth * np.exp(-((np.sqrt(rho2) - 1.1) / 0.18) ** 2)
            z[i0:i1, j0:j1] += crater
        else:
            # the new dimple's spherical cap replaces what was there where it lies lower
            base = z[i0:i1, j0:j1].mean()
            cap = np.where(rho2 < 1, base - depth * (1 - rho2), np.inf)
            z[i0:i1, j0:j1] = np.minimum(z[i0:i1, j0:j1], cap)
    roughness = gaussian_field(shape, spacing, rng, acf="exponential", Sal=p["radius"] / 6, Str=1.0)
    z = z + p["micro_Sq"] * roughness
    return z - z.mean()


# --- additive manufacturing -----------------------------------------------------------------------------------

def _additive(rng, shape, spacing, p):
    y, x = grid_coordinates(shape, spacing)
    layers = p["layer_amplitude"] * np.abs(np.sin(np.pi * (y + rng.uniform(0, p["layer_thickness"])) / p["layer_thickness"]))
    waviness = p["waviness_Sq"] * fractal_field(shape, spacing, rng, hurst=0.8, rolloff=p["layer_thickness"] * 4)
    z = layers + waviness + 0 * x
    height, width = shape[0] * spacing[0], shape[1] * spacing[1]
    count = rng.poisson(p["particle_density"] * height * width)
    for _ in range(count):
        r = p["particle_radius"] * rng.lognormal(0, 0.25)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        fused = rng.uniform(0.2, 0.7)  # share of the sphere sunk into the surface
        i0, i1 = max(0, int((cy - r) / spacing[0])), min(shape[0], int((cy + r) / spacing[0]) + 2)
        j0, j1 = max(0, int((cx - r) / spacing[1])), min(shape[1], int((cx + r) / spacing[1]) + 2)
        if i0 >= i1 or j0 >= j1:
            continue
        d2 = (y[i0:i1] - cy) ** 2 + (x[:, j0:j1] - cx) ** 2
        local = z[i0:i1, j0:j1]
        top = local.mean() + r * (1 - 2 * fused) + np.sqrt(np.clip(r ** 2 - d2, 0, None))
        z[i0:i1, j0:j1] = np.where(d2 < r ** 2, np.maximum(local, top), local)
    return z - z.mean()


um = 1e-6
PRESETS: dict[str, Preset] = {
    "ground": Preset("ground", "surface grinding: random lay along x, slightly negative skew", 1 * um, {
        "Sq": (0.1 * um, 1.5 * um, "log"), "Sal": (3 * um, 12 * um, "lin"), "Str": (0.05, 0.25, "lin"),
        "lay": (-0.05, 0.05, "lin"), "Ssk": (-0.8, 0.0, "lin"), "Sku": (3.0, 4.5, "lin")}, _ground),
    "turned": Preset("turned", "single-point turning: parabolic feed marks of a round-nosed tool", 1 * um, {
        "feed": (40 * um, 200 * um, "log"), "nose_radius": (0.2e-3, 1.6e-3, "log"), "feed_jitter": (0.0, 0.05, "lin"),
        "noise_Sq": (0.02 * um, 0.15 * um, "log"), "noise_Sal": (2 * um, 6 * um, "lin")}, _turned),
    "milled": Preset("milled", "face milling: curved feed marks of an end mill", 2 * um, {
        "feed": (50 * um, 250 * um, "log"), "corner_radius": (0.4e-3, 2e-3, "log"), "cutter_radius": (2e-3, 10e-3, "log"),
        "noise_Sq": (0.03 * um, 0.2 * um, "log"), "noise_Sal": (3 * um, 10 * um, "lin")}, _milled),
    "honed": Preset("honed", "plateau honing: smooth plateaus cut by a cross-hatch of deep grooves", 1 * um, {
        "plateau_Sq": (0.05 * um, 0.2 * um, "log"), "plateau_Sal": (3 * um, 8 * um, "lin"),
        "hatch_angle": (np.deg2rad(40), np.deg2rad(70), "lin"), "groove_density": (4e7, 2e8, "log"),
        "groove_depth": (0.5 * um, 3 * um, "log"), "groove_width": (4 * um, 12 * um, "lin")}, _honed),
    "shot_peened": Preset("shot_peened", "shot peening: overlapping spherical dimples", 2 * um, {
        "radius": (15 * um, 50 * um, "log"), "coverage": (1.0, 2.5, "lin"), "depth_ratio": (0.05, 0.15, "lin"),
        "micro_Sq": (0.05 * um, 0.3 * um, "log")}, lambda r, s, sp, p: _dimpled(r, s, sp, p, rims=False)),
    "edm": Preset("edm", "electrical discharge machining: overlapping craters with raised rims", 1 * um, {
        "radius": (5 * um, 25 * um, "log"), "coverage": (1.5, 3.0, "lin"), "depth_ratio": (0.1, 0.3, "lin"),
        "micro_Sq": (0.02 * um, 0.1 * um, "log")}, lambda r, s, sp, p: _dimpled(r, s, sp, p, rims=True)),
    "polished": Preset("polished", "polishing: very smooth isotropic texture with faint scratches", 0.5 * um, {
        "Sq": (2e-9, 30e-9, "log"), "Sal": (1 * um, 5 * um, "lin"), "Ssk": (-0.5, 0.2, "lin"), "Sku": (3.0, 4.0, "lin"),
        "scratches": (0, 4, "lin")}, _polished),
    "lapped": Preset("lapped", "lapping: isotropic random texture, negative skew", 1 * um, {
        "Sq": (0.05 * um, 0.5 * um, "log"), "Sal": (2 * um, 8 * um, "lin"), "Ssk": (-1.5, -0.3, "lin"),
        "Sku": (3.5, 6.0, "lin")}, _random_abrasive),
    "additive": Preset("additive", "laser powder-bed fusion as built: layer lines and partly fused particles", 2 * um, {
        "layer_thickness": (20 * um, 60 * um, "lin"), "layer_amplitude": (1 * um, 5 * um, "lin"),
        "waviness_Sq": (1 * um, 5 * um, "log"), "particle_radius": (8 * um, 22 * um, "lin"),
        "particle_density": (2e8, 1.5e9, "log")}, _additive),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown process preset {name!r}; known: {', '.join(PRESETS)}") from None
