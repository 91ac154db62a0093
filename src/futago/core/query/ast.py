"""The parsed form of a query: plain frozen data, so a Query can be cached and shared.

Nothing here knows about storage or models; the planner and the evaluator give it meaning.
Every node keeps the position of its first token for error messages found after parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class LiteralValue:
    """A JSON-like constant: number, string, bool, null, array or object."""

    value: Any
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Path:
    """``T``, ``T.prop``, ``T.comp.prop``, ``T.$dtId``; ``alias`` None means the unnamed root."""

    alias: str | None
    segments: tuple[str, ...]
    pos: Pos = field(compare=False)

    def spelling(self) -> str:
        return ".".join(([self.alias] if self.alias else []) + list(self.segments))


@dataclass(frozen=True, slots=True)
class Compare:
    op: CompareOp
    left: Expr
    right: Expr
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class InList:
    """``x IN [..]`` (``negate`` False) or ``x NIN [..]`` / ``x NOT IN [..]`` (True)."""

    value: Expr
    options: tuple[Any, ...]
    negate: bool
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class IsOfModel:
    alias: str | None
    model: str
    exact: bool
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function other than IS_OF_MODEL, by its upper-case name."""

    name: str
    args: tuple[Expr, ...]
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Exists:
    """``EXISTS(SELECT VALUE var FROM var IN array [WHERE where])``, the Cosmos DB form.

    ``var`` names one element of ``array`` inside ``where`` only; paths that start with it
    carry it as their alias.
    """

    var: str
    array: Path
    where: Expr | None
    pos: Pos = field(compare=False)


Expr = LiteralValue | Path | Compare | And | Or | Not | InList | IsOfModel | Call | Exists


@dataclass(frozen=True, slots=True)
class Column:
    """One projected column; ``name`` is the key it takes in each result row."""

    path: Path
    name: str


@dataclass(frozen=True, slots=True)
class Select:
    kind: Literal["star", "count", "columns"]
    top: int | None = None
    columns: tuple[Column, ...] = ()


@dataclass(frozen=True, slots=True)
class Join:
    """``JOIN target RELATED source.relationship [rel_alias]``."""

    target: str
    source: str
    relationship: str
    rel_alias: str | None
    pos: Pos = field(compare=False)


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    select: Select
    root: str | None
    joins: tuple[Join, ...] = ()
    where: Expr | None = None


def walk(expr: Expr) -> list[Expr]:
    """Every node of ``expr``, parents first; used to find the collections a filter touches."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, Compare):
            stack.extend((node.right, node.left))
        elif isinstance(node, And | Or):
            stack.extend(reversed(node.items))
        elif isinstance(node, Not):
            stack.append(node.item)
        elif isinstance(node, InList):
            stack.append(node.value)
        elif isinstance(node, Call):
            stack.extend(reversed(node.args))
        elif isinstance(node, Exists):
            if node.where is not None:
                stack.append(node.where)
            stack.append(node.array)
    return out
