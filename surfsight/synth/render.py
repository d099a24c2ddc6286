"""The surface as a microscope or camera sees it: intensity from surface normals.

Reflectance is a Lambertian diffuse term plus a Cook-Torrance microfacet specular term with a
GGX (Trowbridge-Reitz) normal distribution, Schlick's Fresnel approximation and the Smith
shadowing term (Cook & Torrance, ACM Trans. Graph. 1 (1982) 7; Walter et al., EGSR 2007).
Lighting is coaxial (light along the optical axis, as in bright-field microscopes) or oblique
(a ring or a single lamp at an elevation angle). The optics add defocus blur (a Gaussian
approximation of the defocused point-spread function) and vignetting (cos^4 fall-off); the
sensor adds shot noise (Poisson in photo-electrons), read noise and 8-bit quantisation
(EMVA 1288 sensor model).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Camera:
    """Illumination, optics and sensor of an imaging set-up."""

    light: str = "coaxial"          # "coaxial" or "oblique"
    elevation: float = math.radians(35)  # oblique light elevation above the surface plane, rad
    azimuth: float = 0.0            # oblique light azimuth from the x axis, rad
    albedo: float = 0.6             # diffuse reflectance
    specular: float = 0.4           # weight of the specular term
    roughness: float = 0.25         # GGX roughness alpha of unresolved micro-facets
    f0: float = 0.6                 # Fresnel reflectance at normal incidence (metals 0.5-0.95)
    defocus: float = 0.5            # blur sigma in pixels
    vignetting: float = 0.3         # relative fall-off at the corners
    full_well: float = 8000.0       # photo-electrons at white
    read_noise: float = 6.0         # electrons rms
    bits: int = 8


def normals(z: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Unit surface normals, shape (3, rows, cols) as (nx, ny, nz)."""
    filled = np.where(np.isnan(z), np.nanmean(z), z)
    gy, gx = np.gradient(filled, spacing[0], spacing[1])
    n = np.stack([-gx, -gy, np.ones_like(gx)])
    return n / np.linalg.norm(n, axis=0)


def reflectance(n: np.ndarray, light: np.ndarray, view: np.ndarray, cam: Camera) -> np.ndarray:
    """Diffuse + Cook-Torrance/GGX radiance for unit vectors ``light`` and ``view``."""
    h = light + view
    h = h / np.linalg.norm(h)
    n_l = np.clip(np.tensordot(light, n, axes=1), 0, 1)
    n_v = np.clip(np.tensordot(view, n, axes=1), 1e-4, 1)
    n_h = np.clip(np.tensordot(h, n, axes=1), 0, 1)
    v_h = float(np.clip(view @ h, 0, 1))
    a2 = cam.roughness ** 2
    distribution = a2 / (np.pi * (n_h ** 2 * (a2 - 1) + 1) ** 2)
    fresnel = cam.f0 + (1 - cam.f0) * (1 - v_h) ** 5
    k = cam.roughness / 2
    geometry = (n_l / (n_l * (1 - k) + k)) * (n_v / (n_v * (1 - k) + k))
    specular = distribution * fresnel * geometry / (4 * n_l * n_v + 1e-6)
    return cam.albedo / np.pi * n_l + cam.specular * specular * n_l


def render(z: np.ndarray, spacing: tuple[float, float], rng: np.random.Generator, camera: Camera | None = None) -> np.ndarray:
    """A grey image (float32 in 0..1, same grid) of the height map ``z`` (NaN: dark)."""
    cam = camera or Camera()
    n = normals(z, spacing)
    view = np.array([0.0, 0.0, 1.0])
    if cam.light == "coaxial":
        light = view
    else:
        light = np.array([math.cos(cam.elevation) * math.cos(cam.azimuth),
                          math.cos(cam.elevation) * math.sin(cam.azimuth), math.sin(cam.elevation)])
    radiance = reflectance(n, light, view, cam)
    if cam.defocus > 0:
        radiance = ndimage.gaussian_filter(radiance, cam.defocus, mode="nearest")
    rows, cols = z.shape
    yy, xx = np.mgrid[0:rows, 0:cols]
    rr = np.hypot((yy - rows / 2) / rows, (xx - cols / 2) / cols) / math.sqrt(0.5)
    radiance = radiance * (1 - cam.vignetting * rr ** 2)
    radiance = np.where(np.isnan(z), 0.02, radiance)
    # exposure: the 99th percentile maps to 90 % of the full well
    scale = 0.9 * cam.full_well / max(float(np.percentile(radiance, 99)), 1e-12)
    electrons = rng.poisson(np.clip(radiance * scale, 0, None)).astype(np.float64)
    electrons += rng.normal(0, cam.read_noise, electrons.shape)
    levels = 2 ** cam.bits - 1
    image = np.clip(np.round(electrons / cam.full_well * levels), 0, levels) / levels
    return image.astype(np.float32)
