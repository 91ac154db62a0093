"""Value forms DTDL borrows from JSON-LD: value objects, one-element arrays, language maps.

A DTDL string may be written ``"x"``, ``{"@value": "x"}`` or ``["x"]``; these helpers fold
the forms into one Python value, or say why a value fits none of them.
"""

from __future__ import annotations

import re

from .raw import Where

LANGUAGE_TAG = re.compile(r"^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
_XSD = {
    str: ("xsd:string", "http://www.w3.org/2001/XMLSchema#string"),
    int: ("xsd:integer", "http://www.w3.org/2001/XMLSchema#integer"),
    bool: ("xsd:boolean", "http://www.w3.org/2001/XMLSchema#boolean"),
}
_NAMES = {str: "a string", int: "an integer", bool: "a boolean"}


class LiteralError(ValueError):
    def __init__(self, pointer: str, message: str) -> None:
        super().__init__(message)
        self.pointer = pointer
        self.message = message


def _matches(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
    return isinstance(value, kind)


def literal(value: object, pointer: str, kind: type, *, allow_list: bool = True) -> tuple[object, str]:
    """The plain value of a representational literal of ``kind`` (str, int or bool)."""
    if allow_list and isinstance(value, list):
        if len(value) != 1:
            raise LiteralError(pointer, f"must be {_NAMES[kind]}, or an array holding exactly one.")
        return literal(value[0], pointer + "/0", kind, allow_list=False)
    if isinstance(value, dict):
        if set(value) - {"@value", "@type"} or "@value" not in value:
            raise LiteralError(pointer, f"must be {_NAMES[kind]} or a value object with only @value and @type.")
        if "@type" in value and value["@type"] not in _XSD[kind]:
            raise LiteralError(
                pointer + "/@type", f"a value object for {_NAMES[kind]} must have @type {_XSD[kind][0]}."
            )
        inner = value["@value"]
        if not _matches(inner, kind):
            raise LiteralError(pointer + "/@value", f"@value must be {_NAMES[kind]}.")
        return inner, pointer + "/@value"
    if not _matches(value, kind):
        raise LiteralError(pointer, f"must be {_NAMES[kind]}.")
    return value, pointer


def localizable(value: object, pointer: str, limit: int) -> str | dict[str, str]:
    """A localizable string as a plain string or a language map; raises on a malformed one."""
    if isinstance(value, str):
        if len(value) > limit:
            raise LiteralError(pointer, f"may have at most {limit} characters; this one has {len(value)}.")
        return value
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for lang, text in value.items():
            sub = f"{pointer}/{lang}"
            if not LANGUAGE_TAG.match(lang):
                raise LiteralError(sub, f"{lang!r} is not a language tag such as 'en' or 'en-US'.")
            if not isinstance(text, str):
                raise LiteralError(sub, "each localized text must be a string.")
            if len(text) > limit:
                raise LiteralError(sub, f"may have at most {limit} characters; this one has {len(text)}.")
            out[lang] = text
        return out
    if isinstance(value, list):
        result: dict[str, str] = {}
        for i, item in enumerate(value):
            sub = f"{pointer}/{i}"
            if isinstance(item, str):
                lang, text = "en", item
            elif isinstance(item, dict):
                if set(item) - {"@value", "@language"} or not isinstance(item.get("@value"), str):
                    raise LiteralError(sub, "must be a string or an object with a string @value and @language.")
                lang = item.get("@language", "en")
                text = item["@value"]
                if not isinstance(lang, str) or not LANGUAGE_TAG.match(lang):
                    raise LiteralError(sub + "/@language", f"{lang!r} is not a language tag such as 'en-US'.")
            else:
                raise LiteralError(sub, "must be a string or a language-tagged value object.")
            if lang in result or (lang == "en" and "" in result):
                raise LiteralError(sub, f"language {lang!r} appears more than once.")
            if len(text) > limit:
                raise LiteralError(sub, f"may have at most {limit} characters; this one has {len(text)}.")
            result[lang] = text
        return result
    raise LiteralError(pointer, "must be a string, a language map object, or an array of localized strings.")


def at(where: Where, pointer: str) -> Where:
    return Where(where.doc_id, pointer)
