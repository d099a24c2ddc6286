"""Built-in example data for the demo and the docs: small, seeded, made on the fly (nothing is
downloaded). The full simulator lives in :mod:`surfsight.synth`; this module only gives a quick,
self-contained surface."""

from __future__ import annotations

import numpy as np

from .surface import Surface


def ground_surface_with_scratch(size: int = 256, spacing: float = 1e-6, seed: int = 0) -> Surface:
    """A ground-like surface (anisotropic Gaussian random field, lay along x, Sq about 0.4 µm)
    with one V-shaped scratch across it and a few non-measured points.

    The field is white noise filtered in Fourier space with a Gaussian autocorrelation of
    correlation lengths 40 µm along x and 4 µm along y (Persson et al., J. Phys. Condens.
    Matter 17 (2005) R1, eq. for a Gaussian ACF spectrum).
    """
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((size, size))
    ky = np.fft.fftfreq(size, d=spacing)[:, None]
    kx = np.fft.fftfreq(size, d=spacing)[None, :]
    lx, ly = 40e-6, 4e-6
    amplitude = np.exp(-(np.pi ** 2) * ((kx * lx) ** 2 + (ky * ly) ** 2) / 2)
    z = np.fft.ifft2(np.fft.fft2(noise) * amplitude).real
    z *= 0.4e-6 / z.std()
    # a V scratch 3 µm deep, 12 µm wide, at 20 degrees to x
    yy, xx = np.mgrid[0:size, 0:size] * spacing
    angle = np.deg2rad(20)
    distance = np.abs((yy - size * spacing * 0.35) * np.cos(angle) - xx * np.sin(angle))
    half_width = 6e-6
    z -= np.clip(1 - distance / half_width, 0, None) * 3e-6
    # instrument dropouts: a few missing points
    z[rng.random((size, size)) < 0.003] = np.nan
    return Surface(z, (spacing, spacing), metadata={"instrument": "surfsight example (simulated)",
                                                     "seed": seed, "description": "ground surface with a scratch"})
