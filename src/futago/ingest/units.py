"""Unit conversion at ingest: a value in the payload's unit becomes a value in the model's unit.

Models declare units with DTDL's names (``degreeCelsius``, ``cubicMetrePerSecond``); payloads
use SenML/UCUM-style symbols (``Cel``, ``m3/s``) or plain ones (``cm``, ``kPa``). Both are
turned into pint expressions; a unit that pint cannot convert to the model's is refused.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pint loads only when a unit is converted: it is a large import
    import pint

from futago.ingest.mapping import MappingError


@functools.cache
def _registry() -> pint.UnitRegistry:
    """Built on first use: pint's registry is tens of thousands of objects, which every full pass
    of Python's cyclic collector would otherwise walk, slowing every allocation-heavy path."""
    import pint

    return pint.UnitRegistry()


# DTDL words that are not pint's spelling of the same unit.
_DTDL_WORDS = {
    "degreeCelsius": "degC",
    "degreeFahrenheit": "degF",
    "percent": "percent",
    "litre": "liter",
    "metre": "meter",
    "tonne": "metric_ton",
    "revolutionPerMinute": "revolution/minute",
}
_POWERS = {"square": "**2", "cubic": "**3"}
# SenML (RFC 8428 §12.1) and common payload symbols that pint reads differently or not at all.
_SYMBOLS = {
    "Cel": "degC",
    "%RH": "percent",
    "%": "percent",
    "/": "1",
    "m3/s": "m**3/s",
    "l/s": "liter/second",
    "l": "liter",
    "lm": "lumen",
    "beat/min": "1/minute",
    "count": "1",
}


@functools.lru_cache(maxsize=1024)
def dtdl_unit(name: str) -> pint.Unit:
    """A DTDL unit name (camelCase words, 'Per' between numerator and denominator) as a pint unit."""
    if name in _DTDL_WORDS:
        return _registry().Unit(_DTDL_WORDS[name])
    numerator, _, denominator = name.partition("Per")
    return _registry().Unit(_words(numerator) + (f"/({_words(denominator)})" if denominator else ""))


def _words(camel: str) -> str:
    parts = re.findall(r"[A-Za-z][a-z0-9]*", camel[:1].lower() + camel[1:])
    factors: list[str] = []
    power = ""
    for part in (p.lower() for p in parts):
        if part in _POWERS:
            power = _POWERS[part]
            continue
        word = _DTDL_WORDS.get(part, part)
        factors.append(f"({word}){power}")
        power = ""
    return "*".join(factors) or "1"


@functools.lru_cache(maxsize=1024)
def payload_unit(symbol: str) -> pint.Unit:
    return _registry().Unit(_SYMBOLS.get(symbol, symbol))


def convert(value: Any, given: str, model_unit: str) -> float:
    """``value`` in ``given`` expressed in the DTDL ``model_unit``; MappingError if impossible."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"a value with a unit must be a number, not {value!r}")
    import pint

    try:
        source, target = payload_unit(given), dtdl_unit(model_unit)
    except (
        pint.errors.UndefinedUnitError,
        pint.errors.DefinitionSyntaxError,
        ValueError,
        AttributeError,
    ) as exc:
        raise MappingError(f"unit {given!r} is not a unit futago knows ({exc})") from None
    if source == target:
        return float(value)
    try:
        return float(_registry().Quantity(value, source).to(target).magnitude)
    except pint.errors.DimensionalityError:
        raise MappingError(
            f"unit {given!r} cannot be converted to the model's unit {model_unit!r} ({target})"
        ) from None
