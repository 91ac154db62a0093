"""Runtime schemas: check a twin's property value or a telemetry value against its model.

Twin values follow Azure Digital Twins semantics: every Object field is optional, and Map
keys must be valid DTDL names. Each problem points at the exact bad element.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from futago.core.problems import Problem, join_pointer

from .vocabulary import GEOSPATIAL_SCHEMAS, NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_DURATION = re.compile(
    r"^-?P(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?W)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")

INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedByte": (0, 2**8 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedInteger": (0, 2**32 - 1),
    "unsignedLong": (0, 2**64 - 1),
}
_FLOAT_MAX = 3.4028234663852886e38


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Schema:
    """Common face of every schema, so callers check values without knowing the kind."""

    kind: str = "schema"

    def check(self, value: object, pointer: str) -> list[Problem]:
        raise NotImplementedError


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _valid_temporal(kind: str, value: str) -> bool:
    try:
        if kind == "date":
            return bool(_DATE.match(value)) and date.fromisoformat(value) is not None
        if kind == "time":
            return bool(_TIME.match(value)) and time.fromisoformat(value.replace("z", "Z")) is not None
        if kind == "dateTime":
            return bool(_DATETIME.match(value)) and datetime.fromisoformat(value.upper()) is not None
    except ValueError:
        return False
    return bool(_DURATION.match(value))


@dataclass(frozen=True, slots=True)
class PrimitiveSchema(Schema):
    name: str

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.name

    def check(self, value: object, pointer: str) -> list[Problem]:
        message = self._why_not(value)
        return [Problem(pointer, message)] if message else []

    def _why_not(self, value: object) -> str | None:
        n = self.name
        if n == "string" and isinstance(value, str):  # the common case first: no type name, no lookups
            return None
        if n == "boolean":
            return None if isinstance(value, bool) else f"expected a boolean (true or false), got {_type_name(value)}."
        if n in INTEGER_RANGES:
            lo, hi = INTEGER_RANGES[n]
            if not isinstance(value, int) or isinstance(value, bool):
                return f"expected an integer ({n}), got {_type_name(value)}."
            return None if lo <= value <= hi else f"{value} is out of range for {n} ({lo} to {hi})."
        if n in ("double", "float"):
            if not _is_number(value):
                return f"expected a number ({n}), got {_type_name(value)}."
            assert isinstance(value, int | float)
            if isinstance(value, float) and not math.isfinite(value):
                return f"expected a finite number ({n})."
            if abs(float(value)) > (_FLOAT_MAX if n == "float" else 1.7976931348623157e308):
                return f"{value} is out of range for {n}."
            return None
        if n == "decimal":
            ok = _is_number(value) or (isinstance(value, str) and _DECIMAL.match(value) is not None)
            return None if ok else f"expected a decimal number or numeric string, got {_type_name(value)}."
        if n in GEOSPATIAL_SCHEMAS:
            return _geo_problem(GEOSPATIAL_SCHEMAS[n], value)
        if not isinstance(value, str):
            return f"expected a string ({n}), got {_type_name(value)}."
        if n == "string":
            return None
        if n == "uuid":
            return None if _UUID.match(value) else f"{value!r} is not a UUID (8-4-4-4-12 hex digits)."
        if n == "bytes":
            try:
                base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                return f"{value!r} is not base64-encoded bytes."
            return None
        if n in ("date", "time", "dateTime", "duration"):
            if _valid_temporal(n, value):
                return None
            examples = {
                "date": "2024-05-01",
                "time": "13:45:00",
                "dateTime": "2024-05-01T13:45:00Z",
                "duration": "PT15M",
            }
            return f"{value!r} is not an ISO 8601 {n} (for example {examples[n]!r})."
        return f"unknown primitive schema {n!r}."


def _geo_problem(geo_type: str, value: object) -> str | None:
    if not isinstance(value, dict):
        return f"expected a GeoJSON {geo_type} object, got {_type_name(value)}."
    if value.get("type") != geo_type:
        return f'expected a GeoJSON object with "type": "{geo_type}".'
    if not isinstance(value.get("coordinates"), list):
        return f'a GeoJSON {geo_type} needs a "coordinates" array.'
    return None


@dataclass(frozen=True, slots=True)
class EnumSchema(Schema):
    value_schema: str
    values: Mapping[str, int | str]
    kind: str = field(default="enum", init=False)

    def check(self, value: object, pointer: str) -> list[Problem]:
        allowed = list(self.values.values())
        if isinstance(value, bool) or value not in allowed:
            shown = ", ".join(repr(v) for v in allowed[:20]) or "none"
            return [Problem(pointer, f"{value!r} is not one of the enum values ({shown}).")]
        return []


@dataclass(frozen=True, slots=True)
class ObjectSchema(Schema):
    fields: Mapping[str, Schema]
    kind: str = field(default="object", init=False)

    def check(self, value: object, pointer: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [Problem(pointer, f"expected an object, got {_type_name(value)}.")]
        problems: list[Problem] = []
        for key, item in value.items():
            schema = self.fields.get(key)
            if schema is None:
                known = ", ".join(self.fields) or "none"
                problems.append(
                    Problem(join_pointer(pointer, key), f"{key!r} is not a field of this object (fields: {known}).")
                )
            else:  # a declared field's name follows DTDL's name rule: nothing in it to escape
                problems.extend(schema.check(item, pointer + "/" + key))
        return problems


@dataclass(frozen=True, slots=True)
class MapSchema(Schema):
    key_schema: str
    value_schema: Schema
    kind: str = field(default="map", init=False)

    def check(self, value: object, pointer: str) -> list[Problem]:
        if not isinstance(value, dict):
            return [Problem(pointer, f"expected an object (a map), got {_type_name(value)}.")]
        problems: list[Problem] = []
        for key, item in value.items():
            if not _NAME.match(key):
                problems.append(
                    Problem(
                        join_pointer(pointer, key),
                        f"map key {key!r} is not allowed: keys start with a letter, contain only letters, "
                        "digits and underscores, and end with a letter or digit.",
                    )
                )
                continue
            problems.extend(self.value_schema.check(item, pointer + "/" + key))  # a valid key has nothing to escape
        return problems


@dataclass(frozen=True, slots=True)
class ArraySchema(Schema):
    element_schema: Schema
    kind: str = field(default="array", init=False)

    def check(self, value: object, pointer: str) -> list[Problem]:
        if not isinstance(value, list):
            return [Problem(pointer, f"expected an array, got {_type_name(value)}.")]
        problems: list[Problem] = []
        check = self.element_schema.check
        for i, item in enumerate(value):
            problems.extend(check(item, f"{pointer}/{i}"))
        return problems
