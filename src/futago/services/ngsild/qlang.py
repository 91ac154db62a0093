"""The NGSI-LD query language (GS CIM 009 clause 4.9): ``q`` parsed into a small tree and evaluated on entities.

Grammar, as implemented::

    query    := term (( ';' | '|' ) term)*          ';' is AND, '|' is OR; AND binds tighter
    term     := '(' query ')' | '!' path | path [op value]
    path     := name ('.' name)* ('[' key ']')*     dots: sub-attributes (or members of a compound value),
                                                    brackets: members of a compound value (or a language map)
    op       := '==' | '!=' | '>' | '>=' | '<' | '<=' | '~=' | '!~='
    value    := scalar | scalar '..' scalar | scalar (',' scalar)+
    scalar   := number | "quoted string" | true | false | date/time | URI (unquoted)

A name ending a dotted path may be ``observedAt``, ``unitCode``, ``createdAt``, ``modifiedAt`` or ``datasetId``:
the instance's metadata. A Property is tested on its default instance (the one without ``datasetId``), a
Relationship on every instance; an array value matches when one of its elements does. Regular expressions run
on Python's engine, made safe by construction (see ``safe_regex``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from futago.core.problems import Problem
from futago.services.ngsild.attributes import VALUE_MEMBER, Instance
from futago.services.ngsild.context import TermMap
from futago.services.ngsild.errors import BadRequestData

MAX_Q = 4000  # characters of a q
MAX_DEPTH = 16  # nested parentheses
MAX_REGEX = 200  # characters of a pattern
MAX_UNBOUNDED = 3  # *, + and {n,} in one pattern
REGEX_SUBJECT = 1000  # characters of a value a pattern is run on
METADATA = frozenset({"observedAt", "unitCode", "createdAt", "modifiedAt", "datasetId"})
OPS = ("==", "!=", ">=", "<=", ">", "<", "~=", "!~=")
_NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$")
_NAME = re.compile(r"[^\s;|()\[\]{}=!<>~.\"',]+")
_MISSING = object()


def problem(detail: str, parameter: str = "q") -> BadRequestData:
    """A bad query parameter: a BadRequestData pointing at it."""
    return BadRequestData(f"{parameter}: {detail}", [Problem(f"/{parameter}", detail)])


@dataclass(frozen=True, slots=True)
class DateTimeValue:
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Word:
    """An unquoted value (a URI, a vocabulary term): equal to a string holding it as written or expanded."""

    text: str
    iri: str


@dataclass(frozen=True, slots=True)
class Range:
    low: Any
    high: Any


@dataclass(slots=True)
class Path:
    attr: str  # the expanded attribute IRI
    subs: list[str] = field(default_factory=list)  # dotted names (sub-attributes, expanded; or compound members)
    raw_subs: list[str] = field(default_factory=list)  # the dotted names as written
    keys: list[str] = field(default_factory=list)  # bracketed members of a compound value


@dataclass(slots=True)
class Term:
    path: Path
    op: str | None = None  # None: the attribute exists; "!": it does not
    value: Any = None  # a scalar, a Range, a list of scalars, or a compiled pattern
    is_list: bool = False


@dataclass(slots=True)
class Junction:
    kind: str  # "and" | "or"
    parts: list[Node]


Node = Term | Junction


# parsing ------------------------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, terms: TermMap, expand: frozenset[str] | None = None) -> None:
        self.text = text
        self.pos = 0
        self.terms = terms
        self.expand = expand  # expandValues: the attributes whose unquoted values are expanded (None: all)
        self.literal = False  # the value being read is compared as written (its attribute is not in expand)

    def fail(self, message: str) -> BadRequestData:
        return problem(f"{message} at character {self.pos + 1} of {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def query(self, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise self.fail(f"more than {MAX_DEPTH} nested parentheses")
        ors = [self.conjunction(depth)]
        while self.peek() == "|":
            self.pos += 1
            ors.append(self.conjunction(depth))
        return ors[0] if len(ors) == 1 else Junction("or", ors)

    def conjunction(self, depth: int) -> Node:
        ands = [self.term(depth)]
        while self.peek() == ";":
            self.pos += 1
            ands.append(self.term(depth))
        return ands[0] if len(ands) == 1 else Junction("and", ands)

    def term(self, depth: int) -> Node:
        if self.peek() == "(":
            self.pos += 1
            inner = self.query(depth + 1)
            if self.peek() != ")":
                raise self.fail("a ')' is missing")
            self.pos += 1
            return inner
        if self.peek() == "!" and not self.text.startswith(("!=", "!~="), self.pos):
            self.pos += 1
            return Term(self.path(), "!")
        path = self.path()
        op = next((o for o in OPS if self.text.startswith(o, self.pos)), None)
        if op is None:
            if self.peek() not in ("", ";", "|", ")"):
                raise self.fail(f"an operator ({', '.join(OPS)}) was expected")
            return Term(path)
        self.pos += len(op)
        if op in ("~=", "!~="):
            return Term(path, op, safe_regex(self.regex_text()))
        return self.comparison(path, op)

    def name(self, what: str) -> str:
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self.fail(f"{what} was expected")
        self.pos = match.end()
        return match.group(0)

    def path(self) -> Path:
        raw = self.name("an attribute name")
        if self.peek() == "{":  # 4.9's linked-entity terms: refused loudly rather than matching nothing
            raise self.fail(f"a query on the attributes of the entity {raw!r} links to ({raw}{{...}}) is not supported")
        path = Path(self.terms.expand(raw))
        while self.peek() == ".":
            self.pos += 1
            sub = self.name("a sub-attribute name")
            path.raw_subs.append(sub)
            path.subs.append(sub if sub in METADATA else self.terms.expand(sub))
        while self.peek() == "[":
            self.pos += 1
            end = self.text.find("]", self.pos)
            if end <= self.pos:
                raise self.fail("a member name and ']' were expected")
            path.keys.append(self.text[self.pos : end])
            self.pos = end + 1
        return path

    def value_text(self) -> str:
        """The text of a value: up to the next ';', '|' or ')' outside quotes."""
        start, quoted = self.pos, False
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and quoted:
                self.pos += 2
                continue
            if char == '"':
                quoted = not quoted
            elif not quoted and char in ";|)":
                break
            self.pos += 1
        if quoted:
            raise self.fail("a closing '\"' is missing")
        return self.text[start : self.pos]

    def regex_text(self) -> str:
        """A pattern: quoted, or up to a ';' or '|' outside its own parentheses (quote one holding those)."""
        if self.peek() == '"':
            return _unquote(self.value_text(), self)
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in ";|" and depth == 0:
                break
            self.pos += 1
        return self.text[start : self.pos]

    def comparison(self, path: Path, op: str) -> Term:
        self.literal = self.expand is not None and path.attr not in self.expand
        text = self.value_text()
        if not text:
            raise self.fail(f"a value after {op!r} was expected")
        items = _split(text, ",")
        if len(items) > 1:
            if op not in ("==", "!="):
                raise self.fail("a list of values goes with == or != only")
            return Term(path, op, [self.scalar(i) for i in items], is_list=True)
        bounds = _split(text, "..")
        if len(bounds) == 2:
            if op not in ("==", "!="):
                raise self.fail("a range goes with == or != only")
            return Term(path, op, Range(self.scalar(bounds[0]), self.scalar(bounds[1])))
        return Term(path, op, self.scalar(text))

    def scalar(self, text: str) -> Any:
        text = text.strip()
        if not text:
            raise self.fail("an empty value")
        if text.startswith('"'):
            return _unquote(text, self)
        if text in ("true", "false"):
            return text == "true"
        if _NUMBER.match(text):
            number = float(text)
            return int(text) if number.is_integer() and re.fullmatch(r"-?\d+", text) else number
        if _DATE.match(text):
            at = parse_datetime(text)
            if at is None:
                raise self.fail(f"{text!r} is not a valid date or date-time")
            return DateTimeValue(text, at)
        if any(c in text for c in " \"'<>[]{}"):
            raise self.fail(f'{text!r} is not a value: quote strings ("...")')
        return Word(text, text if self.literal else self.terms.expand(text))  # a URI or a term


def _unquote(text: str, parser: _Parser) -> str:
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise parser.fail(f"{text!r} is not a quoted string")
    return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quotes."""
    parts, quoted, start, i = [], False, 0, 0
    while i < len(text):
        if text[i] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def parse_q(text: str, terms: TermMap, expand: frozenset[str] | None = None) -> Node:
    """``q`` as a tree; a malformed one is a BadRequestData pointing at ``/q``. ``expand`` (GET /entities'
    ``expandValues``, 6.4.3.2, as expanded attribute IRIs) names the attributes whose unquoted values are expanded
    by the @context before comparing; the others compare as written. None: every one is (the subscription door)."""
    if len(text) > MAX_Q:
        raise problem(f"at most {MAX_Q} characters")
    parser = _Parser(text.strip(), terms, expand)
    if not parser.text:
        raise problem("an empty query")
    node = parser.query()
    if parser.pos != len(parser.text):
        raise parser.fail("unexpected text")
    return node


def parse_datetime(text: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# safe regular expressions -------------------------------------------------------------------------------------
_FORBIDDEN = re.compile(r"\\[1-9]|\(\?P=|\(\?<?[=!]|\(\?\(")


def safe_regex(pattern: str) -> re.Pattern[str]:
    """Compile a caller's pattern so that it cannot backtrack for ever: bounded length, no backreferences, no
    lookaround, no quantified group holding a quantifier or an alternation ((a+)+, (a|a)*), few unbounded
    quantifiers; it is run on the first ``REGEX_SUBJECT`` characters of a value."""
    if not pattern:
        raise problem("an empty regular expression")
    if len(pattern) > MAX_REGEX:
        raise problem(f"a regular expression has at most {MAX_REGEX} characters")
    if _FORBIDDEN.search(pattern):
        raise problem("backreferences and lookaround are not allowed in a regular expression")
    _check_nesting(pattern)
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise problem(f"not a regular expression: {exc}") from exc


def safe_id_pattern(pattern: str, pointer: str = "/idPattern") -> re.Pattern[str]:
    """An idPattern (of a query or of a subscription's entity selector) under the same bounds as ``q``'s regular
    expressions: it is matched against every candidate id, so it must not backtrack for ever either."""
    try:
        return safe_regex(pattern)
    except BadRequestData as exc:
        detail = str(exc).removeprefix("q: ")
        raise BadRequestData(f"{pointer.lstrip('/')}: {detail}", [Problem(pointer, detail)]) from None


def _check_nesting(pattern: str) -> None:
    stack: list[bool] = []  # per open group: whether it holds a quantifier or an alternation
    unbounded, i, in_class = 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            stack.append(False)
        elif char == ")" and stack:
            risky = stack.pop()
            if i + 1 < len(pattern) and pattern[i + 1] in "*+?{" and risky:
                raise problem("a quantified group may not hold a quantifier or '|' (catastrophic backtracking)")
            if stack:
                stack[-1] = stack[-1] or risky
        elif char in "*+?{|":
            if char in "*+" or (char == "{" and re.match(r"\{\d*,\}", pattern[i:])):
                unbounded += 1
            if stack:
                stack[-1] = True
        i += 1
    if unbounded > MAX_UNBOUNDED:
        raise problem(f"a regular expression may hold at most {MAX_UNBOUNDED} unbounded quantifiers (*, +, {{n,}})")


# evaluation ---------------------------------------------------------------------------------------------------
Attrs = dict[str, list[Instance]]


def matches(node: Node, attrs: Attrs) -> bool:
    if isinstance(node, Junction):
        if node.kind == "and":
            return all(matches(p, attrs) for p in node.parts)
        return any(matches(p, attrs) for p in node.parts)
    if node.op in _ORDERING and _linking(node.path, attrs):
        return False  # 4.9: a Relationship's object is only equal or unequal, never ordered
    values = targets(node.path, attrs)
    if node.op is None:
        return bool(values)
    if node.op == "!":
        return not values
    if not values:
        return False
    if node.op == "!=" and _in_languages(node.path, attrs):  # 4.9: no language's text may equal it
        return all(_holds(node, v) for v in values)
    return any(_holds(node, v) for v in values)


_ORDERING = frozenset({"<", "<=", ">", ">="})


def _kind(path: Path, attrs: Attrs) -> str | None:
    """The kind of attribute a path without dotted members names (Relationship, LanguageProperty, ...)."""
    instances = attrs.get(path.attr)
    return str(instances[0].get("type")) if instances and not path.subs else None


def _linking(path: Path, attrs: Attrs) -> bool:
    return _kind(path, attrs) in ("Relationship", "ListRelationship")


def _in_languages(path: Path, attrs: Attrs) -> bool:
    return _kind(path, attrs) == "LanguageProperty"


def targets(path: Path, attrs: Attrs) -> list[Any]:
    """Every value ``path`` reaches in an entity (none: the attribute is not there)."""
    instances = attrs.get(path.attr)
    if not instances:
        return []
    tested = instances if instances[0].get("type") in ("Relationship", "ListRelationship") else _default(instances)
    found: list[Any] = []
    for instance in tested:
        found.extend(_walk(instance, path))
    return [v for v in found if v is not _MISSING]


def _default(instances: list[Instance]) -> list[Instance]:
    return [i for i in instances if "datasetId" not in i][:1]


def _walk(instance: Instance, path: Path) -> list[Any]:
    current: Any = instance
    is_instance = True
    for sub, raw in zip(path.subs, path.raw_subs, strict=True):
        if is_instance and sub in METADATA:
            current, is_instance = current.get(sub, _MISSING), False
        elif is_instance and sub in (current.get("sub") or {}):
            current = _default(current["sub"][sub])[:1]
            current = current[0] if current else _MISSING
        elif is_instance:
            current, is_instance = _member(_value(current), raw), False
        else:
            current = _member(current, raw)
        if current is _MISSING:
            return []
    value = _value(current) if is_instance else current
    if (
        is_instance
        and current.get("type") == "LanguageProperty"
        and path.keys in ([], ["*"])
        and isinstance(value, dict)
    ):
        return list(value.values())  # any language's text ([*] says so); name[ja] tests one
    for key in path.keys:
        value = _member(value, key)
        if value is _MISSING:
            return []
    return [value]


def _value(instance: Instance) -> Any:
    member = VALUE_MEMBER.get(instance.get("type", ""), "value")
    return instance.get(member, _MISSING)


def _member(value: Any, key: str) -> Any:
    return value.get(key, _MISSING) if isinstance(value, dict) else _MISSING


def _holds(term: Term, value: Any) -> bool:
    op = term.op or "=="
    if op in ("~=", "!~="):
        found = isinstance(value, str) and term.value.search(value[:REGEX_SUBJECT]) is not None
        if isinstance(value, list):
            found = any(isinstance(v, str) and term.value.search(v[:REGEX_SUBJECT]) for v in value)
        return found == (op == "~=")
    if op == "!=":
        return not _equal_any(term, value)
    if op == "==":
        return _equal_any(term, value)
    elements = value if isinstance(value, list) else [value]
    return any(_order(op, e, term.value) for e in elements)


def _equal_any(term: Term, value: Any) -> bool:
    elements = value if isinstance(value, list) else [value]
    if isinstance(term.value, Range):
        low, high = term.value.low, term.value.high
        return any(_order(">=", e, low) and _order("<=", e, high) for e in elements)
    wanted = term.value if term.is_list else [term.value]
    if isinstance(value, dict) and "@value" in value:  # a typed literal {"@type": "DateTime", "@value": ...}
        elements = [value["@value"]]
    return any(_equal(e, w) for e in elements for w in wanted)


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides in one ordered kind (numbers, date-times, strings), or None when they do not compare."""
    if isinstance(right, Word):
        if not isinstance(left, str):
            return None
        return (left, right.iri) if left == right.iri else (left, right.text)
    if isinstance(right, DateTimeValue):
        at = parse_datetime(left) if isinstance(left, str) else None
        return (at, right.at) if at is not None else None
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left, right
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


def _equal(left: Any, right: Any) -> bool:
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _order(op: str, left: Any, right: Any) -> bool:
    pair = _comparable(left, right)
    if pair is None or isinstance(pair[0], bool):
        return False
    return _ORDER[op](pair[0], pair[1])


def conjuncts(node: Node) -> list[Node]:
    """The top-level AND parts of a query (what a store may narrow by)."""
    return node.parts if isinstance(node, Junction) and node.kind == "and" else [node]


def attributes_of(node: Node) -> set[str]:
    """Every attribute IRI a query names."""
    if isinstance(node, Junction):
        return set().union(*(attributes_of(p) for p in node.parts))
    return {node.path.attr}
