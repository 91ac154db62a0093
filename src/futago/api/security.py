"""/policies and /keys: who may do what, and the API keys they call with (administrators only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.responses import Response

from futago.api.access import SESSION_COOKIE, Access, require
from futago.api.answers import ApiKey, ApiKeys, Policies, Policy, Session
from futago.api.bodies import KeyRequest, PolicyRequest, described_by
from futago.api.deps import JSONRoute, RowId, json_response
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import security_service
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.security.policy import PERMISSIONS, PolicyEntry
from futago.security.service import SESSION_S, SecurityService

router = APIRouter(tags=["security"], route_class=JSONRoute)

_ENTRY_EXAMPLE = {"subject": "group:operators", "resource": "twins/pump-*", "permissions": ["READ", "COMMAND"]}
_KEY_EXAMPLE = {"name": "dashboard of the river office", "subject": "user:sato", "groups": ["group:operators"],
                "scopes": ["READ"], "expiresDays": 90}  # fmt: skip


@router.get(
    "/policies",
    summary="The policy entries in force (default deny: what is not granted is refused)",
    response_model=Policies,
)
def list_policies(
    security: SecurityService = Depends(security_service), access: Access = Depends(require("ADMIN", "policies"))
) -> Response:
    return json_response({"value": [e.to_json() for e in security.list_entries()]})


@router.post(
    "/policies",
    summary="Grant (or revoke) permissions on a resource pattern to a subject",
    status_code=201,
    response_model=Policy,
)
def add_policy(
    body: Annotated[Any, Body(examples=[_ENTRY_EXAMPLE]), described_by(PolicyRequest)],
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("ADMIN", "policies")),
) -> Response:
    entry = security.grant(PolicyEntry.parse(body), by=access.caller)
    return json_response(entry.to_json(), status_code=201)


def _entry_as_listed(security: SecurityService, entry_id: int) -> dict[str, Any] | None:
    """A policy entry as GET /policies lists it; None for an unknown id (whose removal is then a 404 of its own)."""
    return next((e.to_json() for e in security.list_entries() if e.id == entry_id), None)


@router.delete("/policies/{entry_id}", summary="Remove a policy entry", **deleted_answers(Policy))
def remove_policy(
    entry_id: RowId,
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("ADMIN", "policies")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _entry_as_listed(security, entry_id), needs="ADMIN")
    security.remove(entry_id, by=access.caller)
    return prefer.answer(before)


@router.get(
    "/keys",
    summary="The API keys (never the keys themselves: they are stored as scrypt hashes)",
    response_model=ApiKeys,
)
def list_keys(
    security: SecurityService = Depends(security_service), access: Access = Depends(require("ADMIN", "keys"))
) -> Response:
    return json_response({"value": security.list_keys()})


@router.post(
    "/keys",
    summary="Create an API key; the answer is the only time the key is shown",
    status_code=201,
    response_model=ApiKey,
)
def create_key(
    body: Annotated[Any, Body(examples=[_KEY_EXAMPLE]), described_by(KeyRequest)],
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("ADMIN", "keys")),
) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("subject"), str):
        raise InvalidInput([Problem("/subject", "give the subject the key acts for, e.g. user:sato")])
    expires = body.get("expiresDays", 90)
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int | float)):
        raise InvalidInput([Problem("/expiresDays", "give a number of days, or null for no expiry")])
    groups, scopes = body.get("groups", []), body.get("scopes", list(PERMISSIONS))
    if not isinstance(groups, list) or not isinstance(scopes, list):
        raise InvalidInput([Problem("/groups" if not isinstance(groups, list) else "/scopes", "give a list")])
    # the service compares and sorts them as text: anything else is the caller's mistake, not a 500
    for where, values in (("/groups", groups), ("/scopes", scopes)):
        if not all(isinstance(value, str) for value in values):
            raise InvalidInput([Problem(where, "give a list of strings")])
    name = str(body.get("name") or body["subject"])
    record, key = security.create_key(name, body["subject"], groups, scopes, expires, by=access.caller)
    return json_response({**record, "key": key}, status_code=201)


@router.delete(
    "/keys/{key_id}", summary="Revoke an API key (at once, on every server sharing the store)", response_model=ApiKey
)
def revoke_key(
    key_id: str,
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("ADMIN", "keys")),
) -> Response:
    return json_response(security.revoke_key(key_id, by=access.caller))


def _who(access: Access) -> dict[str, Any]:
    principal = access.principal
    return {"caller": principal.name, "subjects": list(principal.subjects), "admin": principal.admin}


@router.post("/auth/session", summary="Sign the dashboard in: send an API key as a bearer, get a session cookie",
             status_code=201, response_model=Session)  # fmt: skip
def start_session(
    request: Request,
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("READ", "dashboard")),
) -> Response:
    response = json_response(_who(access), status_code=201)
    expires = access.principal.expires  # the server ends the session with its key; the cookie says so too
    lifetime = (
        SESSION_S if expires is None else max(1, min(SESSION_S, int((expires - datetime.now(UTC)).total_seconds())))
    )
    response.set_cookie(
        SESSION_COOKIE, security.start_session(access.principal), max_age=lifetime, httponly=True,
        samesite="strict", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


@router.get("/auth/session", summary="Who the dashboard (or any caller) is signed in as", response_model=Session)
def get_session(access: Access = Depends(require("READ", "dashboard"))) -> Response:
    return json_response(_who(access))


@router.delete("/auth/session", summary="Sign the dashboard out", **deleted_answers(Session))
def end_session(
    request: Request,
    security: SecurityService = Depends(security_service),
    access: Access = Depends(require("READ", "dashboard")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _who(access))  # the principal as GET /auth/session shows it
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        security.end_session(session)
    response = prefer.answer(before)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
