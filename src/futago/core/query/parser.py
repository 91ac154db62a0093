"""A recursive-descent parser for the documented subset of the ADT query language.

Hand-written rather than generated so that every error can say, in plain words, what
was expected at which line and column, and so that nesting depth is bounded (random
text must only ever produce InvalidInput, never a RecursionError or a hang).
"""

from __future__ import annotations

import functools
from typing import Any, NoReturn

from futago.core.query import spatial
from futago.core.query.ast import (
    And,
    Call,
    Column,
    Compare,
    CompareOp,
    Exists,
    Expr,
    InList,
    IsOfModel,
    Join,
    LiteralValue,
    Not,
    Or,
    Path,
    Pos,
    Query,
    Select,
)
from futago.core.query.errors import fail_at
from futago.core.query.lexer import Kind, Token, tokenize

MAX_DEPTH = 40
MAX_JOINS = 10

RESERVED = frozenset(
    {
        "SELECT", "TOP", "FROM", "DIGITALTWINS", "RELATIONSHIPS", "JOIN", "RELATED", "WHERE",
        "AND", "OR", "NOT", "IN", "NIN", "AS", "TRUE", "FALSE", "NULL", "COUNT",
    }
)  # fmt: skip

# Function name -> (min args, max args). IS_OF_MODEL is parsed on its own: its arguments
# are a collection name, a model id and a bare keyword, not expressions.
FUNCTIONS: dict[str, tuple[int, int]] = {
    "IS_DEFINED": (1, 1),
    "IS_NULL": (1, 1),
    "IS_BOOL": (1, 1),
    "IS_NUMBER": (1, 1),
    "IS_STRING": (1, 1),
    "IS_OBJECT": (1, 1),
    "IS_PRIMITIVE": (1, 1),
    "STARTSWITH": (2, 2),
    "ENDSWITH": (2, 2),
    "CONTAINS": (2, 2),
    "ST_WITHIN": (2, 2),
    "ST_DISTANCE": (2, 2),
    "ARRAY_CONTAINS": (2, 3),
    "ARRAY_LENGTH": (1, 1),
}

_COMPARE_OPS: dict[str, CompareOp] = {
    "=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
}  # fmt: skip


def parse(text: str) -> Query:
    """Parse ``text`` into a Query whose collection names are all checked."""
    if not isinstance(text, str):
        fail_at(1, 1, "query", "expected the query as a string")
    return _parse_cached(text)


@functools.lru_cache(maxsize=512)
def _parse_cached(text: str) -> Query:
    # dashboards re-send the same few queries for every page; parsing them once is enough
    return _Resolver(_Parser(text).query()).resolve()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind is not Kind.END:
            self.i += 1
        return tok

    def error(self, tok: Token, expected: str) -> NoReturn:
        fail_at(tok.line, tok.column, f"unexpected {tok.describe()}", f"expected {expected}")

    def at_keyword(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind is Kind.WORD and tok.text.upper() == word

    def at_punct(self, text: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok.kind is Kind.PUNCT and tok.text == text

    def expect_keyword(self, word: str, expected: str | None = None) -> Token:
        if not self.at_keyword(word):
            self.error(self.peek(), expected or word)
        return self.advance()

    def expect_punct(self, text: str, expected: str | None = None) -> Token:
        if not self.at_punct(text):
            self.error(self.peek(), expected or f"'{text}'")
        return self.advance()

    def name(self, what: str) -> Token:
        tok = self.peek()
        if tok.kind is not Kind.WORD or tok.text.upper() in RESERVED:
            self.error(tok, what)
        return self.advance()

    def optional_alias(self) -> Token | None:
        if self.at_keyword("AS"):
            self.advance()
            return self.name("a name after AS")
        tok = self.peek()
        if tok.kind is Kind.WORD and tok.text.upper() not in RESERVED:
            return self.advance()
        return None

    def enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            fail_at(tok.line, tok.column, "nesting too deep", f"expected at most {MAX_DEPTH} levels")

    # -- statement -----------------------------------------------------
    def query(self) -> Query:
        self.expect_keyword("SELECT")
        top: int | None = None
        if self.at_keyword("TOP"):
            self.advance()
            self.expect_punct("(", "'(' after TOP")
            tok = self.peek()
            if tok.kind is not Kind.NUMBER or not isinstance(tok.value, int) or tok.value < 1:
                self.error(tok, "a positive whole number inside TOP( )")
            top = int(self.advance().value)  # type: ignore[call-overload]
            self.expect_punct(")", "')' after the TOP count")
        select = self.select_list(top)
        self.expect_keyword("FROM", "FROM" if select.kind != "columns" else "',' or FROM")
        if self.at_keyword("RELATIONSHIPS"):
            self.error(self.peek(), "DIGITALTWINS (FROM RELATIONSHIPS is not supported)")
        self.expect_keyword("DIGITALTWINS")
        root_tok = self.optional_alias()
        joins: list[Join] = []
        while self.at_keyword("JOIN"):
            joins.append(self.join())
            if len(joins) > MAX_JOINS:
                self.error(self.peek(), f"at most {MAX_JOINS} JOINs")
        where: Expr | None = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.or_expr()
        if self.peek().kind is not Kind.END:
            self.error(self.peek(), "JOIN, WHERE or end of query" if where is None else "AND, OR or end of query")
        return Query(self.text, select, root_tok.text if root_tok else None, tuple(joins), where)

    def select_list(self, top: int | None) -> Select:
        if self.at_punct("*"):
            self.advance()
            return Select("star", top)
        if self.at_keyword("COUNT") and self.at_punct("(", 1):
            tok = self.advance()
            self.advance()
            self.expect_punct(")", "')': COUNT takes no arguments")
            if top is not None:
                self.error(tok, "either TOP or COUNT(), not both")
            return Select("count")
        columns: list[Column] = []
        while True:
            path = self.path("'*', COUNT() or a collection or property to project")
            alias = None
            if self.at_keyword("AS"):
                self.advance()
                alias = self.name("a column name after AS").text
            columns.append(Column(path, alias or ""))
            if not self.at_punct(","):
                break
            self.advance()
        return Select("columns", top, tuple(columns))

    def join(self) -> Join:
        start = self.advance()
        target = self.name("a collection name after JOIN")
        self.expect_keyword("RELATED", "RELATED")
        source = self.name("a collection name after RELATED")
        self.expect_punct(".", "'.' and a relationship name after the collection")
        rel = self.peek()
        if rel.kind is not Kind.WORD:
            self.error(rel, "a relationship name")
        self.advance()
        rel_alias = self.optional_alias()
        return Join(
            target.text,
            source.text,
            rel.text,
            rel_alias.text if rel_alias else None,
            Pos(start.line, start.column),
        )

    # -- expressions ---------------------------------------------------
    def or_expr(self) -> Expr:
        first = self.and_expr()
        items = [first]
        while self.at_keyword("OR"):
            self.advance()
            items.append(self.and_expr())
        return first if len(items) == 1 else Or(tuple(items), _pos_of(first))

    def and_expr(self) -> Expr:
        first = self.not_expr()
        items = [first]
        while self.at_keyword("AND"):
            self.advance()
            items.append(self.not_expr())
        return first if len(items) == 1 else And(tuple(items), _pos_of(first))

    def not_expr(self) -> Expr:
        if self.at_keyword("NOT"):
            tok = self.advance()
            self.enter(tok)
            inner = self.not_expr()
            self.depth -= 1
            return Not(inner, Pos(tok.line, tok.column))
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.operand()
        tok = self.peek()
        if tok.kind is Kind.PUNCT and tok.text in _COMPARE_OPS:
            self.advance()
            right = self.operand()
            return Compare(_COMPARE_OPS[tok.text], left, right, _pos_of(left))
        negate = None
        if self.at_keyword("IN"):
            negate = False
            self.advance()
        elif self.at_keyword("NIN"):
            negate = True
            self.advance()
        elif self.at_keyword("NOT") and self.at_keyword("IN", 1):
            negate = True
            self.advance()
            self.advance()
        if negate is None:
            return left
        if not self.at_punct("["):
            self.error(self.peek(), "a list of literals in [ ] after IN/NIN")
        options = self.json_value()
        return InList(left, tuple(options), negate, _pos_of(left))

    def operand(self) -> Expr:
        tok = self.peek()
        if tok.kind is Kind.PUNCT and tok.text == "(":
            self.advance()
            self.enter(tok)
            inner = self.or_expr()
            self.depth -= 1
            self.expect_punct(")", "')' or AND/OR")
            return inner
        if tok.kind in (Kind.NUMBER, Kind.STRING) or (tok.kind is Kind.PUNCT and tok.text in "-[{"):
            return LiteralValue(self.json_value(), Pos(tok.line, tok.column))
        if tok.kind is Kind.WORD and tok.text.upper() in ("TRUE", "FALSE", "NULL"):
            return LiteralValue(self.json_value(), Pos(tok.line, tok.column))
        if tok.kind is Kind.WORD and self.at_punct("(", 1):
            return self.call()
        return self.path("a property, literal, function or '('")

    def path(self, expected: str) -> Path:
        first = self.peek()
        if first.kind is Kind.DOLLAR or (first.kind is Kind.WORD and first.text.upper() not in RESERVED):
            self.advance()
        else:
            self.error(first, expected)
        segments = [first.text]
        while self.at_punct("."):
            self.advance()
            seg = self.peek()
            if seg.kind not in (Kind.WORD, Kind.DOLLAR):
                self.error(seg, "a property name after '.'")
            segments.append(self.advance().text)
        return Path(None, tuple(segments), Pos(first.line, first.column))

    def call(self) -> Expr:
        tok = self.advance()
        name = tok.text.upper()
        self.advance()  # "("
        if name == "IS_OF_MODEL":
            return self.is_of_model(tok)
        if name == "EXISTS":
            return self.exists(tok)
        if name not in FUNCTIONS:
            known = ", ".join(["IS_OF_MODEL", "EXISTS", *FUNCTIONS])
            fail_at(tok.line, tok.column, f"unknown function {tok.text!r}", f"expected one of {known}")
        self.enter(tok)
        args: list[Expr] = []
        if not self.at_punct(")"):
            while True:
                args.append(self.or_expr())
                if not self.at_punct(","):
                    break
                self.advance()
        self.expect_punct(")", "',' or ')'")
        self.depth -= 1
        low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            count = str(low) if low == high else f"{low} or {high}"
            fail_at(tok.line, tok.column, f"{name} with {len(args)} argument(s)", f"expected {count}")
        self.check_spatial(name, args, tok)
        if name == "ARRAY_CONTAINS" and len(args) == 3:
            partial = args[2]
            if not isinstance(partial, LiteralValue) or not isinstance(partial.value, bool):
                pos = _pos_of(partial)
                fail_at(pos.line, pos.column, "ARRAY_CONTAINS argument 3", "expected true or false (partial match)")
        return Call(name, tuple(args), Pos(tok.line, tok.column))

    def exists(self, tok: Token) -> Expr:
        """``EXISTS(SELECT VALUE a FROM a IN T.array [WHERE ...])``: the "(" is already read."""
        self.enter(tok)
        form = "SELECT VALUE <name> FROM <name> IN <array> [WHERE ...] inside EXISTS( )"
        self.expect_keyword("SELECT", form)
        self.expect_keyword("VALUE", form)
        var = self.name("a name for one element of the array")
        self.expect_keyword("FROM", "FROM")
        again = self.name(f"{var.text} (the name after SELECT VALUE)")
        if again.text != var.text:
            self.error(again, f"{var.text} (the name after SELECT VALUE)")
        self.expect_keyword("IN", "IN and the array to look into")
        array = self.path("an array property, such as T.genericAttributes")
        where: Expr | None = None
        if self.at_keyword("WHERE"):
            self.advance()
            where = self.or_expr()
        self.expect_punct(")", "')' closing EXISTS" if where is None else "AND, OR or ')' closing EXISTS")
        self.depth -= 1
        return Exists(var.text, array, where, Pos(tok.line, tok.column))

    def check_spatial(self, name: str, args: list[Expr], tok: Token) -> None:
        if name not in ("ST_WITHIN", "ST_DISTANCE"):
            return
        shape = args[1]
        if not isinstance(shape, LiteralValue):
            fail_at(tok.line, tok.column, f"{name} argument 2", "expected a literal bbox, GeoJSON or [lon, lat]")
        try:
            if name == "ST_WITHIN":
                spatial.region_from_literal(shape.value)
            else:
                spatial.point_from_literal(shape.value)
        except ValueError as exc:
            fail_at(shape.pos.line, shape.pos.column, f"invalid {name} argument", f"expected {exc}")

    def is_of_model(self, tok: Token) -> Expr:
        alias: str | None = None
        if self.peek().kind is Kind.WORD:
            alias = self.name("a collection name or a model id string").text
            self.expect_punct(",", "',' and a model id string")
        model = self.peek()
        if model.kind is not Kind.STRING:
            self.error(model, "a model id string such as 'dtmi:example:Sensor;1'")
        self.advance()
        exact = False
        if self.at_punct(","):
            self.advance()
            if not self.at_keyword("EXACT"):
                self.error(self.peek(), "exact")
            self.advance()
            exact = True
        self.expect_punct(")", "')' or ', exact'")
        return IsOfModel(alias, model.text, exact, Pos(tok.line, tok.column))

    def json_value(self) -> Any:
        tok = self.peek()
        if tok.kind in (Kind.STRING, Kind.NUMBER):
            return self.advance().value
        if tok.kind is Kind.PUNCT and tok.text == "-":
            self.advance()
            num = self.peek()
            if num.kind is not Kind.NUMBER:
                self.error(num, "a number after '-'")
            return -self.advance().value  # type: ignore[operator]
        if tok.kind is Kind.WORD and tok.text.upper() in ("TRUE", "FALSE", "NULL"):
            self.advance()
            return {"TRUE": True, "FALSE": False, "NULL": None}[tok.text.upper()]
        if tok.kind is Kind.PUNCT and tok.text in "[{":
            self.advance()
            self.enter(tok)
            result = self.json_array() if tok.text == "[" else self.json_object()
            self.depth -= 1
            return result
        self.error(tok, "a literal (number, string, true, false, null, [ ] or { })")

    def json_array(self) -> list[Any]:
        items: list[Any] = []
        if self.at_punct("]"):
            self.advance()
            return items
        while True:
            items.append(self.json_value())
            if self.at_punct("]"):
                self.advance()
                return items
            self.expect_punct(",", "',' or ']'")

    def json_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        if self.at_punct("}"):
            self.advance()
            return obj
        while True:
            key = self.peek()
            if key.kind is not Kind.STRING:
                self.error(key, "a quoted member name")
            self.advance()
            self.expect_punct(":", "':' after the member name")
            obj[key.text] = self.json_value()
            if self.at_punct("}"):
                self.advance()
                return obj
            self.expect_punct(",", "',' or '}'")


def _pos_of(expr: Expr) -> Pos:
    return expr.pos


class _Resolver:
    """Binds every path to a collection once FROM and JOIN are known (SELECT comes first)."""

    def __init__(self, query: Query) -> None:
        self.query = query
        self.twins: dict[str, Pos] = {}
        self.relationships: dict[str, Pos] = {}
        self.elements: list[str] = []  # EXISTS element names in scope, innermost last

    def declare(self, name: str, pos: Pos, relationship: bool) -> None:
        if name in self.twins or name in self.relationships:
            fail_at(pos.line, pos.column, f"collection {name!r} declared twice", "expected a new name")
        (self.relationships if relationship else self.twins)[name] = pos

    def resolve(self) -> Query:
        q = self.query
        if q.root is not None:
            self.declare(q.root, Pos(1, 1), False)
        for join in q.joins:
            if q.root is None:
                fail_at(join.pos.line, join.pos.column, "JOIN", "expected FROM DIGITALTWINS <name> before JOIN")
            if join.source not in self.twins:
                fail_at(
                    join.pos.line,
                    join.pos.column,
                    f"unknown collection {join.source!r}",
                    f"expected one of {', '.join(self.twins)}",
                )
            self.declare(join.target, join.pos, False)
            if join.rel_alias is not None:
                self.declare(join.rel_alias, join.pos, True)
        select = q.select
        if select.kind == "star" and q.joins:
            fail_at(1, 1, "SELECT *", "expected named collections (SELECT T, X) in a query with JOIN")
        columns: list[Column] = []
        seen: set[str] = set()
        for col in select.columns:
            path = self.path(col.path)
            name = col.name or (path.segments[-1] if path.segments else str(path.alias))
            if name in seen:
                fail_at(path.pos.line, path.pos.column, f"duplicate column {name!r}", "expected AS <new name>")
            seen.add(name)
            columns.append(Column(path, name))
        where = self.expr(q.where) if q.where is not None else None
        return Query(q.text, Select(select.kind, select.top, tuple(columns)), q.root, q.joins, where)

    def path(self, path: Path) -> Path:
        head, rest = path.segments[0], path.segments[1:]
        if head in self.elements:  # an EXISTS element shadows a bare property of the same name
            return Path(head, rest, path.pos)
        if self.query.root is None:
            return path
        if head not in self.twins and head not in self.relationships:
            known = ", ".join([*self.twins, *self.relationships])
            fail_at(path.pos.line, path.pos.column, f"unknown collection {head!r}", f"expected one of {known}")
        return Path(head, rest, path.pos)

    def value_path(self, path: Path) -> Path:
        resolved = self.path(path)
        if not resolved.segments and resolved.alias not in self.elements:
            fail_at(path.pos.line, path.pos.column, f"collection {resolved.alias!r}", "expected a property of it")
        return resolved

    def expr(self, expr: Expr) -> Expr:
        if isinstance(expr, Path):
            return self.value_path(expr)
        if isinstance(expr, Compare):
            return Compare(expr.op, self.expr(expr.left), self.expr(expr.right), expr.pos)
        if isinstance(expr, And):
            return And(tuple(self.expr(e) for e in expr.items), expr.pos)
        if isinstance(expr, Or):
            return Or(tuple(self.expr(e) for e in expr.items), expr.pos)
        if isinstance(expr, Not):
            return Not(self.expr(expr.item), expr.pos)
        if isinstance(expr, InList):
            return InList(self.expr(expr.value), expr.options, expr.negate, expr.pos)
        if isinstance(expr, IsOfModel):
            return self.is_of_model(expr)
        if isinstance(expr, Exists):
            return self.exists(expr)
        if isinstance(expr, Call):
            args = tuple(self.expr(a) for a in expr.args)
            if expr.name == "IS_DEFINED" and not isinstance(args[0], Path):
                fail_at(expr.pos.line, expr.pos.column, "IS_DEFINED argument", "expected a property path")
            if expr.name.startswith("ST_"):
                target = args[0]
                if not isinstance(target, Path) or target.alias in self.relationships:
                    fail_at(expr.pos.line, expr.pos.column, f"{expr.name} argument 1", "expected T.geometry")
            return Call(expr.name, args, expr.pos)
        return expr

    def exists(self, expr: Exists) -> Expr:
        array = self.value_path(expr.array)  # in the enclosing scope: the element is not bound yet
        if expr.var in self.twins or expr.var in self.relationships or expr.var in self.elements:
            fail_at(expr.pos.line, expr.pos.column, f"name {expr.var!r} declared twice", "expected a new name")
        self.elements.append(expr.var)
        where = self.expr(expr.where) if expr.where is not None else None
        self.elements.pop()
        return Exists(expr.var, array, where, expr.pos)

    def is_of_model(self, expr: IsOfModel) -> Expr:
        alias = expr.alias
        if alias is None:
            if self.query.joins:
                fail_at(
                    expr.pos.line,
                    expr.pos.column,
                    "IS_OF_MODEL",
                    "expected IS_OF_MODEL(<collection>, '<model>')",
                )
            alias = self.query.root
        elif self.query.root is None or alias not in self.twins:
            known = ", ".join(self.twins) or "IS_OF_MODEL('<model>') without a collection"
            fail_at(expr.pos.line, expr.pos.column, f"unknown twin collection {alias!r}", f"expected {known}")
        return IsOfModel(alias, expr.model, expr.exact, expr.pos)
