"""The reader's context for one file: ParseContext plus what reading met (the ReadTally).

Feature builders report a value they could not read (a height that is not a number...) through
:func:`warn` instead of failing the whole file: the value is left out, and the warning names the
feature, the file and line, and the element path inside the feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from futago.city.citygml.geometry import ParseContext
from futago.city.citygml.names import classify, gml_id
from futago.city.features import ReadTally


@dataclass(slots=True)
class ReadContext(ParseContext):
    tally: ReadTally | None = None
    top: Any = None  # the top-level city object element being read (where warning paths start)


def element_path(elem: Any, top: Any) -> tuple[str, str]:
    """(the nearest enclosing gml:id, "Local/Local/..." from the top-level object down to ``elem``)."""
    names: list[str] = []
    owner = ""
    node = elem
    while node is not None:
        names.append(classify(node.tag)[1])
        if not owner and node is not elem:
            owner = gml_id(node)
        if node is top:
            break
        node = node.getparent()
    return owner, "/".join(reversed(names))


def warn(ctx: ParseContext, elem: Any, message: str) -> None:
    """Record that ``elem``'s value was left out; a plain ParseContext (no tally) drops the note."""
    tally = getattr(ctx, "tally", None)
    if tally is None:
        return
    owner, path = element_path(elem, getattr(ctx, "top", None))
    tally.warn(owner, f"{ctx.file}:{getattr(elem, 'sourceline', None) or '?'}/{path}", message)
