"""Pictures of surfaces and profiles: height maps with colour bar, scale bar and the invalid
points shown in their own colour, and profile plots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..surface import PointCloud, Profile, Surface
from ..units import length_unit

#: Colour of non-measured points in height maps.
INVALID_COLOUR = "#ff00ff"
#: Longest side drawn at full resolution; larger maps are decimated for display only.
MAX_DISPLAY = 2048


def _nice_length(target: float) -> float:
    """A round length (1, 2 or 5 times a power of ten) close to ``target``."""
    exponent = np.floor(np.log10(target))
    base = target / 10 ** exponent
    nice = 1 if base < 1.5 else 2 if base < 3.5 else 5 if base < 7.5 else 10
    return float(nice * 10 ** exponent)


def height_map_figure(surface: Surface, title: str | None = None, *, overlay: np.ndarray | None = None):
    """A matplotlib figure of a height map.

    Heights are shown in a readable unit with a colour bar; invalid points in magenta with a
    legend entry giving their share; a scale bar in the lower left. ``overlay`` (boolean, same
    shape) is drawn as a translucent red mask, e.g. detected defects.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    z = surface.heights
    step = max(1, int(np.ceil(max(z.shape) / MAX_DISPLAY)))
    zd = z[::step, ::step]
    valid = ~np.isnan(zd)
    if not valid.any():
        raise InputError(f"{surface.metadata.get('source_file', 'surface')}: no valid point to draw")
    ly, lx = surface.size_m
    lat_unit, lat_scale = length_unit(max(lx, ly))
    zc = zd - np.nanmean(zd)
    z_unit, z_scale = length_unit(np.nanmax(np.abs(zc)) or 1e-9)
    cmap = plt.get_cmap("viridis").with_extremes(bad=INVALID_COLOUR)
    aspect_ratio = ly / lx
    fig, ax = plt.subplots(figsize=(7.5, max(2.5, min(9.0, 6.5 * aspect_ratio + 1.0))), dpi=120)
    lo, hi = np.nanpercentile(zc, [0.5, 99.5])
    image = ax.imshow(zc / z_scale, cmap=cmap, origin="upper", interpolation="nearest",
                      extent=(0, lx / lat_scale, ly / lat_scale, 0), vmin=lo / z_scale, vmax=hi / z_scale)
    if overlay is not None:
        mask = np.asarray(overlay, dtype=bool)[::step, ::step]
        ax.imshow(np.where(mask, 1.0, np.nan), cmap=ListedColormap(["red"]), alpha=0.45, origin="upper",
                  interpolation="nearest", extent=(0, lx / lat_scale, ly / lat_scale, 0))
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label(f"height ({z_unit}), mean removed")
    ax.set_xlabel(f"x ({lat_unit})")
    ax.set_ylabel(f"y ({lat_unit})")
    bar_len = _nice_length(lx / 5)
    bar_unit, bar_scale = length_unit(bar_len)
    ax.add_artist(AnchoredSizeBar(ax.transData, bar_len / lat_scale, f"{bar_len / bar_scale:g} {bar_unit}",
                                  "lower left", pad=0.4, color="white", frameon=True, size_vertical=0,
                                  label_top=True))
    ax.artists[-1].patch.set_facecolor("black")
    ax.artists[-1].patch.set_alpha(0.5)
    invalid_share = surface.invalid_fraction
    handles = [Patch(color=INVALID_COLOUR, label=f"not measured: {invalid_share:.1%}")]
    if overlay is not None:
        handles.append(Patch(color="red", alpha=0.45, label="defects"))
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_title(title or Path(str(surface.metadata.get("source_file", "surface"))).name, fontsize=10)
    fig.tight_layout()
    return fig


def profile_figure(profile: Profile, title: str | None = None):
    """A matplotlib figure of a profile, gaps (NaN) left open and marked below the axis."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    x_unit, x_scale = length_unit(profile.length_m)
    z = profile.heights - np.nanmean(profile.heights)
    z_unit, z_scale = length_unit(np.nanmax(np.abs(z)) or 1e-9)
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=120)
    ax.plot(profile.x / x_scale, z / z_scale, lw=0.7, color="#1f4e79")
    invalid = np.isnan(z)
    if invalid.any():
        ax.plot(profile.x[invalid] / x_scale, np.full(invalid.sum(), np.nanmin(z) / z_scale), "|",
                color=INVALID_COLOUR, label=f"not measured: {invalid.mean():.1%}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(f"x ({x_unit})")
    ax.set_ylabel(f"height ({z_unit}), mean removed")
    ax.set_title(title or Path(str(profile.metadata.get("source_file", "profile"))).name, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save atomically (temporary file, then rename) and close the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    suffix = path.suffix or ".png"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent if str(path.parent) else ".")
    os.close(fd)
    try:
        fig.savefig(tmp, format=suffix.lstrip(".").lower())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def show(obj: Surface | Profile | PointCloud, path: str | os.PathLike, title: str | None = None) -> Path:
    """Draw a surface or profile to an image file (PNG, SVG or PDF by suffix)."""
    if isinstance(obj, Surface):
        fig = height_map_figure(obj, title)
    elif isinstance(obj, Profile):
        fig = profile_figure(obj, title)
    else:
        raise InputError(f"{obj.metadata.get('source_file', 'input')}: a point cloud has no grid to draw; "
                         "grid it first")
    return save_figure(fig, path)
