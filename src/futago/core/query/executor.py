"""Runs a Plan against a GraphSource, one page at a time.

Root twins are scanned in ascending id order in bounded batches (``after_id``/``limit``),
so no page ever loads the whole graph. JOINs are expanded for a whole batch at once: one
``list_relationships_of`` and one ``get_twins`` call per JOIN level, not per row.
Every produced row passes through the caller's RowShaper in ``_shaped``, and only there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.query import continuation as tokens
from futago.core.query.ast import Query
from futago.core.query.evaluator import Binding
from futago.core.query.parser import parse
from futago.core.query.planner import Plan, layout_of, make_plan
from futago.core.query.source import GraphSource, ModelCatalog
from futago.core.twins import Relationship, Twin

RowShaper = Callable[[dict[str, Any]], dict[str, Any] | None]

MAX_BATCH = 5000
MAX_JOIN_BATCH = 200
MAX_PAGE_SIZE = 100_000


@dataclass(slots=True)
class QueryResult:
    items: list[dict[str, Any]] = field(default_factory=list)
    continuation: str | None = None  # present when more rows remain


def execute(
    query: str | Query,
    source: GraphSource,
    models: ModelCatalog,
    *,
    page_size: int = 1000,
    continuation: str | None = None,
    shape: RowShaper | None = None,
) -> QueryResult:
    """One page of the query's rows, in ascending root twin id order."""
    parsed = parse(query) if isinstance(query, str) else query
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput([Problem("/pageSize", f"expected a whole number from 1 to {MAX_PAGE_SIZE}")])
    start = tokens.decode(parsed.text, continuation) if continuation else None
    plan = make_plan(parsed, models)
    if plan.project is None:
        return QueryResult([{"COUNT": _count(plan, source, shape)}])
    if plan.empty:
        return QueryResult([])
    return _page(plan, source, start, page_size, shape)


def _shaped(row: dict[str, Any], shape: RowShaper | None) -> dict[str, Any] | None:
    """The single place where result rows meet the caller's shaper (security hooks in here)."""
    return row if shape is None else shape(row)


def _page(
    plan: Plan, source: GraphSource, start: tokens.Position | None, page_size: int, shape: RowShaper | None
) -> QueryResult:
    assert plan.project is not None
    project = plan.project
    top = plan.query.select.top
    delivered = start.delivered if start else 0
    items: list[dict[str, Any]] = []
    if top is not None and delivered >= top:
        return QueryResult(items)
    batch = max(16, min(page_size + 1, MAX_JOIN_BATCH if plan.joins else MAX_BATCH))
    for root_id, index, binding in _bindings(plan, source, start, batch):
        row = _shaped(project(binding), shape)
        if row is None:
            continue
        if len(items) == page_size:  # one more row exists: the next page starts at it
            position = tokens.Position(root_id, index, delivered + len(items))
            return QueryResult(items, tokens.encode(plan.query.text, position))
        items.append(row)
        if top is not None and delivered + len(items) >= top:
            break
    return QueryResult(items)


def _count(plan: Plan, source: GraphSource, shape: RowShaper | None) -> int:
    """COUNT() counts the rows a caller could see: each one is shaped as its collections."""
    if plan.empty:
        return 0
    layout, _ = layout_of(plan.query)
    names = [(name, slot) for name, (slot, _) in layout.items() if name is not None]
    total = 0
    for _, _, binding in _bindings(plan, source, None, MAX_JOIN_BATCH if plan.joins else MAX_BATCH):
        if shape is not None:
            row = binding[0].to_json() if not plan.query.joins else {n: binding[s].to_json() for n, s in names}
            if _shaped(row, shape) is None:
                continue
        total += 1
    return total


def _bindings(
    plan: Plan, source: GraphSource, start: tokens.Position | None, batch: int
) -> Iterator[tuple[str, int, Binding]]:
    """Every row of the query from ``start`` on, as (root id, index within that root, binding)."""
    after: str | None = None
    if start is not None:
        root = source.get_twins([start.root_id]).get(start.root_id)
        if root is not None:
            for root_id, rows in _expand(plan, source, [root]):
                for i in range(start.skip, len(rows)):
                    yield root_id, i, rows[i]
        after = start.root_id
    while True:
        roots = source.scan_twins(plan.scan._replace(after_id=after, limit=batch))
        if not roots:
            return
        for root_id, rows in _expand(plan, source, roots):
            for i, binding in enumerate(rows):
                yield root_id, i, binding
        after = roots[-1].id


def _expand(plan: Plan, source: GraphSource, roots: list[Twin]) -> list[tuple[str, list[Binding]]]:
    """Filter a batch of roots and walk their JOINs; rows come back grouped by root, in order."""
    keep = plan.keep_root
    bindings: list[Binding] = [b for b in ((r,) for r in roots) if keep(b)]
    for step in plan.joins:
        if not bindings:
            break
        slot = step.source_slot
        source_ids = sorted({b[slot].id for b in bindings})
        rels = [r for r in source.list_relationships_of(source_ids, step.relationship) if r.name == step.relationship]
        rels.sort(key=lambda r: (r.source_id, r.id))
        by_source: dict[str, list[Relationship]] = {}
        for rel in rels:
            by_source.setdefault(rel.source_id, []).append(rel)
        targets = source.get_twins(sorted({r.target_id for r in rels})) if rels else {}
        expanded: list[Binding] = []
        for b in bindings:
            for rel in by_source.get(b[slot].id, ()):
                target = targets.get(rel.target_id)
                if target is None:
                    continue
                nb = (*b, target, rel)
                if step.keep(nb):
                    expanded.append(nb)
        bindings = expanded
    groups: list[tuple[str, list[Binding]]] = []
    for b in bindings:
        root_id = b[0].id
        if groups and groups[-1][0] == root_id:
            groups[-1][1].append(b)
        else:
            groups.append((root_id, [b]))
    return groups
