"""RFC 7240 ``Prefer: return=representation`` on the operations that otherwise answer 204 No Content.

Clients of PostgREST, OData and Azure ask for it to save a second request: the answer is then 200 with the
resource as GET shows it (as it was just before a delete, or as it is after a patch), and ``Preference-Applied:
return=representation`` says so. Without the header, or with ``return=minimal``, the answer is 204 exactly as
before, so existing clients see no change.

The representation is read through the GET route's own service call and visibility shaping (``Access.readable``,
``may_see``), and only when the caller may read it there: nobody sees more through this answer than GET shows them.
When GET would not show it (no READ, or a 404 for this caller) the preference is simply not applied, as RFC 7240
lets a server do, and the operation answers 204 as without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel
from starlette.responses import Response

from futago.api.access import Access, Permission
from futago.api.deps import json_response
from futago.core.errors import NotFound

T = TypeVar("T")

APPLIED = "return=representation"

_BOTH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"Preference-Applied": {"description": APPLIED, "schema": {"type": "string"}}}},
    204: {"description": "Done, nothing to send: the answer without 'Prefer: return=representation'"},
}


def deleted_answers(model: type[BaseModel]) -> dict[str, Any]:
    """The route arguments that document both answers of a delete: 200 with ``model`` (the response model of the
    matching GET) and 204."""
    before = "With 'Prefer: return=representation': what was deleted, as GET showed it just before"
    return {"response_model": model, "response_description": before, "responses": _BOTH_ANSWERS}


def patched_answers(model: type[BaseModel]) -> dict[str, Any]:
    """As ``deleted_answers``, for a patch: 200 with the resource after it, and 204."""
    after = "With 'Prefer: return=representation': the resource after the patch, as GET shows it"
    return {"response_model": model, "response_description": after, "responses": _BOTH_ANSWERS}


def wants_representation(prefer: list[str] | None) -> bool:
    """Whether the Prefer header(s) ask for ``return=representation``. Preference names are case-insensitive, a
    value may be quoted, parameters after ';' are ignored, and only the first ``return`` counts (RFC 7240 §2)."""
    for header in prefer or ():
        for preference in header.split(","):
            name, _, value = preference.split(";", 1)[0].partition("=")
            if name.strip().lower() == "return":
                return value.strip().strip('"').lower() == "representation"
    return False


@dataclass(frozen=True, slots=True)
class ReturnPreference:
    """What the caller prefers back: the representation, or nothing (the default)."""

    representation: bool

    def read(self, access: Access, shown: Callable[[], T | None], needs: Permission = "READ") -> T | None:
        """The resource as GET shows it to this caller, or None when not asked for or when GET would not show it.

        ``shown`` is the GET's own read and shaping; ``needs`` is the permission that GET requires on the same
        resource as this operation (``access.resource``: each of these operations shares its policy path with a
        GET). Call it before a delete: the operation itself then decides, as without the header, what happens."""
        if not self.representation or not access.may(needs, access.resource):
            return None
        try:
            return shown()
        except NotFound:  # hidden from this caller, or gone: the operation answers as it would without Prefer
            return None

    def answer(self, representation: Any | None) -> Response:
        """200 with the representation (and Preference-Applied), or 204 when there is none to give."""
        if representation is None:
            return Response(status_code=204)
        return json_response(representation, headers={"Preference-Applied": APPLIED})


def return_preference(
    prefer: Annotated[
        list[str] | None,
        Header(
            alias="Prefer",
            description="RFC 7240: 'return=representation' answers 200 with the resource as GET shows it; "
            "without it (or with 'return=minimal') the answer is 204",
        ),
    ] = None,
) -> ReturnPreference:
    return ReturnPreference(wants_representation(prefer))
