"""DTDL v3: parse and validate models, and check twin values against them."""

from __future__ import annotations

from futago.core.problems import Problem

from .loading import load, read_documents
from .model import Command, CommandPayload, Component, Interface, Property, Relationship, Telemetry
from .model_set import ModelSet, validate
from .schemas import ArraySchema, EnumSchema, MapSchema, ObjectSchema, PrimitiveSchema, Schema

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
    "read_documents",
    "validate",
]
