"""Public face of futago's DTDL support; the implementation lives in ``futago.core.dtdl``."""

from __future__ import annotations

from futago.core.dtdl import (
    ArraySchema,
    Command,
    CommandPayload,
    Component,
    EnumSchema,
    Interface,
    MapSchema,
    ModelSet,
    ObjectSchema,
    PrimitiveSchema,
    Problem,
    Property,
    Relationship,
    Schema,
    Telemetry,
    load,
    validate,
)

__all__ = [
    "ArraySchema",
    "Command",
    "CommandPayload",
    "Component",
    "EnumSchema",
    "Interface",
    "MapSchema",
    "ModelSet",
    "ObjectSchema",
    "PrimitiveSchema",
    "Problem",
    "Property",
    "Relationship",
    "Schema",
    "Telemetry",
    "load",
    "validate",
]
