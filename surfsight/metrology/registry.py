"""The registry of areal parameters: name, unit, family, reference clause, description and the
function that computes each one.

``PARAMETERS`` maps the ISO symbol (``"Sa"``, ``"Sdr"``, ``"Vmc"``...) to a :class:`ParameterInfo`.
Units are SI (``"m"``, ``"1"`` for dimensionless, ``"rad"``, ``"m3/m2"``, ``"1/m2"``) except where the
standard writes per cent (``"%"``: Sdr, Smr1, Smr2 and Smr(c)).

Four parameters take an argument and are asked for by name with the argument in brackets:
``"Smr(1um)"`` (height from the mean plane; a length with unit, bare numbers are metres),
``"Smc(10)"``, ``"Vm(10)"``, ``"Vv(80)"`` (material ratio in per cent). They are not part of the
default set. See :func:`surfsight.metrology.parameters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..errors import InputError, ParameterError
from ..units import parse_length
from . import features, height, hybrid, material_ratio, spatial

__all__ = ["ParameterInfo", "PARAMETERS", "DEFAULT_NAMES", "FAMILIES", "resolve", "ParameterRequest"]


@dataclass(frozen=True)
class ParameterInfo:
    """What the registry knows about one parameter.

    Attributes
    ----------
    name
        ISO symbol as written in the standard.
    unit
        Unit of the value returned (SI, or ``"%"`` where the standard uses per cent).
    family
        ``"height"``, ``"spatial"``, ``"hybrid"``, ``"functional"``, ``"volume"`` or ``"feature"``.
    reference
        Standard and clause defining it.
    description
        One line in plain words.
    function
        ``function(surface, **intermediates)`` (plus the argument, for parametrised ones).
    needs
        Names of the shared intermediates the function accepts by keyword
        (see :class:`surfsight.metrology.areal.Intermediates`).
    argument, argument_unit
        For ``Smr``/``Smc``/``Vm``/``Vv``: the argument's name and unit (``"m"`` or ``"%"``).
    default
        Whether it belongs to the default set computed when no names are given.
    """

    name: str
    unit: str
    family: str
    reference: str
    description: str
    function: Callable[..., float]
    needs: tuple[str, ...] = ()
    argument: str | None = None
    argument_unit: str | None = None
    default: bool = True


_ISO = "ISO 25178-2:2021"


def _p(name, unit, family, reference, description, function, needs=(), argument=None, argument_unit=None,
       default=True) -> ParameterInfo:
    return ParameterInfo(name, unit, family, reference, description, function, tuple(needs), argument,
                         argument_unit, default)


_ENTRIES = [
    # height, clause 4.2
    _p("Sq", "m", "height", f"{_ISO} 4.2.2", "root mean square height", height.Sq, ["moments"]),
    _p("Ssk", "1", "height", f"{_ISO} 4.2.3", "skewness of the height distribution", height.Ssk, ["moments"]),
    _p("Sku", "1", "height", f"{_ISO} 4.2.4", "kurtosis of the height distribution", height.Sku, ["moments"]),
    _p("Sp", "m", "height", f"{_ISO} 4.2.5", "maximum peak height", height.Sp, ["moments"]),
    _p("Sv", "m", "height", f"{_ISO} 4.2.6", "maximum pit height (positive depth)", height.Sv, ["moments"]),
    _p("Sz", "m", "height", f"{_ISO} 4.2.7", "maximum height, Sp + Sv", height.Sz, ["moments"]),
    _p("Sa", "m", "height", f"{_ISO} 4.2.8", "arithmetic mean height", height.Sa, ["moments"]),
    # spatial, clause 4.3
    _p("Sal", "m", "spatial", f"{_ISO} 4.3.2", "autocorrelation length (fastest decay to s = 0.2)",
       spatial.Sal, ["decay"]),
    _p("Str", "1", "spatial", f"{_ISO} 4.3.3", "texture aspect ratio (fastest / slowest ACF decay)",
       spatial.Str, ["decay"]),
    _p("Ssw", "m", "spatial", f"{_ISO} 4.3.4", "dominant spatial wavelength", spatial.Ssw, ["spectrum"]),
    _p("Std", "rad", "spatial", f"{_ISO} 4.3.5", "texture direction (dominant wave vector, normal to the lay)",
       spatial.Std, ["spectrum"]),
    # hybrid, clause 4.4
    _p("Sdq", "1", "hybrid", f"{_ISO} 4.4.2", "root mean square gradient", hybrid.Sdq, ["slopes"]),
    _p("Sdr", "%", "hybrid", f"{_ISO} 4.4.3, Annex D", "developed interfacial area ratio", hybrid.Sdr, ["slopes"]),
    # material ratio, clause 4.5
    _p("Smr", "%", "functional", f"{_ISO} 4.5.1", "areal material ratio at height c from the mean plane",
       material_ratio.Smr, ["curve"], "c", "m", False),
    _p("Smc", "m", "functional", f"{_ISO} 4.5.2", "height (from the mean plane) at material ratio mr",
       material_ratio.Smc, ["curve"], "mr", "%", False),
    _p("Sxp", "m", "functional", f"{_ISO} 4.5.3", "peak extreme height, Smc(2.5 %) - Smc(50 %)",
       material_ratio.Sxp, ["curve"]),
    _p("Sk", "m", "functional", f"{_ISO} 4.5.4; ISO 13565-2:1996 4", "core height", material_ratio.Sk,
       ["curve", "core"]),
    _p("Spk", "m", "functional", f"{_ISO} 4.5.4; ISO 13565-2:1996 4", "reduced peak height",
       material_ratio.Spk, ["curve", "core"]),
    _p("Svk", "m", "functional", f"{_ISO} 4.5.4; ISO 13565-2:1996 4", "reduced dale height",
       material_ratio.Svk, ["curve", "core"]),
    _p("Smr1", "%", "functional", f"{_ISO} 4.5.4; ISO 13565-2:1996 4", "material ratio at the top of the core",
       material_ratio.Smr1, ["curve", "core"]),
    _p("Smr2", "%", "functional", f"{_ISO} 4.5.4; ISO 13565-2:1996 4", "material ratio at the bottom of the core",
       material_ratio.Smr2, ["curve", "core"]),
    _p("Spkx", "m", "functional", f"{_ISO} 4.5.4", "peak height above the core (Sp minus upper core limit)",
       material_ratio.Spkx, ["curve", "core"]),
    _p("Svkx", "m", "functional", f"{_ISO} 4.5.4", "dale depth below the core (lower core limit plus Sv)",
       material_ratio.Svkx, ["curve", "core"]),
    _p("Vm", "m3/m2", "volume", f"{_ISO} 4.5.6", "material volume at material ratio p", material_ratio.Vm,
       ["curve"], "p", "%", False),
    _p("Vv", "m3/m2", "volume", f"{_ISO} 4.5.7", "void volume at material ratio p", material_ratio.Vv,
       ["curve"], "p", "%", False),
    _p("Vmp", "m3/m2", "volume", f"{_ISO} 4.5.6", "peak material volume, Vm(10 %)", material_ratio.Vmp, ["curve"]),
    _p("Vmc", "m3/m2", "volume", f"{_ISO} 4.5.6", "core material volume, Vm(80 %) - Vm(10 %)",
       material_ratio.Vmc, ["curve"]),
    _p("Vvc", "m3/m2", "volume", f"{_ISO} 4.5.7", "core void volume, Vv(10 %) - Vv(80 %)", material_ratio.Vvc,
       ["curve"]),
    _p("Vvv", "m3/m2", "volume", f"{_ISO} 4.5.7", "dale void volume, Vv(80 %)", material_ratio.Vvv, ["curve"]),
]

# Feature parameters (ISO 25178-2:2021 clause 5), computed by surfsight.metrology.features from one
# watershed segmentation with Wolf pruning at 5 % of Sz (ISO 25178-3 default).
_FEATURES = {
    "Spd": "density of peaks (significant hills per unit area)",
    "Spc": "arithmetic mean peak curvature",
    "S10z": "ten point height: S5p + S5v",
    "S5p": "five point peak height",
    "S5v": "five point pit height",
    "Sda": "mean dale area",
    "Sha": "mean hill area",
    "Sdv": "mean dale volume",
    "Shv": "mean hill volume",
}
for _name in features.FEATURE_PARAMETERS:
    _ENTRIES.append(_p(_name, features.FEATURE_UNITS[_name], "feature",
                       f"{_ISO} 5 (feature parameters); ISO 16610-85 (Wolf pruning)",
                       _FEATURES.get(_name, _name), getattr(features, _name), ["features"]))

#: Every registered parameter by ISO symbol.
PARAMETERS: dict[str, ParameterInfo] = {info.name: info for info in _ENTRIES}

#: The parameters computed when no names are given (those without an argument), in registry order.
DEFAULT_NAMES: tuple[str, ...] = tuple(info.name for info in _ENTRIES if info.default)

#: Family names in display order.
FAMILIES: tuple[str, ...] = ("height", "spatial", "hybrid", "functional", "volume", "feature")


@dataclass(frozen=True)
class ParameterRequest:
    """One requested parameter: the key it is reported under, its registry entry and its argument (SI)."""

    key: str
    info: ParameterInfo
    argument: float | None = None


_CALL = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*\(\s*(.*?)\s*\)\s*$")


def resolve(names: "list[str] | tuple[str, ...] | str | None") -> list[ParameterRequest]:
    """Check requested names against the registry and parse arguments such as ``"Smc(10)"``.

    ``names`` may be a list or a comma-separated string. Unknown names, a missing argument (``"Smr"``),
    an argument where none is taken (``"Sa(3)"``) or an unreadable argument raise one
    :class:`ParameterError` that lists what is known.
    """
    if names is None:
        return [ParameterRequest(n, PARAMETERS[n]) for n in DEFAULT_NAMES]
    if isinstance(names, str):
        names = [n for n in (part.strip() for part in _split(names)) if n]
    requests: list[ParameterRequest] = []
    unknown: list[str] = []
    for raw in names:
        text = str(raw).strip()
        match = _CALL.match(text)
        symbol, arg_text = (match.group(1), match.group(2)) if match else (text, None)
        info = PARAMETERS.get(symbol)
        if info is None:
            unknown.append(text)
            continue
        if info.argument is None:
            if arg_text is not None:
                raise ParameterError(f"parameter {text!r}: {symbol} takes no argument")
            requests.append(ParameterRequest(symbol, info))
            continue
        if arg_text is None or arg_text == "":
            example = "Smr(1um)" if info.argument_unit == "m" else f"{symbol}(10)"
            raise ParameterError(f"parameter {text!r}: {symbol} needs its argument {info.argument} "
                                 f"({info.argument_unit}), e.g. {example!r}")
        try:
            if info.argument_unit == "m":
                value = parse_length(arg_text, what=f"{symbol} argument {info.argument}")
            else:
                value = float(arg_text.rstrip("%").strip())
        except InputError as exc:
            raise ParameterError(f"parameter {text!r}: {exc}") from None
        except (ValueError, TypeError):
            raise ParameterError(f"parameter {text!r}: cannot read the argument {arg_text!r} "
                                 f"({info.argument} in {info.argument_unit})") from None
        requests.append(ParameterRequest(text.replace(" ", ""), info, value))
    if unknown:
        known = ", ".join(PARAMETERS)
        raise ParameterError(f"unknown parameter name(s) {', '.join(map(repr, unknown))}; known: {known}")
    seen: set[str] = set()
    unique = []
    for r in requests:
        if r.key not in seen:
            seen.add(r.key)
            unique.append(r)
    return unique


def _split(text: str) -> list[str]:
    """Split on commas outside brackets (``"Sa,Smr(1um),Vm(10)"``)."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts
