"""/persons: consent, purpose-bound reads, the right of access (export) and erasure of a person's personal data.

A person is a twin whose model marks properties or telemetry ``Personal`` (a wearable's twin, a resident's).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.answers import Consent, Consents, PersonalRecord
from futago.api.bodies import ConsentRequest, described_by
from futago.api.deps import JSONRoute, json_response
from futago.api.providers import personal_data
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.security.personal import PURPOSES, PersonalData

router = APIRouter(prefix="/persons", tags=["personal data"], route_class=JSONRoute)


@router.get("/{person_id}/consents", summary="The person's consents, per purpose", response_model=Consents)
def list_consents(
    person_id: str,
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("READ", "personal/{person_id}")),
) -> Response:
    return json_response({"value": personal.consents(person_id)})


@router.put(
    "/{person_id}/consents/{purpose}",
    summary=f"Record consent for a purpose ({', '.join(PURPOSES)})",
    response_model=Consent,
)
def give_consent(
    person_id: str,
    purpose: str,
    body: Annotated[Any, Body(examples=[{"expires": "2027-12-31T23:59:59Z"}]), described_by(ConsentRequest)] = None,
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("WRITE", "personal/{person_id}")),
) -> Response:
    expires = body.get("expires") if isinstance(body, dict) else None
    if expires is not None and not isinstance(expires, str):
        raise InvalidInput([Problem("/expires", "give an ISO 8601 time, or null for no expiry")])
    return json_response(personal.set_consent(person_id, purpose, expires, access.caller))


@router.delete(
    "/{person_id}/consents/{purpose}",
    summary="Withdraw consent for a purpose (effective at once)",
    response_model=Consent,
)
def withdraw_consent(
    person_id: str,
    purpose: str,
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("WRITE", "personal/{person_id}")),
) -> Response:
    return json_response(personal.withdraw_consent(person_id, purpose, access.caller))


@router.get(
    "/{person_id}/data",
    summary="The person's personal data, for a purpose they consented to",
    response_model=PersonalRecord,
)
def read_data(
    person_id: str,
    purpose: Annotated[str, Query(description=", ".join(PURPOSES))],
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("READ", "personal/{person_id}")),
) -> Response:
    return json_response(personal.read(person_id, purpose, access.caller))


@router.get(
    "/{person_id}/export",
    summary="Everything held about the person, with consents (right of access)",
    response_model=PersonalRecord,
)
def export_data(
    person_id: str,
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("ADMIN", "personal/{person_id}")),
) -> Response:
    return json_response(personal.export(person_id, access.caller))


@router.delete(
    "/{person_id}/data",
    summary="Erase the person's personal data: their key is destroyed",
    response_model=PersonalRecord,
)
def erase_data(
    person_id: str,
    personal: PersonalData = Depends(personal_data),
    access: Access = Depends(require("ADMIN", "personal/{person_id}")),
) -> Response:
    return json_response(personal.erase(person_id, access.caller))
