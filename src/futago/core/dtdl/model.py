"""Resolved model elements: what the rest of futago reads once a model set is valid.

An Interface here already holds everything it inherits through ``extends``, so callers
never walk the inheritance graph themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .schemas import Schema


@dataclass(frozen=True, slots=True)
class Property:
    name: str
    schema: Schema
    writable: bool = False
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Telemetry:
    name: str
    schema: Schema
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class CommandPayload:
    name: str
    schema: Schema
    nullable: bool = False
    semantic_types: tuple[str, ...] = ()
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    request: CommandPayload | None = None
    response: CommandPayload | None = None


@dataclass(frozen=True, slots=True)
class Relationship:
    name: str
    target: str | None = None
    min_multiplicity: int = 0
    max_multiplicity: int | None = None
    properties: dict[str, Property] = field(default_factory=dict)
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    schema: str


@dataclass(frozen=True, slots=True)
class Interface:
    id: str
    extends: tuple[str, ...] = ()
    display_name: str | dict[str, str] | None = None
    description: str | dict[str, str] | None = None
    properties: dict[str, Property] = field(default_factory=dict)
    telemetry: dict[str, Telemetry] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    relationships: dict[str, Relationship] = field(default_factory=dict)
    components: dict[str, Component] = field(default_factory=dict)
    schemas: dict[str, Schema] = field(default_factory=dict)

    def content_names(self) -> frozenset[str]:
        return frozenset([*self.properties, *self.telemetry, *self.commands, *self.relationships, *self.components])
