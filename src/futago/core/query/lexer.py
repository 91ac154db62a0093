"""Turns query text into tokens that remember their line and column.

Positions travel with every token so that the parser, and the later name checks, can
point a person at the exact place where a query went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from futago.core.query.errors import fail_at

MAX_QUERY_CHARS = 64_000
_MAX_INT_DIGITS = 18


class Kind(Enum):
    WORD = "word"  # identifiers and keywords alike; keywords are recognised by the parser
    DOLLAR = "dollar"  # $dtId, $metadata, ...
    NUMBER = "number"
    STRING = "string"
    PUNCT = "punct"
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the source spelling (for strings: the decoded value)
    value: object
    line: int
    column: int

    def upper(self) -> str:
        return self.text.upper() if self.kind is Kind.WORD else ""

    def describe(self) -> str:
        if self.kind is Kind.END:
            return "end of query"
        if self.kind is Kind.STRING:
            return f"string {self.text!r}"
        return f"{self.text!r}"


_TWO_CHAR = {"!=", "<>", "<=", ">="}
_ONE_CHAR = set("()[]{},.:*=<>-")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _is_word_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_word_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


def tokenize(text: str) -> list[Token]:
    """Split ``text``; the last token is always END, so the parser never runs off the list."""
    if len(text) > MAX_QUERY_CHARS:
        fail_at(1, 1, "query too long", f"expected at most {MAX_QUERY_CHARS} characters")
    tokens: list[Token] = []
    i, line, line_start, n = 0, 1, 0, len(text)
    while i < n:
        ch = text[i]
        column = i - line_start + 1
        if ch == "\n":
            i += 1
            line, line_start = line + 1, i
            continue
        if ch.isspace():
            i += 1
            continue
        if ch == "-" and text.startswith("--", i):  # SQL line comment, as in the ADT samples
            while i < n and text[i] != "\n":
                i += 1
            continue
        if _is_word_start(ch):
            j = i + 1
            while j < n and _is_word_char(text[j]):
                j += 1
            tokens.append(Token(Kind.WORD, text[i:j], text[i:j], line, column))
            i = j
        elif ch == "$":
            j = i + 1
            if j >= n or not _is_word_start(text[j]):
                fail_at(line, column, "'$'", "expected a system property name such as $dtId")
            while j < n and _is_word_char(text[j]):
                j += 1
            tokens.append(Token(Kind.DOLLAR, text[i:j], text[i:j], line, column))
            i = j
        elif ch.isdigit() and ch.isascii():
            i = _number(text, i, line, column, tokens)
        elif ch in "'\"":
            i, line, line_start = _string(text, i, line, line_start, tokens)
        elif text[i : i + 2] in _TWO_CHAR:
            tokens.append(Token(Kind.PUNCT, text[i : i + 2], None, line, column))
            i += 2
        elif ch in _ONE_CHAR:
            tokens.append(Token(Kind.PUNCT, ch, None, line, column))
            i += 1
        else:
            fail_at(line, column, f"unexpected character {ch!r}", "expected a keyword, name, literal or operator")
    tokens.append(Token(Kind.END, "", None, line, i - line_start + 1))
    return tokens


def _number(text: str, i: int, line: int, column: int, tokens: list[Token]) -> int:
    n = len(text)
    j = i
    while j < n and text[j].isascii() and text[j].isdigit():
        j += 1
    is_float = False
    if j + 1 < n and text[j] == "." and text[j + 1].isascii() and text[j + 1].isdigit():
        is_float = True
        j += 1
        while j < n and text[j].isascii() and text[j].isdigit():
            j += 1
    if j < n and text[j] in "eE":
        k = j + 1
        if k < n and text[k] in "+-":
            k += 1
        if k < n and text[k].isascii() and text[k].isdigit():
            is_float = True
            j = k
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
    if j < n and _is_word_char(text[j]):
        fail_at(line, column, f"malformed number {text[i : j + 1]!r}", "expected digits, '.', or an exponent")
    spelling = text[i:j]
    value: int | float
    if is_float or len(spelling) > _MAX_INT_DIGITS:
        value = float(spelling)
        if value in (float("inf"), float("-inf")):
            fail_at(line, column, f"number {spelling[:20]!r}", "expected a number within double range")
    else:
        value = int(spelling)
    tokens.append(Token(Kind.NUMBER, spelling, value, line, column))
    return j


def _string(text: str, i: int, line: int, line_start: int, tokens: list[Token]) -> tuple[int, int, int]:
    quote = text[i]
    start_line, start_column = line, i - line_start + 1
    n = len(text)
    j = i + 1
    out: list[str] = []
    while True:
        if j >= n:
            fail_at(start_line, start_column, "unterminated string", f"expected a closing {quote}")
        ch = text[j]
        if ch == quote:
            break
        if ch == "\n":
            line, line_start = line + 1, j + 1
        if ch == "\\":
            if j + 1 >= n:
                fail_at(start_line, start_column, "unterminated string", f"expected a closing {quote}")
            esc = text[j + 1]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                j += 2
                continue
            if esc == "u":
                code = _hex4(text, j + 2)
                if code is not None:
                    low = _hex4(text, j + 8) if 0xD800 <= code < 0xDC00 and text.startswith("\\u", j + 6) else None
                    if low is not None and 0xDC00 <= low < 0xE000:  # a UTF-16 pair, as JSON writes 😀
                        out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                        j += 12
                    else:
                        out.append(chr(code))
                        j += 6
                    continue
            fail_at(
                line,
                j - line_start + 1,
                f"unknown escape '\\{esc}'",
                "expected one of \\\\ \\' \\\" \\/ \\b \\f \\n \\r \\t \\uXXXX",
            )
        out.append(ch)
        j += 1
    value = "".join(out)
    if any("\ud800" <= ch <= "\udfff" for ch in value):  # no store can bind it, and no twin can hold it
        fail_at(start_line, start_column, "string with a lone UTF-16 surrogate", "expected valid Unicode text")
    tokens.append(Token(Kind.STRING, value, value, start_line, start_column))
    return j + 1, line, line_start


def _hex4(text: str, at: int) -> int | None:
    digits = text[at : at + 4]
    if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
        return int(digits, 16)
    return None
