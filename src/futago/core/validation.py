"""One way to check a configuration document: collect every problem at its JSON pointer, then answer once.

Rules, behaviours, connection options, notification settings and channel entries are all documents a person
writes by hand; a person fixes them faster when one answer names every mistake than when each attempt reveals the
next. A ``Checker`` walks a document with typed readers (text, number, integer, boolean, duration, choice, list,
mapping, known keys), each returning the value when it is what the key needs and otherwise recording a
``Problem`` and returning the default, so the walk goes on. ``raise_if_any`` ends the walk with one InvalidInput.

Readers read ``doc[key]`` and put a problem at ``<pointer>/<key>``, where ``pointer`` is the document's pointer:
the checker's own (see ``at``) unless the caller names another. Each reader has a default sentence; a parser whose
documented wording differs passes its own ``message`` (a text, or a function of the offending value), so one
mechanism keeps every established answer word for word. A part that has a parser of its own (a mapping, a
transport, an artifact path) joins the same answer through ``parsed``; ``id`` names the document in each problem
where several are checked at once (a model's QC configurations).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from futago.core.errors import InvalidInput
from futago.core.problems import Problem, escape_pointer_token
from futago.core.secrets import reveal
from futago.core.telemetry import parse_duration

#: What a reader says when a value is wrong: a sentence, or a function of the offending value that makes one.
Message = str | Callable[[Any], str]

T = TypeVar("T")
N = TypeVar("N", int, float)

_MISSING: Any = object()
_DURATION_HINT = 'is a duration, e.g. "30s", "10m", "3h" or "PT30M"'


class Checker:
    """Collects the problems of one document; scopes made by ``at`` share the list, so nested parts add to it."""

    def __init__(
        self, pointer: str = "", problems: list[Problem] | None = None, quote_keys: bool = False, id: str | None = None
    ) -> None:
        self.pointer = pointer
        self.problems: list[Problem] = [] if problems is None else problems
        self.quote_keys = quote_keys  # name keys as 'key' in the default sentences (the channel entries' wording)
        self.id = id  # what the document configures, named in each problem where several are checked at once

    # --- scopes and results -----------------------------------------------------------------------------------

    def at(self, *tokens: str | int) -> Checker:
        """The checker of a part of the document: its pointer extended by ``tokens`` (escaped), same problems."""
        pointer = self.pointer + "".join("/" + escape_pointer_token(t) for t in tokens)
        return Checker(pointer, self.problems, self.quote_keys, self.id)

    def add(self, pointer: str, message: str) -> None:
        """A problem at ``pointer``, a whole JSON pointer (the root is written "/")."""
        self.problems.append(Problem(pointer or "/", message, self.id))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def parsed(self, parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """What ``parse(*args, **kwargs)`` makes, or None with its problems added: a part parsed by its own parser
        (one that raises InvalidInput) joins the answer of the whole document."""
        try:
            return parse(*args, **kwargs)
        except InvalidInput as exc:
            self.problems.extend(exc.problems)
            return None

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)

    # --- readers ----------------------------------------------------------------------------------------------

    def text(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        required: bool = False,
        *,
        max_length: int | None = 1000,
        default: str | None = None,
        message: Message | None = None,
    ) -> str | None:
        """A non-empty string (a secret is checked as its text; the caller keeps it concealed). A null is absent;
        a required one missing "is required" (in the quoted wording, "is a non-empty string")."""
        value = reveal(doc.get(key))
        if value is None:
            if required:
                self._problem(
                    pointer, key, value, message, "is a non-empty string" if self.quote_keys else "is required"
                )
            return default
        if not isinstance(value, str) or not value.strip() or (max_length is not None and len(value) > max_length):
            self._problem(pointer, key, value, message, "is a non-empty string")
            return default
        return value

    @overload
    def number(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: float | None = None,
        high: float | None = None,
        *,
        above: bool = False,
        default: float,
        message: Message | None = None,
    ) -> float: ...

    @overload
    def number(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: float | None = None,
        high: float | None = None,
        *,
        above: bool = False,
        default: None = None,
        message: Message | None = None,
    ) -> float | None: ...

    def number(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: float | None = None,
        high: float | None = None,
        *,
        above: bool = False,
        default: float | None = None,
        message: Message | None = None,
    ) -> float | None:
        """A finite number (not a boolean) from ``low`` (or just ``above`` it) to ``high``, as a float."""
        value = self._given(doc, key, default)
        if value is _MISSING:
            return default
        number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
        too_low = low is not None and (number <= low if above else number < low)
        if not math.isfinite(number) or too_low or (high is not None and number > high):
            if above:
                wording = f"is a number above {low:g} up to {high:g}"
            else:
                wording = "is a finite number" + (
                    "" if low is None else f" in [{low}, {high}]" if high is not None else f" ≥ {low}"
                )
            self._problem(pointer, key, value, message, wording)
            return default
        return number

    @overload
    def integer(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: int | None = None,
        high: int | None = None,
        *,
        default: int,
        message: Message | None = None,
    ) -> int: ...

    @overload
    def integer(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: int | None = None,
        high: int | None = None,
        *,
        default: None = None,
        message: Message | None = None,
    ) -> int | None: ...

    def integer(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        low: int | None = None,
        high: int | None = None,
        *,
        default: int | None = None,
        message: Message | None = None,
    ) -> int | None:
        """A whole number (not a boolean, not 2.0) from ``low`` to ``high``."""
        value = self._given(doc, key, default)
        if value is _MISSING:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            self._problem(pointer, key, value, message, f"is an integer from {low} to {high}")
            return default
        return value

    def boolean(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        *,
        default: bool = False,
        message: Message | None = None,
    ) -> bool:
        value = doc.get(key, default)
        if not isinstance(value, bool):
            self._problem(pointer, key, value, message, "is true or false")
            return default
        return value

    def duration(
        self,
        doc: Mapping[str, Any],
        key: str,
        pointer: str | None = None,
        *,
        default: str | None = None,
        message: Message | None = None,
    ) -> int | None:
        """A positive duration in microseconds ("30s", "10m", "PT30M", or milliseconds); a null is absent, and
        ``default`` (a duration text) stands for an absent one."""
        value = doc.get(key)
        if value is None:
            return None if default is None else parse_duration(default)
        try:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise TypeError(value)
            return parse_duration(value)
        except (InvalidInput, ValueError, TypeError, OverflowError):
            self._problem(pointer, key, value, message, _DURATION_HINT)
            return None

    @overload
    def choice(
        self,
        doc: Mapping[str, Any],
        key: str,
        options: Iterable[T],
        pointer: str | None = None,
        *,
        default: T,
        message: Message | None = None,
    ) -> T: ...

    @overload
    def choice(
        self,
        doc: Mapping[str, Any],
        key: str,
        options: Iterable[T],
        pointer: str | None = None,
        *,
        default: None = None,
        message: Message | None = None,
    ) -> T | None: ...

    def choice(
        self,
        doc: Mapping[str, Any],
        key: str,
        options: Iterable[T],
        pointer: str | None = None,
        *,
        default: T | None = None,
        message: Message | None = None,
    ) -> T | None:
        """One of ``options``; absent gives ``default``."""
        options = tuple(options)
        value = doc.get(key, _MISSING)
        if value is _MISSING:
            return default
        if value not in options:
            self._problem(pointer, key, value, message, "is one of " + ", ".join(map(str, options)))
            return default
        return value  # it is one of the options

    def mapping(
        self, doc: Mapping[str, Any], key: str, pointer: str | None = None, *, message: Message | None = None
    ) -> Mapping[str, Any]:
        """An object (a TOML table); absent is empty."""
        value = doc.get(key, {})
        if not isinstance(value, Mapping):
            self._problem(pointer, key, value, message, "is an object")
            return {}
        return value

    def items(
        self, doc: Mapping[str, Any], key: str, pointer: str | None = None, *, message: Message | None = None
    ) -> list[Any]:
        """A list (a JSON array); absent is empty."""
        value = doc.get(key, [])
        if not isinstance(value, list):
            self._problem(pointer, key, value, message, "is a list")
            return []
        return value

    def keys(
        self,
        doc: Mapping[str, Any],
        allowed: Iterable[str],
        pointer: str | None = None,
        *,
        message: str | None = None,
    ) -> None:
        """A problem at each key of ``doc`` that is not ``allowed``."""
        allowed = tuple(allowed)
        said = message or f"unknown key; use one of {', '.join(allowed)}"
        base = self.pointer if pointer is None else pointer
        for key in doc:
            if key not in allowed:
                self.add(f"{base}/{escape_pointer_token(str(key))}", said)

    # --- helpers ----------------------------------------------------------------------------------------------

    @staticmethod
    def _given(doc: Mapping[str, Any], key: str, default: Any) -> Any:
        """The value to check, or _MISSING for an absent key; a null counts as absent only when there is no
        default (an optional value), because where a default exists a null is a mistake to be named."""
        value = doc.get(key, _MISSING)
        if value is None and default is None:
            return _MISSING
        return value

    def _problem(self, pointer: str | None, key: str, value: Any, message: Message | None, wording: str) -> None:
        base = self.pointer if pointer is None else pointer
        if message is None:
            said = f"'{key}' {wording}" if self.quote_keys else f"{key} {wording}"
        else:
            said = message if isinstance(message, str) else message(value)
        self.add(f"{base}/{escape_pointer_token(key)}", said)
