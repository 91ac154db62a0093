"""The one mechanism that checks configuration documents: every problem at its pointer, answered at once."""

from __future__ import annotations

import math

import pytest

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.secrets import secret
from futago.core.validation import Checker


def test_problems_are_collected_then_raised_together() -> None:
    check = Checker("/options")
    assert check.text({"host": ""}, "host") is None
    assert check.integer({"port": 0}, "port", low=1, high=65535, default=1883) == 1883
    assert not check.ok
    with pytest.raises(InvalidInput) as caught:
        check.raise_if_any()
    assert caught.value.problems == [
        Problem("/options/host", "host is a non-empty string"),
        Problem("/options/port", "port is an integer from 1 to 65535"),
    ]


def test_a_clean_document_raises_nothing() -> None:
    check = Checker()
    assert check.text({"name": "pump"}, "name", required=True) == "pump"
    assert check.number({"x": 2}, "x", low=0, high=5) == 2.0
    check.raise_if_any()
    assert check.ok


def test_scopes_share_the_problems_and_escape_their_tokens() -> None:
    root = Checker("/rules")
    part = root.at("a/b", 0)
    assert part.pointer == "/rules/a~1b/0"
    part.boolean({"on": "yes"}, "on")
    assert root.problems == [Problem("/rules/a~1b/0/on", "on is true or false")]


def test_a_reader_may_name_the_documents_pointer() -> None:
    check = Checker("/ignored")
    check.number({"p": 2.0}, "p", "/when", 0.0, 1.0)
    assert check.problems == [Problem("/when/p", "p is a finite number in [0.0, 1.0]")]


def test_text_required_absent_and_too_long() -> None:
    check = Checker()
    assert check.text({}, "command", "/recommend", required=True) is None
    assert check.text({"twin": "x" * 1001}, "twin") is None
    assert check.text({"twin": "x" * 1001}, "twin", max_length=None) == "x" * 1001
    assert check.text({"user": None}, "user", default="anon") == "anon"  # a null is absent
    assert [p.message for p in check.problems] == ["command is required", "twin is a non-empty string"]


def test_text_reads_a_secret_as_its_value() -> None:
    check = Checker()
    assert check.text({"secret": secret("s" * 16)}, "secret") == "s" * 16
    assert check.ok


def test_number_bounds_and_finiteness() -> None:
    check = Checker()
    assert check.number({"x": math.inf}, "x") is None
    assert check.number({"x": True}, "x") is None  # a boolean is not a number
    assert check.number({"x": -1}, "x", low=0.0) is None
    assert check.number({"x": 0}, "x", low=0.0, high=300.0, above=True, default=10.0) == 10.0
    assert check.number({}, "x", default=10.0) == 10.0
    assert check.number({"x": None}, "x") is None  # optional without a default: a null is absent
    assert [p.message for p in check.problems] == [
        "x is a finite number",
        "x is a finite number",
        "x is a finite number ≥ 0.0",
        "x is a number above 0 up to 300",
    ]


def test_a_null_where_a_default_exists_is_a_mistake() -> None:
    check = Checker()
    assert check.integer({"qos": None}, "qos", low=0, high=2, default=1) == 1
    assert check.problems == [Problem("/qos", "qos is an integer from 0 to 2")]


def test_integer_refuses_booleans_and_floats() -> None:
    check = Checker()
    assert check.integer({"n": True}, "n", low=0, high=9) is None
    assert check.integer({"n": 2.0}, "n", low=0, high=9) is None
    assert check.integer({"n": 3}, "n", low=0, high=9) == 3
    assert len(check.problems) == 2


def test_duration_default_and_message() -> None:
    check = Checker("/b")
    assert check.duration({}, "step", default="10m") == 600_000_000
    assert check.duration({"for": "30s"}, "for") == 30_000_000
    assert check.duration({"for": [1]}, "for") is None
    assert check.duration({"step": "soon"}, "step", message=lambda v: f"not a duration: {v!r}") is None
    assert check.problems == [
        Problem("/b/for", 'for is a duration, e.g. "30s", "10m", "3h" or "PT30M"'),
        Problem("/b/step", "not a duration: 'soon'"),
    ]


def test_choice_mapping_and_items() -> None:
    check = Checker()
    assert check.choice({"protocol": "4"}, "protocol", ("3.1.1", "5"), default="5") == "5"
    assert check.choice({}, "protocol", ("3.1.1", "5"), default="5") == "5"
    assert check.mapping({"tls": 1}, "tls") == {}
    assert check.items({"nodes": {}}, "nodes") == []
    assert [p.message for p in check.problems] == [
        "protocol is one of 3.1.1, 5",
        "tls is an object",
        "nodes is a list",
    ]


def test_unknown_keys_are_named_each_at_its_pointer() -> None:
    check = Checker("/r")
    check.keys({"a": 1, "x/y": 2}, ("a", "b"))
    check.keys({"z": 1}, ("a",), "/other", message="unknown setting")
    assert check.problems == [
        Problem("/r/x~1y", "unknown key; use one of a, b"),
        Problem("/other/z", "unknown setting"),
    ]


def test_quoted_wording_for_channel_entries() -> None:
    check = Checker("/channels/0", quote_keys=True)
    check.text({}, "url", required=True)
    check.boolean({"ssl": 1}, "ssl")
    assert [p.message for p in check.problems] == ["'url' is a non-empty string", "'ssl' is true or false"]


def test_add_at_the_root_says_slash() -> None:
    check = Checker()
    check.add("", "a rule is a JSON object")
    assert check.problems == [Problem("/", "a rule is a JSON object")]


def test_a_part_with_its_own_parser_joins_the_answer() -> None:
    def port(value: object) -> int:
        if not isinstance(value, int):
            raise InvalidInput([Problem("/port", "port is a number")])
        return value

    check = Checker()
    assert check.parsed(port, 8080) == 8080
    assert check.parsed(port, "eighty") is None
    assert check.problems == [Problem("/port", "port is a number")]


def test_problems_name_the_document_they_belong_to() -> None:
    check = Checker(id="dtmi:demo:Pump;1").at("spike")
    check.number({"fail_threshold": "high"}, "fail_threshold")
    assert check.problems == [Problem("/spike/fail_threshold", "fail_threshold is a finite number", "dtmi:demo:Pump;1")]
