"""The self-contained HTML inspection report.

One file, no external asset: every picture is an inline base64 PNG, the style sheet is inline,
there is no script, so the report opens offline, prints, and can be archived with the part's
records. Layout: a batch overview (a tally of verdicts, one table row per part linking to its
section), then one section per part (verdict badge and the checks that decided it; the height
map with the detected defects overlaid; the parameter table with uncertainties, the model's
estimate and the limits; the material ratio (Abbott-Firestone) curve; the radial power spectral
density; the fatigue margin), then a block for review and signature.

:func:`part_figures` draws one part's pictures (done in the batch worker, right after the part is
inspected); :func:`render_report` assembles the page from the result rows and those pictures.
"""

from __future__ import annotations

import base64
import html
import io
import math
from datetime import datetime, timezone
from importlib import resources
from string import Template
from typing import Any, Mapping

import numpy as np

__all__ = ["part_figures", "render_report", "format_value"]

#: Longest side of the height map drawn in the report (decimated for display only).
DISPLAY_SIDE = 512
_STATUS_ORDER = ("nonconform", "indeterminate", "error", "conform")


# ------------------------------------------------------------------------------------------------
# pictures
# ------------------------------------------------------------------------------------------------

def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=fig.dpi)
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _small_figure(width: float = 5.0, height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.grid(alpha=0.3)
    return fig, ax


def _height_map(surface, mask, title: str) -> str:
    from ..surface import Surface
    from .figures import height_map_figure

    step = max(1, int(math.ceil(max(surface.shape) / DISPLAY_SIDE)))
    shown = surface if step == 1 else Surface(surface.heights[::step, ::step], (surface.dy * step, surface.dx * step),
                                              metadata=surface.metadata)
    overlay = None if mask is None or not mask.any() else np.asarray(mask)[::step, ::step]
    fig = height_map_figure(shown, title, overlay=overlay)
    fig.set_size_inches(6.4, max(2.6, min(7.0, 5.4 * shown.size_m[0] / shown.size_m[1] + 0.9)))
    fig.set_dpi(100)
    fig.tight_layout()
    return _png(fig)


def _abbott(surface, mask) -> str | None:
    from ..errors import SurfsightError
    from ..metrology import material_ratio as mr
    from ..units import length_unit

    z = surface.heights if mask is None else np.where(mask, np.nan, surface.heights)
    texture = surface.with_heights(z)
    try:
        curve = mr.material_ratio_curve(texture)
        core = mr.core_line(curve)
    except SurfsightError:
        return None
    n = curve.n
    index = np.unique(np.linspace(0, n - 1, min(n, 600)).astype(int))
    ratio = index / (n - 1) * 100
    unit, scale = length_unit(max(abs(curve.heights[0]), abs(curve.heights[-1])) or 1e-6)
    fig, ax = _small_figure()
    ax.plot(ratio, curve.heights[index] / scale, color="#1f4e79", lw=1.6, label="material ratio curve")
    mr_line = np.array([0, 100])
    ax.plot(mr_line, (core.intercept + core.slope * mr_line / 100) / scale, "--", color="#9a6700", lw=1,
            label="equivalent line (ISO 13565-2)")
    for level, name in ((core.upper, "Sk upper"), (core.lower, "Sk lower")):
        ax.axhline(level / scale, color="#888", lw=0.8, ls=":")
    ax.axvline(core.mr1 * 100, color="#b3261e", lw=0.8, ls=":")
    ax.axvline(core.mr2 * 100, color="#b3261e", lw=0.8, ls=":")
    ax.text(core.mr1 * 100, ax.get_ylim()[0], f" Smr1 {core.mr1 * 100:.1f} %", fontsize=7, va="bottom", color="#b3261e")
    ax.text(core.mr2 * 100, ax.get_ylim()[0], f"Smr2 {core.mr2 * 100:.1f} % ", fontsize=7, va="bottom", ha="right",
            color="#b3261e")
    ax.set_xlim(0, 100)
    ax.set_xlabel("material ratio (%)")
    ax.set_ylabel(f"height ({unit}), from the mean plane")
    ax.set_title("Abbott-Firestone curve (defects excluded)", fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return _png(fig)


def _psd(surface, mask) -> str | None:
    from ..errors import SurfsightError
    from ..metrology import psd_radial

    z = surface.heights if mask is None else np.where(mask, np.nan, surface.heights)
    try:
        f, c = psd_radial(surface.with_heights(z))
    except SurfsightError:
        return None
    keep = (f > 0) & (c > 0)
    if keep.sum() < 2:
        return None
    fig, ax = _small_figure()
    ax.loglog(1e6 / f[keep], c[keep] * 1e24, color="#1f4e79", lw=1.2)
    ax.invert_xaxis()
    ax.set_xlabel("wavelength (µm)")
    ax.set_ylabel("radial PSD (µm⁴)")
    ax.set_title("power spectral density (radially averaged, Hann window)", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def _margin(failure: Mapping[str, Any]) -> str | None:
    sf = failure.get("safety_factor")
    if sf is None:
        return None
    lo, hi = (failure.get("safety_factor_interval") or [sf, sf])[:2]
    need = failure.get("min_safety_factor") or 1.0
    fig, ax = _small_figure(5.0, 1.9)
    top = max(hi, need, sf) * 1.25
    ax.axvspan(0, 1.0, color="#fbe4e2")
    ax.axvspan(1.0, need, color="#fff4d6")
    ax.axvspan(need, top, color="#e3f4e8")
    ax.errorbar([sf], [0], xerr=[[sf - lo], [hi - sf]], fmt="o", color="#1d2430", capsize=6, lw=2,
                label="safety factor, 95 % interval")
    ax.axvline(need, color="#1b7f3b", lw=1.5, ls="--", label=f"required minimum {need:g}")
    ax.axvline(1.0, color="#b3261e", lw=1, label="failure (S = 1)")
    ax.set_xlim(0, top)
    ax.set_yticks([])
    ax.set_xlabel("safety factor S = fatigue limit / stress amplitude")
    ax.legend(fontsize=7, loc="lower right", ncol=3)
    ax.set_title("fatigue margin", fontsize=10)
    fig.tight_layout()
    return _png(fig)


def part_figures(inspection) -> dict[str, str]:
    """The report's pictures of one inspected part, as base64 PNG strings keyed by name
    (``height_map``, ``abbott``, ``psd``, ``margin``; a picture that cannot be drawn is left out)."""
    from pathlib import Path

    row = inspection.row
    surface, mask = inspection.surface, inspection.mask
    out: dict[str, str] = {}
    if surface is None:
        return out
    n = len(row.get("defects") or [])
    title = f"{Path(row['file']).name}: prepared heights, {n} defect(s) in red"
    out["height_map"] = _height_map(surface, mask, title)
    for name, draw in (("abbott", _abbott), ("psd", _psd)):
        picture = draw(surface, mask)
        if picture:
            out[name] = picture
    if row.get("failure"):
        picture = _margin(row["failure"])
        if picture:
            out["margin"] = picture
    return out


# ------------------------------------------------------------------------------------------------
# numbers for people
# ------------------------------------------------------------------------------------------------

_VOLUME = {"m3/m2": ("µm³/µm²", 1e-6)}


def format_value(value: float | None, unit: str, digits: int = 4) -> tuple[str, str]:
    """(number, unit) for display: lengths in a readable unit (µm, nm, mm), m3/m2 as µm³/µm²,
    radians in degrees, per cent and plain numbers as they are."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—", ""
    if unit == "m":
        from ..units import length_unit

        symbol, scale = length_unit(value)
        return f"{value / scale:.{digits}g}", symbol
    if unit == "m2":
        from ..units import length_unit

        symbol, scale = length_unit(math.sqrt(abs(value)) or 1e-6)
        return f"{value / scale ** 2:.{digits}g}", f"{symbol}²"
    if unit in _VOLUME:
        symbol, scale = _VOLUME[unit]
        return f"{value / scale:.{digits}g}", symbol
    if unit == "rad":
        return f"{math.degrees(value):.{digits}g}", "°"
    if unit == "Pa":
        return f"{value / 1e6:.{digits}g}", "MPa"
    if unit in ("1", ""):
        return f"{value:.{digits}g}", ""
    return f"{value:.{digits}g}", unit


def _in_unit_of(value: float | None, like: float | None, unit: str, digits: int = 3) -> str:
    """``value`` written in the display unit chosen for ``like`` (so that u matches its value)."""
    if value is None:
        return "—"
    if unit == "m" and like:
        from ..units import length_unit

        symbol, scale = length_unit(like)
        return f"{value / scale:.{digits}g}"
    return format_value(value, unit, digits)[0]


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _badge(status: str | None, big: bool = False) -> str:
    status = status or "error"
    return f'<span class="badge {_e(status)}{" big" if big else ""}">{_e(status)}</span>'


def _status(row: Mapping[str, Any]) -> str:
    return "error" if row.get("status") != "ok" else str(row.get("verdict"))


def _limits(check: Mapping[str, Any] | None, unit: str) -> str:
    if not check:
        return "—"
    lo, hi = check.get("lower"), check.get("upper")
    parts = []
    if lo is not None:
        parts.append("≥ " + " ".join(format_value(lo, unit, 4)))
    if hi is not None:
        parts.append("≤ " + " ".join(format_value(hi, unit, 4)))
    return ", ".join(parts) or "—"


def _img(data: str | None, alt: str, caption: str, css: str = "") -> str:
    if not data:
        return ""
    return (f'<figure class="{css}"><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


# ------------------------------------------------------------------------------------------------
# sections
# ------------------------------------------------------------------------------------------------

def _reason_rows(row: Mapping[str, Any]) -> str:
    lines = []
    order = {s: i for i, s in enumerate(_STATUS_ORDER)}
    for c in sorted(row.get("reasons") or [], key=lambda c: order.get(c.get("status"), 9)):
        unit = c.get("unit") or ""
        value, symbol = format_value(c.get("value"), unit)
        u = _in_unit_of(c.get("U"), c.get("value"), unit)
        lines.append(f'<tr class="row-{_e(c.get("status"))}"><td>{_e(c.get("check"))}</td>'
                     f'<td class="num">{value} {_e(symbol)}</td><td class="num">{u} {_e(symbol) if u != "—" else ""}</td>'
                     f"<td>{_e(_limits(c, unit))}</td><td>{_badge(c.get('status'))}</td>"
                     f"<td>{_e(c.get('rule'))}</td></tr>")
    if not lines:
        return '<p class="muted">The specification sets no limit.</p>'
    return ("<table><thead><tr><th>check</th><th>value</th><th>U (k·u)</th><th>limits</th><th>result</th>"
            "<th>rule</th></tr></thead><tbody>" + "".join(lines) + "</tbody></table>")


def _parameter_rows(row: Mapping[str, Any]) -> str:
    checks = {c.get("check"): c for c in row.get("reasons") or []}
    lines = []
    for name, p in (row.get("parameters") or {}).items():
        unit = p.get("unit") or ""
        value, symbol = format_value(p.get("measured"), unit)
        u = _in_unit_of(p.get("u"), p.get("measured"), unit, 2)
        if p.get("estimate") is not None:
            est = _in_unit_of(p.get("estimate"), p.get("measured") or p.get("estimate"), unit)
            est += f" ± {_in_unit_of(p.get('estimate_u'), p.get('measured') or p.get('estimate'), unit, 2)}"
        else:
            est = "—"
        check = checks.get(name)
        result = _badge(check.get("status")) if check else '<span class="muted">not limited</span>'
        lines.append(f'<tr{" class=row-" + _e(check.get("status")) if check else ""}><td><strong>{_e(name)}</strong>'
                     f'</td><td class="num">{value}</td><td class="num">{u}</td><td>{_e(symbol)}</td>'
                     f'<td class="num">{est}</td><td>{_e(_limits(check, unit))}</td><td>{result}</td></tr>')
    return ("<table><thead><tr><th>parameter</th><th>measured</th><th>u</th><th>unit</th>"
            "<th>model estimate ± u</th><th>limits</th><th>result</th></tr></thead><tbody>"
            + "".join(lines) + "</tbody></table>")


def _defect_rows(row: Mapping[str, Any]) -> str:
    defects = row.get("defects") or []
    if not defects:
        return '<p class="muted">No defect found.</p>'
    lines = []
    for i, d in enumerate(defects):
        cells = [_e(i), _e(d.get("kind"))]
        for key in ("depth_m", "length_m", "width_m"):
            value, symbol = format_value(d.get(key), "m", 3)
            u = d.get(f"u_{key}")
            cells.append(f"{value} {symbol}" + (f" ± {_in_unit_of(u, d.get(key), 'm', 2)}" if u else ""))
        cells.append(" ".join(format_value(d.get("area_m2"), "m2", 3)))
        cells.append(" ".join(format_value(d.get("sqrt_area_m"), "m", 3)))
        pos = " ".join(format_value(d.get("x_m"), "m", 3)) + ", " + " ".join(format_value(d.get("y_m"), "m", 3))
        cells.append(pos)
        conf = d.get("confidence")
        cells.append("—" if conf is None else f"{conf:.2f}")
        lines.append("<tr>" + "".join(f'<td class="num">{c}</td>' if k not in (1,) else f"<td>{c}</td>"
                                      for k, c in enumerate(cells)) + "</tr>")
    return ("<table><thead><tr><th>#</th><th>kind</th><th>depth ± u</th><th>length ± u</th><th>width ± u</th>"
            "<th>area</th><th>√area (Murakami)</th><th>position x, y</th><th>confidence</th></tr></thead><tbody>"
            + "".join(lines) + "</tbody></table>")


def _failure_block(failure: Mapping[str, Any] | None) -> str:
    if not failure:
        return '<p class="muted">No fatigue requirement in the specification.</p>'
    lo, hi = (failure.get("safety_factor_interval") or [None, None])[:2]
    life = failure.get("life_cycles")
    facts = [
        ("safety factor", f"{failure['safety_factor']:.3g} (95 % interval {lo:.3g} – {hi:.3g}); required ≥ "
                          f"{failure.get('min_safety_factor'):g}" if lo is not None else f"{failure['safety_factor']:.3g}"),
        ("probability of failure", f"{failure.get('p_failure'):.3g} (95 % upper bound "
                                   f"{failure.get('p_failure_upper_95'):.3g})"
         + (f"; allowed ≤ {failure['max_failure_probability']:g}" if failure.get("max_failure_probability") else "")),
        ("fatigue limit of the part", " ".join(format_value(failure.get("fatigue_limit_pa"), "Pa", 4))
         + f" (smooth: {' '.join(format_value(failure.get('smooth_limit_pa'), 'Pa', 4))}); governed by "
         f"{failure.get('governing')}"),
        ("stress amplitude", " ".join(format_value(failure.get("stress_amplitude_pa"), "Pa", 4))
         + f", material {failure.get('material')}"),
        ("roughness notch factor", failure.get("kf_note") or f"Kf = {failure.get('kf')}"),
        ("life (Basquin)", "infinite (below the fatigue limit)" if life is None else f"{life:.3g} cycles"),
    ]
    return '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>"


def _part_section(index: int, row: Mapping[str, Any], pictures: Mapping[str, str]) -> str:
    status = _status(row)
    head = (f'<section class="part" id="part-{index}" data-verdict="{_e(status)}"><header>'
            f"<h2>{index}. {_e(row.get('file'))}</h2>{_badge(status, big=True)}</header>")
    if row.get("status") != "ok":
        return head + f'<div class="error-box">{_e(row.get("error"))}</div></section>'
    s = row.get("surface") or {}
    inst = row.get("instrument") or {}
    instrument = inst.get("name") or "not stated in the file"
    if inst.get("model_class"):
        instrument += f" (model recognises: {inst['model_class']})"
    grid = (f"{s.get('cols')} × {s.get('rows')} points, spacing {' '.join(format_value(s.get('dx_m'), 'm', 3))} × "
            f"{' '.join(format_value(s.get('dy_m'), 'm', 3))}, field "
            f"{' '.join(format_value(s.get('size_x_m'), 'm', 3))} × {' '.join(format_value(s.get('size_y_m'), 'm', 3))}; "
            f"{(s.get('invalid_fraction') or 0) * 100:.2f} % not measured")
    facts = [("sha256", (row.get("sha256") or "")[:16] + "…"), ("grid", grid), ("instrument", instrument),
             ("preparation", "; ".join(s.get("preparation") or [])), ("defect detector", row.get("detector"))]
    deciding = [c for c in row.get("reasons") or [] if c.get("status") == row.get("verdict")]
    summary = ("All limits are met." if row.get("verdict") == "conform" else
               "Decided by: " + "; ".join(_e(c.get("message")) for c in deciding[:6])
               + (f" (and {len(deciding) - 6} more)" if len(deciding) > 6 else ""))
    notes = "".join(f"<li>{_e(n)}</li>" for n in row.get("notes") or [])
    body = [
        f'<p class="margin-line">{summary}</p>',
        '<dl class="facts">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>",
        f'<ul class="notes">{notes}</ul>' if notes else "",
        "<h3>Decision</h3>", _reason_rows(row),
        '<div class="figures">',
        _img(pictures.get("height_map"), "height map with defects", "Prepared height map; detected defects in red, "
             "points not measured in magenta."),
        '<div class="stack">',
        _img(pictures.get("abbott"), "Abbott-Firestone curve", "Material ratio curve of the texture with the "
             "ISO 13565-2 core (Sk) construction."),
        _img(pictures.get("psd"), "power spectral density", "Radially averaged PSD of the texture."),
        "</div></div>",
        "<h3>Parameters (ISO 25178-2, defects excluded)</h3>", _parameter_rows(row),
        "<h3>Defects</h3>", _defect_rows(row),
        "<h3>Fatigue</h3>", _img(pictures.get("margin"), "fatigue margin", "Safety factor and its 95 % interval "
                                 "(Monte Carlo) against the required minimum.", "narrow"),
        _failure_block(row.get("failure")),
    ]
    return head + "".join(body) + "</section>"


def _overview(rows: list[Mapping[str, Any]]) -> str:
    lines = []
    for i, row in enumerate(rows, 1):
        status = _status(row)
        defects = row.get("defects") or []
        depths = [d.get("depth_m") for d in defects if d.get("depth_m") is not None]
        sa = (row.get("parameters") or {}).get("Sa") or {}
        failure = row.get("failure") or {}
        if row.get("status") != "ok":
            why = _e(row.get("error"))
        else:
            deciding = [c.get("check") for c in row.get("reasons") or []
                        if c.get("status") == row.get("verdict") and status != "conform"]
            why = _e("; ".join(deciding[:3]) + (f"; and {len(deciding) - 3} more" if len(deciding) > 3 else "")) \
                or "all limits met"
        sf = failure.get("safety_factor")
        lines.append(
            f'<tr class="row-{_e(status)}"><td class="num">{i}</td><td><a href="#part-{i}">{_e(row.get("file"))}</a></td>'
            f"<td>{_badge(status)}</td><td>{why}</td>"
            f'<td class="num">{len(defects) if row.get("status") == "ok" else "—"}</td>'
            f'<td class="num">{" ".join(format_value(max(depths), "m", 3)) if depths else "—"}</td>'
            f'<td class="num">{" ".join(format_value(sa.get("measured"), "m", 3))}</td>'
            f'<td class="num">{_fmt(sf, ".3g")}</td>'
            f'<td class="num">{_fmt(failure.get("p_failure"), ".2g")}</td></tr>')
    return ('<table class="overview-table"><thead><tr><th>#</th><th>part (file)</th><th>verdict</th><th>why</th>'
            "<th>defects</th><th>deepest</th><th>Sa</th><th>safety factor</th><th>P(failure)</th></tr></thead><tbody>"
            + "".join(lines) + "</tbody></table>")


def render_report(rows: list[Mapping[str, Any]], pictures: Mapping[str, Mapping[str, str]] | None = None, *,
                  title: str = "Surface inspection report") -> str:
    """The HTML page for the result ``rows``; ``pictures`` maps each row's key
    (:func:`surfsight.inspect.results.row_key`) to what :func:`part_figures` drew."""
    from .. import __version__
    from ..inspect.results import row_key

    pictures = pictures or {}
    counts = {s: 0 for s in _STATUS_ORDER}
    for row in rows:
        counts[_status(row)] = counts.get(_status(row), 0) + 1
    batch = ("error" if counts["error"] else "nonconform" if counts["nonconform"] else
             "indeterminate" if counts["indeterminate"] else "conform") if rows else "indeterminate"
    tally = "".join(f'<span class="badge {s}"><span class="count">{counts[s]}</span>{s}</span>'
                    for s in ("conform", "nonconform", "indeterminate", "error"))
    specs = sorted({str(r.get("spec")) for r in rows if r.get("spec")})
    rules = sorted({c.get("rule") for r in rows for c in r.get("reasons") or [] if c.get("rule")})
    parts = "".join(_part_section(i, row, pictures.get(row_key(row["file"], row.get("sha256")), {}))
                    for i, row in enumerate(rows, 1))
    template = Template(resources.files("surfsight.report").joinpath("templates/report.html").read_text("utf-8"))
    style = resources.files("surfsight.report").joinpath("templates/report.css").read_text("utf-8")
    detectors = sorted({str(r.get("detector")) for r in rows if r.get("detector")})
    return template.substitute(
        version=_e(__version__), title=_e(title), style=style, spec=_e(", ".join(specs) or "—"),
        rule=_e(", ".join(rules) or "—"), generated=_e(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
        batch_badge=_badge(batch, big=True), tally=tally, overview=_overview(list(rows)), parts=parts,
        signoff_note=_e(f"{len(rows)} part(s). conform: every limit met (for the guarded rule, by more than the "
                        "expanded uncertainty U); nonconform: a limit is violated; indeterminate: the measurement "
                        "cannot decide (within U of a limit, or not measured); error: the file could not be "
                        "inspected."),
        footer=_e(f"surfsight {__version__}. Defect detection: {', '.join(detectors) or '—'}. Parameters are ISO "
                  "25178-2 values of the prepared scan with the defects excluded; u is the standard uncertainty "
                  "(spread over the four quarters of the field, with the model's where it estimates the parameter); "
                  "U = k·u."),
    )
