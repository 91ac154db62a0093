"""How the query language reports a bad query: one Problem that names line and column.

Callers (the API, the CLI) show the message to a person who typed the query, so every
message says where the text went wrong and what would have been accepted there.
"""

from __future__ import annotations

from typing import NoReturn

from futago.core.errors import InvalidInput
from futago.core.problems import Problem

QUERY_POINTER = "/query"
TOKEN_POINTER = "/continuationToken"


def fail_at(line: int, column: int, found: str, expected: str) -> NoReturn:
    """Raise the single error shape of the language: ``<found> at line L column C: <expected>``."""
    message = f"{found} at line {line} column {column}: {expected}"
    raise InvalidInput([Problem(pointer=QUERY_POINTER, message=message)])


def fail_token(message: str) -> NoReturn:
    raise InvalidInput([Problem(pointer=TOKEN_POINTER, message=message)])
