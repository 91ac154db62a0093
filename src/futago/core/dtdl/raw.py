"""Parsed but unresolved elements: the parser's output, before references are followed.

References (extends, component schemas, schema DTMIs) stay symbolic here, because they may
point into documents that arrive in another file or a later upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True, slots=True)
class Where:
    """Where an element sits: its top-level document and a JSON Pointer inside it."""

    doc_id: str | None
    pointer: str


@dataclass(eq=False, slots=True)
class RawRef:
    dtmi: str
    where: Where
    owner: RawInterface | None = None


@dataclass(eq=False, slots=True)
class RawField:
    name: str
    schema: SchemaSpec
    where: Where


@dataclass(eq=False, slots=True)
class RawComplex:
    kind: str  # Array | Enum | Map | Object
    where: Where
    owner: RawInterface | None
    id: str | None = None
    element: SchemaSpec | None = None
    fields: list[RawField] = field(default_factory=list)
    map_value: SchemaSpec | None = None
    value_schema: str = "string"
    enum_values: dict[str, int | str] = field(default_factory=dict)


SchemaSpec = Union[str, RawComplex, RawRef]  # noqa: UP007 - forward references need Union


@dataclass(eq=False, slots=True)
class RawPayload:
    name: str
    schema: SchemaSpec
    where: Where
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None


@dataclass(eq=False, slots=True)
class RawContent:
    kind: str  # Property | Telemetry | Command | Relationship | Component
    name: str
    where: Where
    schema: SchemaSpec | None = None
    writable: bool = False
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None
    request: RawPayload | None = None
    response: RawPayload | None = None
    target: str | None = None
    min_multiplicity: int = 0
    max_multiplicity: int | None = None
    properties: list[RawContent] = field(default_factory=list)
    component: RawRef | None = None
    v2: bool = False  # defined under "dtmi:dtdl:context;2", so DTDL v2 rules apply


@dataclass(eq=False, slots=True)
class RawInterface:
    id: str
    where: Where
    top_level: bool
    extends: list[RawRef] = field(default_factory=list)
    contents: list[RawContent] = field(default_factory=list)
    local_schemas: dict[str, RawComplex] = field(default_factory=dict)
    display_name: str | dict[str, str] | None = None
    description: str | dict[str, str] | None = None
    own_count: int = 0
    v2: bool = False  # defined under "dtmi:dtdl:context;2", so DTDL v2 rules apply
