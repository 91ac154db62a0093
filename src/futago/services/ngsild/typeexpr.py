"""NGSI-LD type expressions (GS CIM 009 clause 4.17): ``type=A,B`` / ``A|B`` (any), ``A;B`` (all), parentheses.

An expression becomes a disjunction of conjunctions: a list of sets of expanded type IRIs, an entity matching
when its types hold every IRI of one set. A store narrows by the models of every IRI named (no type expression
can ask for a type to be absent), and the exact test runs on each entity's types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from futago.services.ngsild.dnf import parse_dnf
from futago.services.ngsild.qlang import problem

MAX_TYPES = 100  # names in one expression
MAX_LENGTH = 2000  # characters of one expression (bounded before it is tokenized)
_NAME = re.compile(r"dtmi:[A-Za-z0-9_:]+;\d+(?:\.\d+)?|[^\s;|,()]+")
# A DTMI (a type with a DTDL model) holds ';' before its version: it is one name, not an AND.
_TOKENS = re.compile(r"dtmi:[A-Za-z0-9_:]+;\d+(?:\.\d+)?|[;|,()]|[^\s;|,()]+|\s+")

TypeSets = list[frozenset[str]]


def parse_types(text: str, expand: Callable[[str], str]) -> TypeSets:
    """``text`` in disjunctive form; a malformed expression is a BadRequestData pointing at ``/type``."""
    if len(text) > MAX_LENGTH:
        raise problem(f"a type expression is at most {MAX_LENGTH} characters", "type")
    tokens = _TOKENS.findall(text)
    tokens = [t for t in tokens if not t.isspace()]
    if not tokens:
        raise problem("an empty type expression", "type")

    def fail(message: str) -> Exception:
        return problem(f"{message} in the type expression {text!r}", "type")

    def leaf(token: str) -> frozenset[str]:
        if not _NAME.fullmatch(token):
            raise fail(f"a type name was expected, not {token!r}")
        return frozenset([expand(token)])

    sets: TypeSets = parse_dnf(tokens, ("|", ","), leaf, lambda a, b: a | b, fail, MAX_TYPES, "a type name")
    if sum(len(s) for s in sets) > MAX_TYPES:
        raise fail(f"more than {MAX_TYPES} type names")
    return sets


def named(sets: TypeSets) -> list[str]:
    """Every type IRI an expression names, in a stable order."""
    return sorted(set().union(*sets)) if sets else []


def type_matches(sets: TypeSets, types: Iterable[str]) -> bool:
    have = set(types)
    return any(s <= have for s in sets)
