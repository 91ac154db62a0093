"""The fixed words of DTDL v3: element classes, member names, standard schemas.

Every word may also be written as its DTMI form (``dtmi:dtdl:class:Property;3``); the
tables below let the parser fold both spellings into the short term.
"""

from __future__ import annotations

DTDL_CONTEXT_PREFIX = "dtmi:dtdl:context;"
DTDL_V3_CONTEXT = "dtmi:dtdl:context;3"
DTDL_V2_CONTEXT = "dtmi:dtdl:context;2"
QUANTITATIVE_TYPES_CONTEXT = "dtmi:dtdl:extension:quantitativeTypes;1"
# futago's own extension: the co-type "Personal" marks a Property or Telemetry as personal data (encrypted at
# rest with a key per person, processed only with consent, erased by destroying the key).
PRIVACY_CONTEXT = "dtmi:futago:extension:privacy;1"
PERSONAL = "Personal"
PERSONAL_HOSTS = frozenset({"Property", "Telemetry"})
SUPPORTED_EXTENSIONS = frozenset({QUANTITATIVE_TYPES_CONTEXT, PRIVACY_CONTEXT})

CLASSES = frozenset(
    {
        "Interface",
        "Telemetry",
        "Property",
        "Command",
        "CommandRequest",
        "CommandResponse",
        "Relationship",
        "Component",
        "Array",
        "Enum",
        "EnumValue",
        "Map",
        "MapKey",
        "MapValue",
        "Object",
        "Field",
    }
)

PRIMITIVE_SCHEMAS = frozenset(
    {"boolean", "date", "dateTime", "double", "duration", "float", "integer", "long", "string", "time"}
)
GEOSPATIAL_SCHEMAS = {
    "lineString": "LineString",
    "multiLineString": "MultiLineString",
    "multiPoint": "MultiPoint",
    "multiPolygon": "MultiPolygon",
    "point": "Point",
    "polygon": "Polygon",
}
# DTDL v4 added these; the v3 specification does not define them, so v3 models may not use them.
# The runtime schema classes still understand them so that switching is one line.
V4_PRIMITIVE_SCHEMAS = frozenset(
    {
        "byte",
        "bytes",
        "decimal",
        "short",
        "unsignedByte",
        "unsignedShort",
        "unsignedInteger",
        "unsignedLong",
        "uuid",
    }
)
NUMERIC_SCHEMAS = frozenset({"double", "float", "integer", "long"})

MEMBERS = frozenset(
    {
        "comment",
        "contents",
        "description",
        "displayName",
        "elementSchema",
        "enumValue",
        "enumValues",
        "extends",
        "fields",
        "mapKey",
        "mapValue",
        "maxMultiplicity",
        "minMultiplicity",
        "name",
        "properties",
        "request",
        "response",
        "schema",
        "schemas",
        "target",
        "valueSchema",
        "writable",
    }
)

# Words listed in the specification's "Reserved strings" table that are not element classes,
# members or schemas: an element may not use them as a co-type or a member name.
OTHER_RESERVED = frozenset(
    {
        "AdjunctType",
        "Alias",
        "aliasFor",
        "asynchronous",
        "synchronous",
        "Boolean",
        "CommandPayload",
        "commandType",
        "CommandType",
        "ComplexSchema",
        "Content",
        "Date",
        "DateTime",
        "Double",
        "DtdlExtension",
        "Duration",
        "Entity",
        "exponent",
        "Float",
        "Integer",
        "languageMajorVersion",
        "LatentType",
        "Long",
        "metamodel",
        "model",
        "NamedEntity",
        "NamedLatentType",
        "NumericSchema",
        "PrimitiveSchema",
        "Schema",
        "SchemaField",
        "SemanticType",
        "SemanticUnit",
        "String",
        "symbol",
        "TemporalSchema",
        "Time",
        "Unit",
        "UnitAttribute",
    }
)

CLASS_BY_DTMI = {f"dtmi:dtdl:class:{c};3": c for c in CLASSES | {c for c in OTHER_RESERVED if c[0].isupper()}}
MEMBER_BY_DTMI = {f"dtmi:dtdl:property:{m};3": m for m in MEMBERS | {m for m in OTHER_RESERVED if m[0].islower()}}
SCHEMA_BY_DTMI = {f"dtmi:dtdl:instance:Schema:{p};3": p for p in PRIMITIVE_SCHEMAS} | {
    f"dtmi:standard:schema:geospatial:{g};3": g for g in GEOSPATIAL_SCHEMAS
}
# Enum "valueSchema" and MapKey "schema" take a fixed set of values, which the specification
# lists with both their v3 and their v2 DTMI spellings.
ENUM_OR_KEY_SCHEMA_BY_DTMI = {
    f"dtmi:dtdl:instance:Schema:{p};{version}": p for p in ("integer", "string") for version in (2, 3)
}
# Command "commandType" is deprecated in v3 but still allowed with one of these values.
COMMAND_TYPES = frozenset({"asynchronous", "synchronous"})
COMMAND_TYPE_BY_DTMI = {f"dtmi:dtdl:instance:CommandType:{t};3": t for t in COMMAND_TYPES}
RESERVED = CLASSES | MEMBERS | PRIMITIVE_SCHEMAS | frozenset(GEOSPATIAL_SCHEMAS) | OTHER_RESERVED

NAME_PATTERN = r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$"
MAX_NAME_LENGTH = 512
MAX_COMMENT_LENGTH = 512
MAX_DISPLAY_NAME_LENGTH = 512
MAX_DESCRIPTION_LENGTH = 512
MAX_SCHEMA_DEPTH = 5
MAX_EXTENDS_DEPTH = 10
MAX_EXTENDS_COUNT = 1024
MAX_CONTENTS_COUNT = 100_000
MAX_INTERFACE_BYTES = 1024 * 1024

# -- DTDL v2 -----------------------------------------------------------------------------
# Documents whose @context is "dtmi:dtdl:context;2" follow the DTDL v2 rules
# (DTDL.Specification.v2.md): the same element classes, with CommandPayload instead of
# CommandRequest/CommandResponse, shorter display strings, tighter Interface limits, and
# semantic types built into the language rather than an extension.
V2_CLASSES = (CLASSES - {"CommandRequest", "CommandResponse"}) | {"CommandPayload"}
V2_MAX_NAME_LENGTH = 64
V2_MAX_DISPLAY_NAME_LENGTH = 64
V2_MAX_DESCRIPTION_LENGTH = 512
V2_MAX_CONTENTS_COUNT = 300  # per Interface, including contents inherited through extends
V2_MAX_EXTENDS_COUNT = 2  # Interfaces named directly in one extends member
V2_MAX_MULTIPLICITY = 500
V2_MAX_RELATIONSHIP_PROPERTIES = 300
V2_CLASS_BY_DTMI = {f"dtmi:dtdl:class:{c};2": c for c in V2_CLASSES | {c for c in OTHER_RESERVED if c[0].isupper()}}
V2_MEMBER_BY_DTMI = {
    f"dtmi:dtdl:property:{m};2": m for m in MEMBERS | {"unit"} | {m for m in OTHER_RESERVED if m[0].islower()}
}
V2_SCHEMA_BY_DTMI = {f"dtmi:dtdl:instance:Schema:{p};2": p for p in PRIMITIVE_SCHEMAS} | {
    f"dtmi:standard:schema:geospatial:{g};2": g for g in GEOSPATIAL_SCHEMAS
}
V2_COMMAND_TYPE_BY_DTMI = {f"dtmi:dtdl:instance:CommandType:{t};2": t for t in COMMAND_TYPES}


def is_v2(context: frozenset[str]) -> bool:
    """Whether the active context of an element is DTDL v2."""
    return DTDL_V2_CONTEXT in context
