"""Boolean expressions of NGSI-LD names in disjunctive normal form: the one parser behind type expressions
(4.17) and scope queries (4.19), which share their grammar: ``;`` is AND (binding tighter), the OR symbols
(``,``, and ``|`` for types) and parentheses. An expression becomes a list of conjunctions; AND distributes over
OR, bounded so that a short expression cannot multiply into an unbounded one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

Conjunction = TypeVar("Conjunction")
MAX_DEPTH = 16  # nested parentheses


def parse_dnf(
    tokens: Sequence[str],
    or_symbols: tuple[str, ...],
    leaf: Callable[[str], Conjunction],
    both: Callable[[Conjunction, Conjunction], Conjunction],
    fail: Callable[[str], Exception],
    max_conjunctions: int,
    what: str,
) -> list[Conjunction]:
    """``tokens`` (blanks removed) as conjunctions: ``leaf`` makes one of a name (raising ``fail`` for a bad one),
    ``both`` joins two; ``what`` names an operand in messages ("a type name")."""
    position = 0

    def disjunction(depth: int) -> list[Conjunction]:
        nonlocal position
        if depth > MAX_DEPTH:
            raise fail(f"more than {MAX_DEPTH} nested parentheses")
        found = conjunction(depth)
        while position < len(tokens) and tokens[position] in or_symbols:
            position += 1
            found = found + conjunction(depth)
            if len(found) > max_conjunctions:
                raise fail("too many combinations")
        return found

    def conjunction(depth: int) -> list[Conjunction]:
        nonlocal position
        found = operand(depth)
        while position < len(tokens) and tokens[position] == ";":
            position += 1
            right = operand(depth)
            found = [both(a, b) for a in found for b in right]
            if len(found) > max_conjunctions:
                raise fail("too many combinations")
        return found

    def operand(depth: int) -> list[Conjunction]:
        nonlocal position
        if position >= len(tokens):
            raise fail(f"{what} was expected at the end")
        token = tokens[position]
        position += 1
        if token == "(":
            inner = disjunction(depth + 1)
            if position >= len(tokens) or tokens[position] != ")":
                raise fail("a ')' is missing")
            position += 1
            return inner
        return [leaf(token)]

    found = disjunction(0)
    if position != len(tokens):
        raise fail(f"unexpected {tokens[position]!r}")
    return found
