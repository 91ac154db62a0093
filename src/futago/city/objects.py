"""Any city object of the product specification (urf, luse, lsld, frn, brid, tun, veg, ...) as a twin document.

The reader keeps what the file says as text; here each value meets its model's schema. A value its schema
refuses (a "; "-joined repeat where one number is expected, a date that is no date) is never a failed file:
it is kept as text in ``genericAttributes`` and reported as a warning with the feature id and path.
A property the model does not declare goes to the ``attributes`` map (or, when its name is no DTDL key or it
has a unit, to ``genericAttributes``), so nothing the file said is lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from futago.city.classes import HAZARD_AREA, SEDIMENT_LABELS, ModelInfo
from futago.city.features import CityObjectFeature
from futago.city.generic import generic_json, split_attributes, text_entry, valid_key
from futago.city.twins import ROAD, geojson

Warn = Callable[[str, str, str], None]  # (feature id, path, message)

# Properties a document fills from the feature itself, never from the reader's ``properties``
_OWN = frozenset({"gmlId", "lods", "genericAttributes", "attributes", "codes"})
_ALIASES: dict[str, dict[str, str]] = {ROAD: {"class": "roadClass"}}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|T|Z|[+-]\d{2}:\d{2}$)")
_BAD = object()


def _double(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return _BAD
    return value if math.isfinite(value) else _BAD


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        number = _double(text)
        return int(number) if number is not _BAD and float(number).is_integer() else _BAD


def _date(text: str) -> Any:
    found = _DATE.match(text)
    if found is None:
        return _BAD
    try:
        date.fromisoformat(found.group(1))
    except ValueError:
        return _BAD
    return found.group(1)


def _boolean(text: str) -> Any:
    return {"true": True, "1": True, "false": False, "0": False}.get(text.lower(), _BAD)


_COERCE: dict[str, Callable[[str], Any]] = {
    "double": _double,
    "float": _double,
    "integer": _integer,
    "long": _integer,
    "date": _date,
    "boolean": _boolean,
    "string": lambda text: text,
}


def _geometry(feature: CityObjectFeature) -> dict[str, Any] | None:
    if feature.polygons:
        return geojson(feature.polygons)
    lines = [[[p[0], p[1]] for p in line] for line in feature.lines if len(line) >= 2]
    if lines:
        return {"type": "LineString", "coordinates": lines[0]} if len(lines) == 1 else _multi("Line", lines)
    points = [[p[0], p[1]] for p in feature.points]
    if points:
        return {"type": "Point", "coordinates": points[0]} if len(points) == 1 else _multi("Point", points)
    return None


def _multi(kind: str, parts: list[Any]) -> dict[str, Any]:
    return {"type": f"Multi{kind}String" if kind == "Line" else "MultiPoint", "coordinates": parts}


def _label(model: ModelInfo, key: str, text: str) -> str:
    """lsld files come without their codelists more often than not: name the zone type anyway."""
    if model.id == HAZARD_AREA and key in SEDIMENT_LABELS:
        return SEDIMENT_LABELS[key].get(text, text)
    return text


def city_object_document(feature: CityObjectFeature, model: ModelInfo, warn: Warn) -> dict[str, Any]:
    """The twin document of ``feature`` as a ``model`` twin; ``warn`` hears of every value kept as text."""
    schemas = model.schemas
    doc: dict[str, Any] = {"$metadata": {"$model": model.id}, "gmlId": feature.gml_id}
    attributes, generic = split_attributes(feature.attributes)
    generic = [generic_json(a) for a in feature.generic] + generic
    aliases = _ALIASES.get(model.id, {})
    if feature.name is not None and "name" in schemas:
        doc["name"] = feature.name
    for raw_key, text in feature.properties.items():
        key = aliases.get(raw_key, raw_key)
        schema = schemas.get(key) if key not in _OWN else None
        unit = feature.units.get(raw_key)
        if schema is None or schema == "complex":
            if valid_key(key) and unit is None and key not in attributes:
                attributes[key] = text
            else:
                generic.append(text_entry(raw_key, text, "properties", unit))
            continue
        value = _COERCE.get(schema, _COERCE["string"])(_label(model, key, text))
        if value is _BAD:
            warn(feature.gml_id, f"{feature.source}/{raw_key}", f"{text!r} is no {schema}: kept as text")
            generic.append(text_entry(raw_key, text, "properties", unit))
        elif key not in doc:
            doc[key] = value
    if feature.height is not None and "height" in schemas and "height" not in doc:
        doc["height"] = feature.height
    if feature.lods:
        doc["lods"] = sorted(feature.lods)
    codes = {key: code for key, code in feature.codes.items() if valid_key(key)}
    for name, value in (("attributes", attributes), ("codes", codes), ("genericAttributes", generic)):
        if value and name in schemas:
            doc[name] = value
    geometry = _geometry(feature)
    if geometry is not None:
        doc["geometry"] = geometry
    return doc
