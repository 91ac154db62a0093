"""What a parsed rule is: its condition tree over leaves, its target, and what an alert of it carries."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from futago.act.model import Severity
from futago.act.rules.leaves import Leaf, LeafState

#: Names a message template may use; ``values[<telemetry>]`` and ``props[<property>]`` index into dicts.
TEMPLATE_FIELDS = frozenset({"twin", "rule", "severity", "value", "telemetry", "ts", "zone", "values", "props"})
DEFAULT_MESSAGE = {
    "ja": "{rule}: {twin} で条件が成立しました ({telemetry} = {value})",
    "en": "{rule}: the condition holds on {twin} ({telemetry} = {value})",
}


# --- the condition tree ------------------------------------------------------------------------------------------


class Node:
    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class LeafNode(Node):
    leaf: Leaf

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return self.leaf.holds(states[self.leaf.index], now)


@dataclass(frozen=True)
class AllOf(Node):
    children: tuple[Node, ...]

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return all(c.holds(states, now) for c in self.children)


@dataclass(frozen=True)
class AnyOf(Node):
    children: tuple[Node, ...]

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return any(c.holds(states, now) for c in self.children)


@dataclass(frozen=True)
class NotOf(Node):
    child: Node

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return not self.child.holds(states, now)


# --- the rule ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Narrows a rule to twins inside a zone twin's (Multi)Polygon, or within ``distance_m`` of a point."""

    within: str | None = None
    point: tuple[float, float] | None = None
    distance_m: float = 0.0


@dataclass(frozen=True)
class AreaSpec:
    """Where an alert applies: a zone reached through a relationship of the twin, a fixed zone, fixed twins."""

    relationship: str | None = None
    zone: str | None = None
    twins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommend:
    """A command to propose when the alert is raised: to a fixed or templated twin, or one reached by relationship."""

    command: str
    payload: Any = None
    twin: str = "{twin}"
    relationship: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    when: Node
    leaves: tuple[Leaf, ...]
    severity: Severity = "warning"
    description: str = ""
    twins: frozenset[str] = frozenset()
    twin_model: str | None = None
    scope: Scope | None = None
    for_us: int = 0
    message: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MESSAGE))
    suppress_us: int = 0
    escalate_after_us: int | None = None
    area: AreaSpec = AreaSpec()
    recommend: Recommend | None = None
    auto_resolve: bool = True
    enabled: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def triggers(self) -> frozenset[str]:
        """The telemetry whose readings can change the rule's verdict."""
        return frozenset(leaf.telemetry for leaf in self.leaves)

    def to_json(self) -> dict[str, Any]:
        # The rule as written (not the parsed tree), so that it is shown and stored as it was given.
        return {"name": self.name, **self.raw}


# --- message templates -------------------------------------------------------------------------------------------


class _Lenient(string.Formatter):
    """A formatter that writes '?' for a missing value rather than failing: a message must never stop an alert."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError, ValueError):
            return "?", field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):
            return str(value)


_FORMATTER = _Lenient()


def render(template: str, context: Mapping[str, Any]) -> str:
    try:
        return _FORMATTER.vformat(template, (), dict(context))
    except (ValueError, KeyError, IndexError):  # checked at parse time; a stored rule from an older version may slip
        return template
