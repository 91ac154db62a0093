"""Turns a parsed Query into a Plan: what to push down to the store, and compiled filters.

Only conjuncts at the top level of the WHERE's AND chain that concern the root
collection can narrow the scan; everything is still re-checked exactly by the compiled
filters, so a store may over-approximate (the bbox does) but never under-approximate.
Each conjunct runs at the earliest JOIN level that binds all the collections it names,
so rows are discarded before the graph is walked further.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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
    Path,
    Query,
    walk,
)
from futago.core.query.evaluator import (
    MISSING,
    Binding,
    Compiler,
    Layout,
    Pred,
    all_true,
    compile_path,
)
from futago.core.query.source import ModelCatalog
from futago.core.twins import BBox, PropertyFilter, TwinScan

Projector = Callable[[Binding], dict[str, Any]]


# Property comparisons pushed down to the store at most; the rest are only re-checked by the
# compiled filters. SQLite refuses a WHERE nested deeper than 1000 (a chain of ~1000 ANDs
# was a 500), and a few dozen conditions already narrow a scan as far as it goes.
MAX_PUSHED_PROPERTIES = 32

# Array membership pushed down as a PropertyFilter: ``value`` is the JSON text of the wanted
# element. "array_contains" keeps twins whose array at ``path`` holds an element equal to it;
# "array_contains_partial" also keeps an object element holding at least its members (Cosmos
# DB's partial match). As for comparisons, a store may keep extra twins, never drop one.
ARRAY_CONTAINS_OPS = ("array_contains", "array_contains_partial")


@dataclass(frozen=True, slots=True)
class JoinStep:
    source_slot: int
    relationship: str
    keep: Callable[[Binding], bool]  # the filters that become decidable once this join is bound


@dataclass(frozen=True, slots=True)
class Plan:
    query: Query
    scan: TwinScan  # pushdown, without after_id/limit
    empty: bool  # the pushdown alone proves there is no row
    keep_root: Callable[[Binding], bool]
    joins: tuple[JoinStep, ...]
    project: Projector | None  # None for COUNT()


def layout_of(query: Query) -> tuple[Layout, dict[str | None, int]]:
    """Slots of each collection in a binding, and the JOIN level (0 = root) that binds it."""
    layout: Layout = {query.root: (0, False)}
    level: dict[str | None, int] = {query.root: 0}
    for k, join in enumerate(query.joins, start=1):
        layout[join.target] = (2 * k - 1, False)
        level[join.target] = k
        if join.rel_alias is not None:
            layout[join.rel_alias] = (2 * k, True)
            level[join.rel_alias] = k
    return layout, level


def conjuncts(where: Expr | None) -> list[Expr]:
    if where is None:
        return []
    if isinstance(where, And):
        out: list[Expr] = []
        for item in where.items:
            out.extend(conjuncts(item))
        return out
    return [where]


def _aliases(expr: Expr) -> set[str | None]:
    """The collections ``expr`` reads; EXISTS element names are bound inside it, not by a JOIN."""
    found: set[str | None] = set()
    local: set[str | None] = set()
    for node in walk(expr):
        if isinstance(node, Path | IsOfModel):
            found.add(node.alias)
        elif isinstance(node, Exists):
            local.add(node.var)
    return found - local


def model_resolver(models: ModelCatalog) -> Callable[[str, bool], frozenset[str]]:
    cache: dict[tuple[str, bool], frozenset[str]] = {}

    def resolve(model: str, exact: bool) -> frozenset[str]:
        key = (model, exact)
        if key not in cache:
            if exact:
                cache[key] = frozenset({model})
            else:
                try:
                    cache[key] = frozenset(models.descendants(model)) | {model}
                except LookupError:  # a model the catalog never saw: only exact matches
                    cache[key] = frozenset({model})
        return cache[key]

    return resolve


def make_plan(query: Query, models: ModelCatalog) -> Plan:
    layout, level = layout_of(query)
    resolve = model_resolver(models)
    compiler = Compiler(layout, resolve)
    by_level: list[list[Pred]] = [[] for _ in range(len(query.joins) + 1)]
    pushdown = _Pushdown(query.root, resolve)
    for conj in conjuncts(query.where):
        depth = max((level[a] for a in _aliases(conj)), default=0)
        by_level[depth].append(compiler.pred(conj))
        if depth == 0:
            pushdown.add(conj)
    joins = tuple(
        JoinStep(layout[join.source][0], join.relationship, all_true(by_level[k]))
        for k, join in enumerate(query.joins, start=1)
    )
    scan, empty = pushdown.result()
    return Plan(query, scan, empty, all_true(by_level[0]), joins, _projector(query, layout))


def _projector(query: Query, layout: Layout) -> Projector | None:
    select = query.select
    if select.kind == "count":
        return None
    if select.kind == "star":
        return lambda b: b[0].to_json()
    getters = [(col.name, compile_path(col.path, layout)) for col in select.columns]

    def project(b: Binding) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for name, get in getters:
            value = get(b)
            if value is not MISSING:  # ADT leaves out a property a row does not have
                row[name] = value
        return row

    return project


class _Pushdown:
    """Collects what the root-level conjuncts let the store filter by."""

    def __init__(self, root: str | None, resolve: Callable[[str, bool], frozenset[str]]) -> None:
        self.root = root
        self.resolve = resolve
        self.model_ids: frozenset[str] | None = None
        self.twin_ids: frozenset[str] | None = None
        self.bbox: BBox | None = None
        self.properties: list[PropertyFilter] = []
        self.empty = False

    def _root_path(self, expr: Expr, *segments: str) -> bool:
        return isinstance(expr, Path) and expr.alias == self.root and expr.segments == segments

    def _property_path(self, expr: Expr) -> bool:
        """A plain property (or component property) of the root twin, not a system member."""
        return (
            isinstance(expr, Path)
            and expr.alias == self.root
            and bool(expr.segments)
            and all(seg.isidentifier() and not seg.startswith("$") for seg in expr.segments)
            and expr.segments != ("geometry",)
        )

    def _models(self, ids: frozenset[str]) -> None:
        self.model_ids = ids if self.model_ids is None else self.model_ids & ids

    def _ids(self, ids: frozenset[str]) -> None:
        self.twin_ids = ids if self.twin_ids is None else self.twin_ids & ids

    def _box(self, box: BBox) -> None:
        if self.bbox is not None:
            a = self.bbox
            box = (max(a[0], box[0]), max(a[1], box[1]), min(a[2], box[2]), min(a[3], box[3]))
            if box[0] > box[2] or box[1] > box[3]:
                self.empty = True
        self.bbox = box

    def add(self, conj: Expr) -> None:
        if isinstance(conj, IsOfModel) and conj.alias == self.root:
            self._models(self.resolve(conj.model, conj.exact))
        elif isinstance(conj, InList) and not conj.negate and self._root_path(conj.value, "$dtId"):
            self._ids(frozenset(o for o in conj.options if isinstance(o, str)))
        elif isinstance(conj, Compare):
            self._compare(conj)
        elif isinstance(conj, Call) and conj.name == "ST_WITHIN" and self._root_path(conj.args[0], "geometry"):
            min_lon, min_lat, max_lon, max_lat = spatial.region_from_literal(_const(conj.args[1])).bounds
            self._box((min_lon, min_lat, max_lon, max_lat))
        elif isinstance(conj, Call) and conj.name == "ARRAY_CONTAINS" and isinstance(conj.args[1], LiteralValue):
            partial = len(conj.args) == 3 and _const(conj.args[2]) is True
            self._contains(conj.args[0], conj.args[1].value, partial)
        elif isinstance(conj, Exists):
            wanted = _exists_element(conj)
            if wanted is not _NOTHING:
                self._contains(conj.array, wanted, True)

    def _contains(self, array: Expr, wanted: Any, partial: bool) -> None:
        if self._property_path(array) and len(self.properties) < MAX_PUSHED_PROPERTIES:
            assert isinstance(array, Path)
            op = ARRAY_CONTAINS_OPS[partial]
            text = json.dumps(wanted, ensure_ascii=False, allow_nan=False)
            self.properties.append(PropertyFilter(array.segments, op, text))

    def _compare(self, conj: Compare) -> None:
        left, right, op = conj.left, conj.right, conj.op
        if isinstance(left, LiteralValue):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)  # type: ignore[assignment]
        if not isinstance(right, LiteralValue):
            return
        if self._property_path(left) and op in ("=", "<", "<=", ">", ">="):
            value = right.value
            pushable = isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))
            if pushable and len(self.properties) < MAX_PUSHED_PROPERTIES:
                assert isinstance(left, Path)
                self.properties.append(PropertyFilter(left.segments, op, value))
        if op == "=" and self._root_path(left, "$dtId"):
            self._ids(frozenset([right.value]) if isinstance(right.value, str) else frozenset())
        elif op == "=" and self._root_path(left, "$metadata", "$model"):
            self._models(frozenset([right.value]) if isinstance(right.value, str) else frozenset())
        elif (
            op in ("<", "<=")
            and isinstance(left, Call)
            and left.name == "ST_DISTANCE"
            and self._root_path(left.args[0], "geometry")
            and isinstance(right.value, int | float)
            and not isinstance(right.value, bool)
        ):
            lon, lat = spatial.point_from_literal(_const(left.args[1]))
            self._box(spatial.circle_bbox(lon, lat, float(right.value)))

    def result(self) -> tuple[TwinScan, bool]:
        empty = self.empty or self.model_ids == frozenset() or self.twin_ids == frozenset()
        scan = TwinScan(
            model_ids=self.model_ids,
            twin_ids=self.twin_ids,
            bbox=self.bbox,
            properties=tuple(self.properties),
        )
        return scan, empty


_NOTHING: Any = object()


def _exists_element(exists: Exists) -> Any:
    """What an element must at least hold for ``exists`` to be true: the equalities with a literal among the
    top-level conjuncts of its WHERE (``a.name = 'x' AND a.number > 3`` gives ``{"name": "x"}``), or ``_NOTHING``."""
    members: dict[str, Any] = {}
    for conj in conjuncts(exists.where):
        if not isinstance(conj, Compare) or conj.op != "=":
            continue
        path, literal = (conj.left, conj.right) if isinstance(conj.right, LiteralValue) else (conj.right, conj.left)
        if not isinstance(path, Path) or path.alias != exists.var or not isinstance(literal, LiteralValue):
            continue
        if not path.segments:
            return literal.value  # the element itself is known
        if len(path.segments) == 1:
            members.setdefault(path.segments[0], literal.value)
    return members if members else _NOTHING


def _const(expr: Expr) -> Any:
    assert isinstance(expr, LiteralValue)  # guaranteed by the parser
    return expr.value
