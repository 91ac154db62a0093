"""One way to say what is wrong with an input, shared by every stage.

A Problem names the document (its ``@id`` or twin id, when there is one), a JSON Pointer
(RFC 6901) to the offending element, and a sentence that says what is wrong and what is
allowed. The API turns a list of them into RFC 9457 problem+json.
"""

from __future__ import annotations

from dataclasses import dataclass

from futago.core.records import JsonRecord


@dataclass(frozen=True, slots=True)
class Problem(JsonRecord):
    json_case = "as_declared"
    json_omit = "none"

    pointer: str
    message: str
    id: str | None = None

    def __str__(self) -> str:
        where = f"{self.id} " if self.id else ""
        return f"{where}{self.pointer or '/'}: {self.message}"


def escape_pointer_token(token: str | int) -> str:
    """Escape one reference token for a JSON Pointer (RFC 6901 §3)."""
    text = str(token)
    if "~" in text or "/" in text:  # rare: most tokens are DTDL names or indexes
        return text.replace("~", "~0").replace("/", "~1")
    return text


def join_pointer(base: str, *tokens: str | int) -> str:
    return base + "".join("/" + escape_pointer_token(t) for t in tokens)
