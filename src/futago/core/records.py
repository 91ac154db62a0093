"""One way to write a dataclass record as its JSON object, and to read it back.

futago's records answer in camelCase JSON (``twinId``, ``raisedAt``). Rather than a hand-written ``to_json`` and
``from_json`` per record — forty copies of the same mapping, each free to drift — a record derives from
``JsonRecord`` and says only where it differs from the rule:

- the JSON holds the fields in declaration order, under their camelCase names (``json_case = "as_declared"``
  keeps the Python names, for records whose JSON was always snake_case);
- ``field(metadata=json_meta(...))`` gives one field another ``key``, leaves it out when it is None or empty
  (``omit``), ``skip``\\ s it, or ``encode``\\ s / ``decode``\\ s its value (a timestamp, a sorted set);
- ``json_omit`` applies an ``omit`` rule to every field, ``json_order`` writes the fields in another order;
- values are converted on the way out: a nested record by its own ``to_json``, dicts and lists copied with their
  items converted, tuples as lists, sets as sorted lists — so the JSON never aliases the record's own containers;
- ``from_json`` is the inverse: a missing key with a default takes the default, a missing required key is a
  KeyError; dicts and lists are copied, and a field typed as a tuple, a frozenset or a record (or a list or dict
  of records) gets one back.

A record whose JSON does more than map fields (derives values, validates, masks secrets) keeps that logic in its
own method, built on ``record_to_json`` / ``record_from_json``, and says why.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sized
from typing import Any, ClassVar, Literal, NamedTuple, Self, TypeVar

Case = Literal["camel", "as_declared"]
#: "none": leave the field out when it is None; "empty": also when it is an empty string or container.
Omit = Literal["none", "empty"]

_META = "json"  # the key of this module's options in a field's metadata
R = TypeVar("R", bound="JsonRecord")


def camel_case(name: str) -> str:
    """``twin_id`` → ``twinId``; a name without underscores stays as it is."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class FieldOptions(NamedTuple):
    key: str | None = None
    omit: Omit | None = None
    skip: bool = False
    encode: Callable[[Any], Any] | None = None
    decode: Callable[[Any], Any] | None = None


def json_meta(
    key: str | None = None,
    *,
    omit: Omit | None = None,
    skip: bool = False,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> dict[str, FieldOptions]:
    """A field's JSON options, as ``field(metadata=json_meta(...))``: its ``key`` (default: the camelCase name),
    when to ``omit`` it, whether to ``skip`` it (not part of the JSON), and how to ``encode``/``decode`` it."""
    return {_META: FieldOptions(key, omit, skip, encode, decode)}


class JsonRecord:
    """A dataclass record with a JSON form (see the module's docstring). Declares no slots of its own, so that a
    ``slots=True`` record stays without a ``__dict__``."""

    __slots__ = ()

    json_case: ClassVar[Case] = "camel"
    json_omit: ClassVar[Omit | None] = None
    json_order: ClassVar[tuple[str, ...] | None] = None  # attribute names, when not the declaration order

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Self:
        return record_from_json(cls, body)


# --- the plan of one record class: computed once, on first use -----------------------------------------------


class _Field(NamedTuple):
    name: str
    key: str
    omit: Omit | None
    encode: Callable[[Any], Any] | None
    decode: Callable[[Any], Any] | None
    required: bool  # no default: from_json needs its key
    init: bool


class _Plan(NamedTuple):
    out: tuple[_Field, ...]  # in JSON order
    into: tuple[_Field, ...]  # the fields from_json reads


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _make_plan(cls)
    return plan


def _make_plan(cls: type) -> _Plan:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} is a JsonRecord but not a dataclass")
    case: Case = getattr(cls, "json_case", "camel")
    class_omit: Omit | None = getattr(cls, "json_omit", None)
    hints = _type_hints(cls)
    fields: dict[str, _Field] = {}
    for f in dataclasses.fields(cls):
        options: FieldOptions = f.metadata.get(_META, FieldOptions())
        if options.skip:
            continue
        key = options.key or (camel_case(f.name) if case == "camel" else f.name)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        decode = options.decode or _decoder(hints.get(f.name))
        fields[f.name] = _Field(f.name, key, options.omit or class_omit, options.encode, decode, required, f.init)
    order: tuple[str, ...] | None = getattr(cls, "json_order", None)
    if order is not None and sorted(order) != sorted(fields):
        raise TypeError(f"{cls.__name__}.json_order must name each of its JSON fields once: {sorted(fields)}")
    out = tuple(fields[name] for name in order) if order is not None else tuple(fields.values())
    return _Plan(out, tuple(f for f in fields.values() if f.init))


def _type_hints(cls: type) -> dict[str, Any]:
    """The fields' resolved types, or none when one names a type imported only for type checking: from_json then
    copies values as they are, and the record declares ``decode`` where it needs more."""
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {}


def _decoder(hint: Any) -> Callable[[Any], Any] | None:
    """How from_json turns a JSON value back into a field of type ``hint`` (None: copy it as it is)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        inner = _decoder(present[0]) if len(present) == 1 else None
        return None if inner is None else (lambda value: None if value is None else inner(value))
    if isinstance(hint, type) and issubclass(hint, JsonRecord):
        return hint.from_json
    item = _decoder(args[0]) if args and origin in (tuple, list, frozenset) else None
    if origin is tuple:
        return (lambda value: tuple(map(item, value))) if item else tuple
    if origin is frozenset:
        return (lambda value: frozenset(map(item, value))) if item else frozenset
    if origin is list and item is not None:
        return lambda value: list(map(item, value))
    if origin is dict and len(args) == 2:
        of = _decoder(args[1])
        if of is not None:
            return lambda value: {k: of(v) for k, v in value.items()}
    return None


# --- writing and reading ---------------------------------------------------------------------------------------


def record_to_json(record: object) -> dict[str, Any]:
    """The record's JSON object (the default ``JsonRecord.to_json``)."""
    out: dict[str, Any] = {}
    for f in _plan(type(record)).out:
        value = getattr(record, f.name)
        if f.omit is not None and (value is None or (f.omit == "empty" and _empty(value))):
            continue
        out[f.key] = f.encode(value) if f.encode is not None else to_json_value(value)
    return out


def record_from_json(cls: type[R], body: Mapping[str, Any]) -> R:
    """The record ``cls`` from its JSON object (the default ``JsonRecord.from_json``); unknown keys are ignored."""
    values: dict[str, Any] = {}
    for f in _plan(cls).into:
        if f.key in body:
            value = body[f.key]
            values[f.name] = f.decode(value) if f.decode is not None else _copied(value)
        elif f.required:
            raise KeyError(f.key)
    return cls(**values)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_json_value(value: Any) -> Any:
    """A value as JSON: records by their ``to_json``, containers copied with their items converted."""
    kind = type(value)  # exact types first: this runs for every value of every record written
    if kind in _SCALARS:
        return value
    if kind is dict:
        return {k: v if type(v) in _SCALARS else to_json_value(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else to_json_value(v) for v in value]
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, JsonRecord):
        return value.to_json()
    if isinstance(value, Mapping):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(to_json_value(v) for v in value)
    return value


def _empty(value: Any) -> bool:
    return isinstance(value, Sized) and len(value) == 0


def _copied(value: Any) -> Any:
    """A dict or list from the body as a fresh one, so that the record never shares the caller's container."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
