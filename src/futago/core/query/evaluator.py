"""Compiles WHERE and SELECT into Python closures, once per query.

A row is a *binding*: a tuple holding the root twin, then for each JOIN its target twin
and the relationship that led there. Closures index that tuple by slot and read the
Twin/Relationship objects directly, so rejected rows never pay for ``to_json``.

Filters use three-valued logic as ADT does: comparing with a missing property is
*undefined* (None), which is neither true nor false, and a row passes only on True.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from futago.core.query import spatial
from futago.core.query.ast import (
    And,
    Call,
    Compare,
    Exists,
    Expr,
    InList,
    IsOfModel,
    LiteralValue,
    Not,
    Or,
    Path,
)
from futago.core.twins import Relationship, Twin


class _Missing:
    """A property that is not there; distinct from JSON null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

Binding = tuple[Any, ...]
Value = Callable[[Binding], Any]
Pred = Callable[[Binding], bool | None]
ModelResolver = Callable[[str, bool], frozenset[str]]

# alias -> (slot in the binding, True when the slot holds a Relationship)
Layout = dict[str | None, tuple[int, bool]]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def category(value: Any) -> str:
    """The JSON type of a value; comparisons only order values of the same category."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "other"


def json_equal(a: Any, b: Any) -> bool:
    ca = category(a)
    if ca != category(b):
        return False
    if ca == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if ca == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


# -- property access ---------------------------------------------------------


def _descend(value: Any, rest: Sequence[str]) -> Any:
    for seg in rest:
        if isinstance(value, dict) and seg in value:
            value = value[seg]
        else:
            return MISSING
    return value


def _twin_head(twin: Twin, head: str) -> Any:
    if head == "$dtId":
        return twin.id
    if head == "$etag":
        return twin.etag
    if head == "$metadata":
        return {"$model": twin.model, "$lastUpdateTime": twin.last_updated}
    if head == "geometry":
        return MISSING if twin.geometry is None else twin.geometry
    return twin.properties.get(head, MISSING)


_REL_HEADS: dict[str, Callable[[Relationship], Any]] = {
    "$relationshipId": lambda r: r.id,
    "$sourceId": lambda r: r.source_id,
    "$targetId": lambda r: r.target_id,
    "$relationshipName": lambda r: r.name,
    "$etag": lambda r: r.etag,
}


def compile_path(path: Path, layout: Layout) -> Value:
    slot, is_rel = layout[path.alias]
    segs = path.segments
    if not segs:
        return lambda b: b[slot].to_json()
    head, rest = segs[0], segs[1:]
    if is_rel:
        getter = _REL_HEADS.get(head)
        if getter is not None:
            if rest:
                return lambda b: MISSING
            return lambda b: getter(b[slot])
        if not rest:
            return lambda b: b[slot].properties.get(head, MISSING)
        return lambda b: _descend(b[slot].properties.get(head, MISSING), rest)
    if head == "$dtId" and not rest:
        return lambda b: b[slot].id
    if head == "$metadata" and rest == ("$model",):
        return lambda b: b[slot].model
    if head.startswith("$") or head == "geometry":
        return lambda b: _descend(_twin_head(b[slot], head), rest)
    if not rest:
        return lambda b: b[slot].properties.get(head, MISSING)
    return lambda b: _descend(b[slot].properties.get(head, MISSING), rest)


# -- expressions -------------------------------------------------------------


class Compiler:
    """Holds what compiling needs besides the AST: the binding layout and model lookups.

    ``elements`` maps each EXISTS element name in scope to its slot; those slots come after
    every collection's (``width`` is the first free one), so an element binding is the row's
    binding padded to that slot, whatever JOIN level the row has reached.
    """

    def __init__(
        self, layout: Layout, models: ModelResolver, elements: dict[str, int] | None = None, width: int = 0
    ) -> None:
        self.layout = layout
        self.models = models
        self.elements = elements or {}
        self.width = max(width, max((slot for slot, _ in layout.values()), default=-1) + 1)

    def value(self, expr: Expr) -> Value:
        if isinstance(expr, LiteralValue):
            const = expr.value
            return lambda b: const
        if isinstance(expr, Path) and expr.alias in self.elements:
            slot, rest = self.elements[expr.alias], expr.segments
            return (lambda b: _descend(b[slot], rest)) if rest else (lambda b: b[slot])
        if isinstance(expr, Path):
            return compile_path(expr, self.layout)
        if isinstance(expr, Call) and expr.name == "ARRAY_LENGTH":
            array = self.value(expr.args[0])
            return lambda b: len(v) if isinstance(v := array(b), list) else MISSING
        if isinstance(expr, Call) and expr.name == "ST_DISTANCE":
            geometry = self.value(expr.args[0])
            distance = spatial.distance_function(_literal(expr.args[1]))

            def st_distance(b: Binding) -> Any:
                g = geometry(b)
                d = None if g is MISSING else distance(g)
                return MISSING if d is None else d

            return st_distance
        pred = self.pred(expr)

        def as_value(b: Binding) -> Any:
            r = pred(b)
            return MISSING if r is None else r

        return as_value

    def pred(self, expr: Expr) -> Pred:
        if isinstance(expr, And):
            return _and([self.pred(e) for e in expr.items])
        if isinstance(expr, Or):
            return _or([self.pred(e) for e in expr.items])
        if isinstance(expr, Not):
            inner = self.pred(expr.item)

            def negation(b: Binding) -> bool | None:
                r = inner(b)
                return None if r is None else not r

            return negation
        if isinstance(expr, Compare):
            return self.compare(expr)
        if isinstance(expr, InList):
            return self.in_list(expr)
        if isinstance(expr, IsOfModel):
            slot = self.layout[expr.alias][0]
            allowed = self.models(expr.model, expr.exact)
            return lambda b: b[slot].model in allowed
        if isinstance(expr, Exists):
            return self.exists(expr)
        if isinstance(expr, Call) and expr.name not in _VALUE_FUNCTIONS:
            return self.call(expr)
        value = self.value(expr)

        def truthy(b: Binding) -> bool | None:
            v = value(b)
            return v if isinstance(v, bool) else None

        return truthy

    def compare(self, expr: Compare) -> Pred:
        left, op = expr.left, expr.op
        right = expr.right
        if isinstance(left, LiteralValue) and not isinstance(right, LiteralValue):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)  # type: ignore[assignment]
        lv = self.value(left)
        if isinstance(right, LiteralValue) and category(right.value) in ("number", "string"):
            return _compare_const(lv, op, right.value)
        rv = self.value(right)

        def generic(b: Binding) -> bool | None:
            a, c = lv(b), rv(b)
            if a is MISSING or c is MISSING:
                return None
            if op == "=":
                return json_equal(a, c)
            if op == "!=":
                return not json_equal(a, c)
            ca = category(a)
            if ca != category(c) or ca not in ("number", "string"):
                return None
            return _ORDER[op](a, c)

        return generic

    def in_list(self, expr: InList) -> Pred:
        value = self.value(expr.value)
        options = expr.options
        negate = expr.negate
        hashable = {(category(o), o) for o in options if category(o) in ("number", "string", "bool", "null")}
        complex_options = [o for o in options if category(o) in ("object", "array")]

        def member(b: Binding) -> bool | None:
            v = value(b)
            if v is MISSING:
                return None
            c = category(v)
            found = any(json_equal(v, o) for o in complex_options) if c in ("object", "array") else (c, v) in hashable
            return found != negate

        return member

    def call(self, expr: Call) -> Pred:
        name = expr.name
        if name == "ST_WITHIN":
            geometry = self.value(expr.args[0])
            test = spatial.within_test(_literal(expr.args[1]))

            def st_within(b: Binding) -> bool | None:
                g = geometry(b)
                return None if g is MISSING else test(g)

            return st_within
        if name in ("STARTSWITH", "ENDSWITH", "CONTAINS"):
            return _string_test(name, self.value(expr.args[0]), self.value(expr.args[1]))
        if name == "ARRAY_CONTAINS":
            partial = len(expr.args) == 3 and _literal(expr.args[2]) is True
            return _array_contains(self.value(expr.args[0]), self.value(expr.args[1]), partial)
        arg = self.value(expr.args[0])
        check = _TYPE_CHECKS[name]
        return lambda b: check(arg(b))

    def exists(self, expr: Exists) -> Pred:
        array = self.value(expr.array)
        slot = self.width
        inner = Compiler(self.layout, self.models, {**self.elements, expr.var: slot}, slot + 1)
        where: Pred = inner.pred(expr.where) if expr.where is not None else (lambda b: True)

        def exists(b: Binding) -> bool | None:
            items = array(b)
            if not isinstance(items, list):  # as in Cosmos DB: no element, so none matches
                return False
            pad = (None,) * (slot - len(b))
            return any(where((*b, *pad, item)) is True for item in items)

        return exists


_VALUE_FUNCTIONS = frozenset({"ST_DISTANCE", "ARRAY_LENGTH"})  # they give a value, not a condition


def _literal(expr: Expr) -> Any:
    assert isinstance(expr, LiteralValue)  # guaranteed by the parser
    return expr.value


def _and(preds: list[Pred]) -> Pred:
    def conjunction(b: Binding) -> bool | None:
        result: bool | None = True
        for p in preds:
            r = p(b)
            if r is False:
                return False
            if r is None:
                result = None
        return result

    return conjunction


def _or(preds: list[Pred]) -> Pred:
    def disjunction(b: Binding) -> bool | None:
        result: bool | None = False
        for p in preds:
            r = p(b)
            if r is True:
                return True
            if r is None:
                result = None
        return result

    return disjunction


def _compare_const(lv: Value, op: str, const: Any) -> Pred:
    """The hot path (``T.temperature > 20``): one type check and one comparison per row."""
    kinds: tuple[type, ...] = (int, float) if category(const) == "number" else (str,)
    if op == "=":
        return lambda b: None if (v := lv(b)) is MISSING else (type(v) in kinds and v == const)
    if op == "!=":
        return lambda b: None if (v := lv(b)) is MISSING else (type(v) not in kinds or v != const)
    order = _ORDER[op]
    return lambda b: order(v, const) if type(v := lv(b)) in kinds else None


def _string_test(name: str, lv: Value, rv: Value) -> Pred:
    method = {"STARTSWITH": str.startswith, "ENDSWITH": str.endswith, "CONTAINS": str.__contains__}[name]

    def test(b: Binding) -> bool | None:
        a, c = lv(b), rv(b)
        if isinstance(a, str) and isinstance(c, str):
            return bool(method(a, c))
        return None

    return test


def partial_match(element: Any, wanted: Any) -> bool:
    """Cosmos DB's partial ARRAY_CONTAINS: an object matches when it has every wanted member, equal."""
    if isinstance(wanted, dict) and isinstance(element, dict):
        return all(key in element and json_equal(element[key], value) for key, value in wanted.items())
    return json_equal(element, wanted)


def _array_contains(array: Value, needle: Value, partial: bool) -> Pred:
    match = partial_match if partial else json_equal

    def contains(b: Binding) -> bool | None:
        items, wanted = array(b), needle(b)
        if not isinstance(items, list) or wanted is MISSING:
            return None
        return any(match(item, wanted) for item in items)

    return contains


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "IS_DEFINED": lambda v: v is not MISSING,
    "IS_NULL": lambda v: v is None,
    "IS_BOOL": lambda v: isinstance(v, bool),
    "IS_NUMBER": lambda v: category(v) == "number",
    "IS_STRING": lambda v: isinstance(v, str),
    "IS_OBJECT": lambda v: isinstance(v, dict),
    "IS_PRIMITIVE": lambda v: category(v) in ("null", "bool", "number", "string"),
}


def all_true(preds: list[Pred]) -> Callable[[Binding], bool]:
    """One filter from conjuncts; a row passes only when every conjunct is exactly True."""
    if not preds:
        return lambda b: True
    if len(preds) == 1:
        only = preds[0]
        return lambda b: only(b) is True
    if len(preds) == 2:
        first, second = preds
        return lambda b: first(b) is True and second(b) is True

    def every(b: Binding) -> bool:
        return all(p(b) is True for p in preds)

    return every
