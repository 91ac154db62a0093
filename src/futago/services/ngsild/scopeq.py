"""The NGSI-LD scope query language (GS CIM 009 clause 4.19): ``scopeQ`` over entities' scopes (4.18).

A scope is a path of levels (``/Madrid/Gardens/ParqueNorte``). A scope term matches an entity when one of its
scopes matches the term level by level: ``+`` stands for any one level, and a last level ``#`` for the term's
scope and every scope below it (``/Madrid/#``: ``/Madrid``, ``/Madrid/Gardens``, ...; ``/#``: any scope). Terms
combine with ``;`` (AND, binding tighter), ``,`` (OR) and parentheses. The expression becomes a disjunction of
conjunctions of terms, each a tuple of levels; a malformed one is a BadRequestData pointing at ``/scopeQ``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from futago.services.ngsild.dnf import parse_dnf
from futago.services.ngsild.qlang import problem

MAX_TERMS = 100  # terms in one expression, after distributing AND over OR
MAX_LENGTH = 2000  # characters of one expression
_LEVEL = re.compile(r"^[^\W\d_]\w*$")
_TOKENS = re.compile(r"[;,()]|[^;,()\s]+|\s+")

Term = tuple[str, ...]  # the levels of one scope term ('+' and a last '#' included)
ScopeQuery = list[tuple[Term, ...]]  # any conjunction, all of its terms


def parse_scope_q(text: str) -> ScopeQuery:
    """``text`` in disjunctive form."""
    if len(text) > MAX_LENGTH:
        raise problem(f"a scope query is at most {MAX_LENGTH} characters", "scopeQ")
    tokens = [t for t in _TOKENS.findall(text) if not t.isspace()]
    if not tokens:
        raise problem("an empty scope query", "scopeQ")

    def fail(message: str) -> Exception:
        return problem(f"{message} in the scope query {text!r}", "scopeQ")

    found: ScopeQuery = parse_dnf(
        tokens, (",",), lambda token: (_term(token, fail),), lambda a, b: a + b, fail, MAX_TERMS, "a scope"
    )
    if sum(len(c) for c in found) > MAX_TERMS:
        raise fail(f"more than {MAX_TERMS} scopes")
    return found


def _term(token: str, fail: Callable[[str], Exception]) -> Term:
    if not token.startswith("/") or token.endswith("/"):
        raise fail(f"{token!r} is not a scope: '/' then levels separated by '/'")
    levels = tuple(token[1:].split("/"))
    for index, level in enumerate(levels):
        if level == "#" and index == len(levels) - 1:
            continue
        if level != "+" and not _LEVEL.match(level):
            raise fail(
                f"{level!r} in {token!r} is not a level: a letter then letters, digits or '_', '+' or a last '#'"
            )
    return levels


@functools.lru_cache(maxsize=256)
def compiled(text: str) -> ScopeQuery:
    """A stored scopeQ (a subscription's), parsed once."""
    return parse_scope_q(text)


def term_matches(term: Term, scope: str) -> bool:
    levels = scope.strip("/").split("/")
    if term and term[-1] == "#":
        head = term[:-1]
        return len(levels) >= len(head) and _levels_match(head, levels[: len(head)])
    return len(levels) == len(term) and _levels_match(term, levels)


def _levels_match(term: Term, levels: list[str]) -> bool:
    return all(want == "+" or want == have for want, have in zip(term, levels, strict=True))


def scope_matches(query: ScopeQuery, scopes: Iterable[str]) -> bool:
    """Whether an entity of these scopes is selected: every term of one conjunction matches one of them."""
    have = list(scopes)
    if not have:
        return False
    return any(all(any(term_matches(t, s) for s in have) for t in conjunction) for conjunction in query)
