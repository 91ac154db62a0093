"""Generic attributes as twin properties: one representation that DTDL allows and that round-trips.

CityGML's gen:* attributes may carry any name in any script (PLATEAU's are mostly Japanese: 総建物階数, 図形ID),
which no DTDL property name or map key allows. futago keeps them in ``genericAttributes``, an Array of Objects
``{name, type, value, number, unit, set, codeSpace}``: ``value`` is the text exactly as in the file, ``number``
its number for int/double/measure, ``unit`` a measure's uom, ``set`` the enclosing genericAttributeSet names
joined by "/" (or "attributes"/"properties" for an entry that had to leave those maps). Writing each entry
back as ``gen:<type>Attribute name=… [uom=…]`` inside its sets gives the XML again.
"""

from __future__ import annotations

from typing import Any

from futago.city.classes import is_dtdl_name
from futago.city.features import GenericAttribute

_valid: dict[str, bool] = {}  # keys repeat across a city: test each once


def valid_key(key: str) -> bool:
    hit = _valid.get(key)
    if hit is None:
        hit = _valid[key] = is_dtdl_name(key)
    return hit


def generic_json(attribute: GenericAttribute) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": attribute.name, "type": attribute.type, "value": attribute.value}
    if attribute.number is not None:
        entry["number"] = attribute.number
    if attribute.unit is not None:
        entry["unit"] = attribute.unit
    if attribute.set is not None:
        entry["set"] = attribute.set
    if attribute.code_space is not None:
        entry["codeSpace"] = attribute.code_space
    return entry


def text_entry(name: str, value: str, origin: str, unit: str | None = None) -> dict[str, Any]:
    """A value that cannot stay where it was (a key DTDL refuses, a text its schema refuses), kept as text."""
    entry: dict[str, Any] = {"name": name, "type": "measure" if unit else "string", "value": value, "set": origin}
    if unit:
        entry["unit"] = unit
        number = _number(value)
        if number is not None:
            entry["number"] = number
    return entry


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def split_attributes(attributes: dict[str, str]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The ``attributes`` map keeps the keys DTDL allows; the others become generic attributes of set
    "attributes", so one Japanese key no longer refuses the whole import."""
    if all(valid_key(key) for key in attributes):
        return {key: str(value) for key, value in attributes.items()}, []
    kept: dict[str, str] = {}
    moved: list[dict[str, Any]] = []
    for key, value in attributes.items():
        if valid_key(key):
            kept[key] = str(value)
        else:
            moved.append(text_entry(key, str(value), "attributes"))
    return kept, moved
