"""The safety envelope of a command: bounds, step and rate of change, a rate limit, and interlocks on the twin's (or
another twin's) latest telemetry and properties. Parsed from a binding's ``envelope`` table."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord
from futago.core.telemetry import LatestReading, parse_duration
from futago.core.twins import Twin
from futago.core.validation import Checker

_MAX_RATE_COUNT = 100_000  # a rate limit's count is also a query's LIMIT


class TwinReader(Protocol):
    """Where interlocks read a twin's properties and latest telemetry (the store)."""

    def get_twin(self, twin_id: str) -> Twin | None: ...
    def latest(self, twin_id: str) -> dict[str, LatestReading]: ...


@dataclass(frozen=True)
class Reason(JsonRecord):
    """Why the envelope says no. ``check`` names the part: bounds, step, rate, rate_limit, interlock, binding,
    expired. Bounds and a missing binding cannot change with time, so they refuse even a proposal."""

    check: str
    message: str


STATIC_CHECKS = frozenset({"bounds", "binding"})  # checks whose answer cannot change with time
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "above": operator.gt,
    "below": operator.lt,
    "equals": operator.eq,
    "not_equals": operator.ne,
}
_WORDS = {"above": "above", "below": "below", "equals": "equal to", "not_equals": "not equal to"}
_WHEN_MISSING: tuple[Literal["refuse", "allow"], ...] = ("refuse", "allow")
_WHEN = "when_missing is 'refuse' (the default) or 'allow'"
DURATION = "a duration, e.g. '30s', '5m', '1h'"  # what a binding's expires and an interlock's max_age are


@dataclass(frozen=True)
class Interlock:
    """A condition under which the command is refused, over a twin's latest telemetry or a property."""

    source: Literal["telemetry", "property"]
    name: str
    op: str
    value: Any
    twin: str | None = None  # another twin (e.g. the river downstream); default the command's own
    max_age_us: int | None = None  # an older reading counts as missing
    when_missing: Literal["refuse", "allow"] = "refuse"
    message: str | None = None

    @classmethod
    def parse(cls, config: Any, pointer: str, problems: list[Problem]) -> Interlock | None:
        """An interlock, or None with its mistakes added to ``problems``."""
        keys = {"telemetry", "property", "twin", "max_age", "when_missing", "message", *_OPERATORS}
        check = Checker(pointer, problems)
        if not isinstance(config, dict):
            check.add(pointer, "an interlock is an object, e.g. {telemetry: 'flow', above: 5}")
            return None
        before = len(problems)
        check.keys(config, keys, message=f"unknown key; use {sorted(keys)}")
        sources = [k for k in ("telemetry", "property") if k in config]
        ops = [k for k in _OPERATORS if k in config]
        if len(sources) != 1 or not isinstance(config[sources[0]], str) or not config[sources[0]]:
            check.add(pointer, "name exactly one of 'telemetry' or 'property' (a string)")
        if len(ops) != 1:
            check.add(pointer, f"give exactly one condition: {', '.join(_OPERATORS)}")
        elif ops[0] in ("above", "below") and not is_number(config[ops[0]]):
            check.add(f"{pointer}/{ops[0]}", f"'{ops[0]}' compares with a number")
        for key in ("twin", "message"):
            if key in config and (not isinstance(config[key], str) or not config[key]):  # present, even as null
                check.add(f"{pointer}/{key}", f"'{key}' is a non-empty string")
        when_missing = check.choice(config, "when_missing", _WHEN_MISSING, default="refuse", message=_WHEN)
        max_age = check.duration(config, "max_age", message=DURATION)
        if len(problems) > before:
            return None
        return cls(
            sources[0],  # type: ignore[arg-type]
            config[sources[0]],
            ops[0],
            config[ops[0]],
            config.get("twin"),
            max_age,
            when_missing,
            config.get("message"),
        )

    def check(self, twin_id: str, reader: TwinReader, now_us: int) -> Reason | None:
        twin = self.twin or twin_id
        condition = f"{self.source} '{self.name}' of '{twin}' {_WORDS[self.op]} {self.value!r}"
        found, value = self._value(twin, reader, now_us)
        if not found:
            if self.when_missing == "allow":
                return None
            recent = "recent " if self.max_age_us is not None else ""
            return Reason("interlock", f"interlock ({condition}) cannot be judged: no {recent}value")
        try:
            holds = bool(_OPERATORS[self.op](value, self.value))
        except TypeError:
            return Reason("interlock", f"interlock ({condition}) cannot be judged: the value is {value!r}")
        if not holds:
            return None
        return Reason("interlock", self.message or f"interlock: {condition} holds (the value is {value!r})")

    def _value(self, twin_id: str, reader: TwinReader, now_us: int) -> tuple[bool, Any]:
        if self.source == "property":
            twin = reader.get_twin(twin_id)
            if twin is None or self.name not in twin.properties:
                return False, None
            return True, twin.properties[self.name]
        reading = reader.latest(twin_id).get(self.name)
        if reading is None or (self.max_age_us is not None and now_us - reading.ts > self.max_age_us):
            return False, None
        return True, reading.value


@dataclass(frozen=True)
class Envelope:
    minimum: float | None = None
    maximum: float | None = None
    field: str | None = None  # the payload field the numeric checks apply to (object payloads)
    max_step: float | None = None
    max_rate: float | None = None  # change per second
    rate_limit: tuple[int, int] | None = None  # (commands, window in µs)
    interlocks: tuple[Interlock, ...] = ()

    @classmethod
    def parse(cls, config: Any, pointer: str, problems: list[Problem]) -> Envelope:
        """The envelope at ``pointer`` of a binding, each mistake added to ``problems`` (an empty one if absent)."""
        if config is None:
            return cls()
        known = {"min", "max", "field", "max_step", "max_rate", "rate_limit", "interlocks"}
        check = Checker(pointer, problems)
        if not isinstance(config, dict):
            check.add(pointer, f"the envelope is an object with {sorted(known)}")
            return cls()
        check.keys(config, known, message=f"unknown key; use {sorted(known)}")

        def number(key: str, positive: bool = False) -> float | None:
            value = config.get(key)
            if value is None:
                return None
            if not is_number(value) or (positive and value <= 0):
                check.add(f"{pointer}/{key}", f"'{key}' is a {'positive ' if positive else ''}number")
                return None
            return float(value)

        minimum, maximum = number("min"), number("max")
        if minimum is not None and maximum is not None and minimum > maximum:
            check.add(f"{pointer}/min", f"min ({minimum:g}) is above max ({maximum:g})")
        field_name = config.get("field")
        if field_name is not None and (not isinstance(field_name, str) or not field_name):
            check.add(f"{pointer}/field", "'field' names a field of the command's request")
            field_name = None
        max_rate = _per_second(config.get("max_rate"), f"{pointer}/max_rate", check)
        rate_limit = _rate_limit(config.get("rate_limit"), f"{pointer}/rate_limit", check)
        interlocks = check.items(config, "interlocks", message="interlocks is a list of conditions")
        parsed = [Interlock.parse(item, f"{pointer}/interlocks/{i}", problems) for i, item in enumerate(interlocks)]
        return cls(
            minimum,
            maximum,
            field_name,
            number("max_step", positive=True),
            max_rate,
            rate_limit,
            tuple(i for i in parsed if i is not None),
        )

    @property
    def numeric(self) -> bool:
        return any(v is not None for v in (self.minimum, self.maximum, self.max_step, self.max_rate))

    def number(self, payload: Any) -> float | None:
        """The number the numeric checks apply to: the payload, or its ``field``."""
        if self.field is not None:
            payload = payload.get(self.field) if isinstance(payload, dict) else None
        return float(payload) if is_number(payload) and math.isfinite(payload) else None

    def what(self) -> str:
        return f"field '{self.field}' of the payload" if self.field else "the payload"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _per_second(value: Any, pointer: str, check: Checker) -> float | None:
    """``max_rate``: a number (change per second) or "<change>/<duration>", e.g. "10/1m"."""
    if value is None:
        return None
    if is_number(value) and value > 0:
        return float(value)
    if isinstance(value, str) and value.count("/") == 1:
        amount, _, per = value.partition("/")
        try:
            change, window_us = float(amount), parse_duration(per)
        except (ValueError, InvalidInput):
            change, window_us = -1.0, 1
        if math.isfinite(change) and change > 0:
            return change / (window_us / 1e6)
    check.add(pointer, "max_rate is a change per second, or e.g. '10/1m' (10 per minute)")
    return None


def _rate_limit(value: Any, pointer: str, check: Checker) -> tuple[int, int] | None:
    """``rate_limit``: "<count>/<duration>", e.g. "1/5m"."""
    if value is None:
        return None
    if isinstance(value, str) and value.count("/") == 1:
        count, _, per = value.partition("/")
        try:
            if count.strip().isdecimal() and 0 < int(count) <= _MAX_RATE_COUNT:
                return int(count), parse_duration(per)
        except InvalidInput:
            pass
    check.add(pointer, f"rate_limit is '<count>/<duration>' with a count up to {_MAX_RATE_COUNT}, e.g. '1/5m'")
    return None
