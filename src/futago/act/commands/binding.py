"""A command binding: how one twin's DTDL Command is sent (transport), in which mode, and inside which envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from futago.act.commands.envelope import DURATION, Envelope
from futago.act.commands.record import Mode
from futago.act.transport import TransportSpec, parse_transport
from futago.core.dtdl import Command, ObjectSchema, Schema
from futago.core.problems import Problem
from futago.core.validation import Checker

_NUMERIC = frozenset(
    {"double", "float", "decimal", "integer", "long", "short", "byte"}
    | {"unsignedByte", "unsignedShort", "unsignedInteger", "unsignedLong"}
)

_MODES: tuple[Mode, ...] = ("recommend", "autonomous")
_MODE = "mode is 'recommend' (a person approves) or 'autonomous'"


@dataclass(frozen=True)
class Binding:
    """How one twin's DTDL Command is sent, and what keeps it safe."""

    twin_id: str
    command: str
    mode: Mode
    transport: TransportSpec
    envelope: Envelope
    expires_us: int | None
    config: dict[str, Any]  # as given, for storing and showing
    source: Literal["configuration", "api"]

    @classmethod
    def parse(cls, twin_id: str, command: str, config: Any, source: Literal["configuration", "api"]) -> Binding:
        """InvalidInput with pointers relative to the binding (``/envelope/min``), every mistake at once."""
        known = sorted({"mode", "transport", "envelope", "expires"})
        check = Checker()
        if not isinstance(config, dict):
            check.extend([Problem("", f"a command binding is an object with {known}")])
            check.raise_if_any()
        check.keys(config, known, message=f"unknown key; use {known}")
        mode = check.choice(config, "mode", _MODES, default="recommend", message=_MODE)
        transport = check.parsed(parse_transport, config.get("transport"), "/transport")
        envelope = Envelope.parse(config.get("envelope"), "/envelope", check.problems)
        expires = check.duration(config, "expires", message=DURATION)
        check.raise_if_any()
        assert transport is not None  # parsed without a problem
        return cls(twin_id, command, mode, transport, envelope, expires, dict(config), source)

    def to_json(self) -> dict[str, Any]:
        # The configuration as given (not the parsed fields), so that it is shown and stored as it was written.
        return {
            "twinId": self.twin_id,
            "command": self.command,
            "mode": self.mode,
            **self.config,
            "source": self.source,
        }


def fit_problems(binding: Binding, command: Command) -> list[Problem]:
    """Problems with an envelope for this command's request schema (a field it lacks, bounds on a string)."""
    envelope = binding.envelope
    if not envelope.numeric:
        return []
    request = command.request
    schema: Schema | None = request.schema if request is not None else None
    if envelope.field is not None:
        if not isinstance(schema, ObjectSchema) or envelope.field not in schema.fields:
            return [Problem("/envelope/field", f"the request of '{command.name}' has no field '{envelope.field}'")]
        schema = schema.fields[envelope.field]
    if schema is None or schema.kind not in _NUMERIC:
        what = envelope.what()
        return [Problem("/envelope", f"bounds, max_step and max_rate need a number, and {what} is not one")]
    return []
