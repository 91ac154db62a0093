"""Collecting every problem of a rule body at once, each with its JSON pointer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from futago.act.rules.leaves import as_number
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import parse_duration


class RuleChecker:
    """Collects problems while walking a rule body, so that one answer lists them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(pointer or "/", message))

    def text(self, body: Mapping[str, Any], key: str, pointer: str, required: bool = False) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                self.add(f"{pointer}/{key}", f"{key} is required")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > 1000:
            self.add(f"{pointer}/{key}", f"{key} is a non-empty string")
            return None
        return value

    def number(
        self, body: Mapping[str, Any], key: str, pointer: str, low: float | None = None, high: float | None = None
    ) -> float | None:
        value = body.get(key)
        if value is None:
            return None
        x = as_number(value) if not isinstance(value, bool) else None
        if x is None or (low is not None and x < low) or (high is not None and x > high):
            bounds = "" if low is None else f" in [{low}, {high}]" if high is not None else f" ≥ {low}"
            self.add(f"{pointer}/{key}", f"{key} is a finite number{bounds}")
            return None
        return x

    def duration(self, body: Mapping[str, Any], key: str, pointer: str) -> int | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise TypeError
            return parse_duration(value)
        except (InvalidInput, ValueError, TypeError, OverflowError):
            self.add(f"{pointer}/{key}", f'{key} is a duration, e.g. "30s", "10m", "3h" or "PT30M"')
            return None

    def keys(self, body: Mapping[str, Any], allowed: Iterable[str], pointer: str) -> None:
        allowed = tuple(allowed)
        for key in body:
            if key not in allowed:
                self.add(f"{pointer}/{escape_pointer(str(key))}", f"unknown key; use one of {', '.join(allowed)}")


def escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")
