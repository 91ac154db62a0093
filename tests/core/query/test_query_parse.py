"""Parsing: the AST for good queries, line/column errors for bad ones, and fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futago.core.errors import InvalidInput
from futago.core.query import parse
from futago.core.query.ast import And, Compare, InList, IsOfModel, LiteralValue, Path


def error_of(text: str) -> str:
    with pytest.raises(InvalidInput) as info:
        parse(text)
    problems = info.value.problems
    assert len(problems) == 1 and problems[0].pointer == "/query"
    return problems[0].message


def test_parse_builds_a_resolved_tree() -> None:
    q = parse(
        "SELECT TOP(5) T.$dtId, X.a.b AS ab FROM DIGITALTWINS T JOIN X RELATED T.has R "
        "WHERE IS_OF_MODEL(T, 'dtmi:a;1', EXACT) AND R.w = -1.5e2 AND X.$dtId IN ['x', \"y\"]"
    )
    assert q.select.top == 5 and q.root == "T"
    assert [(c.path.alias, c.path.segments, c.name) for c in q.select.columns] == [
        ("T", ("$dtId",), "$dtId"),
        ("X", ("a", "b"), "ab"),
    ]
    assert [(j.target, j.source, j.relationship, j.rel_alias) for j in q.joins] == [("X", "T", "has", "R")]
    assert isinstance(q.where, And)
    first, second, third = q.where.items
    assert first == IsOfModel("T", "dtmi:a;1", True, first.pos)
    assert isinstance(second, Compare) and second.op == "="
    assert second.left == Path("R", ("w",), second.pos) and second.right == LiteralValue(-150.0, second.pos)
    assert isinstance(third, InList) and third.options == ("x", "y") and not third.negate


def test_unaliased_from_reads_bare_properties() -> None:
    q = parse("SELECT $dtId, name FROM DIGITALTWINS WHERE $metadata.$model = 'm'")
    assert [c.path.segments for c in q.select.columns] == [("$dtId",), ("name",)]
    assert q.root is None


@pytest.mark.parametrize(
    ("text", "line", "column", "expected"),
    [
        ("SELECT * FORM DIGITALTWINS", 1, 10, "expected FROM"),
        ("SELECT T\nFROM DIGITALTWINS T\nWHERE T.x = ", 3, 13, "expected a property, literal"),
        ("SELECT T FROM DIGITALTWINS T WHERE T.x = 'abc", 1, 42, "expected a closing '"),
        ("SELECT T FROM DIGITALTWINS T WHERE T.x = 'a\\q'", 1, 44, "unknown escape"),
        ("SELECT T FROM DIGITALTWINS T WHERE T.x # 1", 1, 40, "unexpected character '#'"),
        ("SELECT Y FROM DIGITALTWINS T", 1, 8, "unknown collection 'Y'"),
        ("SELECT TOP(0) * FROM DIGITALTWINS", 1, 12, "positive whole number"),
        ("SELECT * FROM DIGITALTWINS T WHERE FOO(T.x)", 1, 36, "unknown function 'FOO'"),
        ("SELECT * FROM DIGITALTWINS T WHERE IS_NULL(T.x, 1)", 1, 36, "expected 1"),
        ("SELECT T.a, T.a FROM DIGITALTWINS T", 1, 13, "duplicate column 'a'"),
        ("SELECT * FROM DIGITALTWINS T WHERE T.x = 1 T", 1, 44, "expected AND, OR"),
        ("SELECT * FROM DIGITALTWINS T WHERE T.x IN 1", 1, 43, "list of literals"),
        ("SELECT * FROM RELATIONSHIPS R", 1, 15, "not supported"),
        ("SELECT * FROM DIGITALTWINS T WHERE T", 1, 36, "expected a property of it"),
        ("SELECT * FROM DIGITALTWINS T WHERE 12abc = 1", 1, 36, "malformed number"),
        ("", 1, 1, "expected SELECT"),
        ("SELECT * FROM DIGITALTWINS T WHERE " + "(" * 100 + "T.x = 1" + ")" * 100, 1, 76, "nesting"),
    ],
)
def test_errors_name_line_column_and_expectation(text: str, line: int, column: int, expected: str) -> None:
    message = error_of(text)
    assert f"at line {line} column {column}:" in message
    assert expected in message


def test_top_level_message_shape() -> None:
    assert error_of("SELECT * FORM DIGITALTWINS") == "unexpected 'FORM' at line 1 column 10: expected FROM"


VOCAB = [
    "SELECT", "TOP", "(", ")", "*", "COUNT", "FROM", "DIGITALTWINS", "T", "X", "R", "JOIN", "RELATED",
    "T.contains", "WHERE", "AND", "OR", "NOT", "IN", "NIN", "[", "]", "{", "}", ",", ":", ".", "=", "!=",
    "<>", "<", "<=", ">", ">=", "'a'", '"b"', "1", "-2.5", "1e400", "true", "null", "T.$dtId", "T.x.y",
    "IS_OF_MODEL", "'dtmi:a;1'", "exact", "IS_DEFINED", "STARTSWITH", "ST_WITHIN", "ST_DISTANCE",
    "T.geometry", "AS", "$dtId", "'\\u12'", "--", "\n",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_fuzz_random_text_only_raises_invalid_input(text: str) -> None:
    try:
        parse(text)
    except InvalidInput as exc:
        assert exc.problems and exc.problems[0].pointer == "/query"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VOCAB), max_size=40))
def test_fuzz_token_soup_only_raises_invalid_input(words: list[str]) -> None:
    try:
        parse(" ".join(words))
    except InvalidInput as exc:
        assert " at line " in exc.problems[0].message


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=30))
def test_fuzz_valid_prefix_with_soup(words: list[str]) -> None:
    with contextlib.suppress(InvalidInput):
        parse("SELECT T FROM DIGITALTWINS T WHERE " + " ".join(words))


def test_deep_nesting_is_refused_not_crashed() -> None:
    for opener in ["(", "NOT ", "[", "IS_NULL("]:
        text = "SELECT * FROM DIGITALTWINS T WHERE " + opener * 5000
        assert "nesting too deep" in error_of(text) or "at line 1" in error_of(text)
    assert "too long" in error_of("SELECT " + "x" * 70_000)
