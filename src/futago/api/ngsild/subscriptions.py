"""/ngsi-ld/v1/subscriptions: create, list, retrieve, update and delete subscriptions (GS CIM 009 clause 5.8).

Authorisation: a subscription is the policy resource ``subscriptions/<id>`` (``subscriptions/~<tenant>~<id>`` in a
tenant): creating, updating and deleting one needs WRITE on it, reading it READ; a list shows those the caller may
read. Its notifications show only what the caller who created it may read, at the time of each notification.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from futago.api.access import Access, Permission
from futago.api.ngsild.entities import Preference, done, represented
from futago.api.ngsild.http import (
    Call,
    NgsiLdRoute,
    answer_doc,
    authorize,
    body_doc,
    call_of,
    split_list,
    tenant_of,
    with_body,
)
from futago.api.ngsild.query_params import Paging, page_links
from futago.api.prefer import ReturnPreference
from futago.api.providers import NgsiLdOff, api_services, ngsild_service
from futago.core.errors import FutagoError
from futago.services.ngsild import NgsiLdService
from futago.services.ngsild import subscriptions as subs
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.notifier import SubscriptionService
from futago.services.ngsild.owner_view import owner_of

router = APIRouter(prefix="/subscriptions", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
SUBSCRIPTION: dict[str, Any] = {
    "type": "object",
    "description": "An NGSI-LD Subscription: type, entities or watchedAttributes, notification.endpoint.uri, ...",
    "properties": {"id": {"type": "string"}, "type": {"const": "Subscription"}},
    "additionalProperties": True,
}
Service = Annotated[NgsiLdService, Depends(ngsild_service)]


def subscription_service(request: Request) -> SubscriptionService:
    found = getattr(api_services(request), "ngsild_subscriptions", None)
    if not isinstance(found, SubscriptionService):
        raise NgsiLdOff("NGSI-LD subscriptions are not set up in this server")
    return found


Subscriptions = Annotated[SubscriptionService, Depends(subscription_service)]


def _resource(service: NgsiLdService, tenant: str | None, sub_id: str) -> str:
    return f"subscriptions/{service.tenant_twin_id(tenant, sub_id)}"


def _access(request: Request, service: NgsiLdService, sub_id: str, permission: Permission) -> Access:
    """Authorised on the subscription of this request's tenant, before its body or its parameters are read (and
    before its id is judged: a caller without credentials learns nothing of what would be valid)."""
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    access = authorize(request, permission, _resource(service, tenant, sub_id))
    if sub_id and not subs.is_uri(sub_id):  # clause 5.8.2-5.8.5: an id that is not a URI is BadRequestData
        raise BadRequestData(f"a subscription id is a URI, not {sub_id!r}")
    return access


def _shown(
    subscriptions: SubscriptionService, call: Call, access: Access, sub_id: str, prefer: ReturnPreference
) -> Any:
    """The subscription as GET shows it to this caller, or None when not asked for or not readable by it."""
    if not prefer.representation or not access.may("READ", access.resource):
        return None
    try:
        record = subscriptions.get(call.tenant, sub_id)
    except FutagoError:
        return None
    subscriptions.fresh_status()
    return subs.present(record, subscriptions.status(call.tenant, sub_id), call.terms, subs.now_utc(), False)


def _sys_attrs(options: str | None) -> bool:
    chosen = split_list(options) or []
    unknown = set(chosen) - {"sysAttrs"}
    if unknown:
        raise BadRequestData(f"unknown options {sorted(unknown)}: sysAttrs")
    return "sysAttrs" in chosen


@router.post("", status_code=201, summary="Create a subscription", openapi_extra=body_doc(SUBSCRIPTION))
async def create_subscription(request: Request, service: Service, subscriptions: Subscriptions) -> Response:
    def create(call: Call, body: Any) -> Response:
        given = body.get("id") if isinstance(body, dict) else None
        access = _access(request, service, given if isinstance(given, str) else "", "WRITE")
        sub_id = subscriptions.create(call.tenant, body, call.terms, call.context, owner_of(access.principal))
        return call.created(f"/ngsi-ld/v1/subscriptions/{quote(sub_id, safe=':')}")

    return await with_body(request, service, create)


@router.get(
    "",
    summary="List subscriptions (limit, offset, count)",
    responses=answer_doc({"type": "array", "items": SUBSCRIPTION}),
)
def list_subscriptions(
    request: Request, service: Service, subscriptions: Subscriptions, page: Paging, options: str | None = None
) -> Response:
    access = authorize(request, "READ", "subscriptions")
    call = call_of(request, service, geo=False)
    sys_attrs = _sys_attrs(options)
    shown = [
        r for r in subscriptions.of_tenant(call.tenant) if access.may("READ", _resource(service, call.tenant, r["id"]))
    ]
    now = subs.now_utc()
    subscriptions.fresh_status()
    listed = [
        subs.present(r, subscriptions.status(call.tenant, r["id"]), call.terms, now, sys_attrs)
        for r in shown[page.offset : page.offset + page.limit]
    ]
    headers = {"NGSILD-Results-Count": str(len(shown))} if page.count else {}
    more = len(shown) > page.offset + page.limit
    links = page_links(request.url.path, request.query_params.multi_items(), page, call.accept, more)
    if links is not None:  # rel="prev"/"next" (6.3.13), as GET /entities gives them
        headers["Link"] = links
    return call.answer(listed, headers=headers)


@router.get("/{sub_id}", summary="Retrieve a subscription", responses=answer_doc(SUBSCRIPTION))
def retrieve_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, options: str | None = None
) -> Response:
    _access(request, service, sub_id, "READ")
    call = call_of(request, service, geo=False)
    record = subscriptions.get(call.tenant, sub_id)
    subscriptions.fresh_status()
    status = subscriptions.status(call.tenant, sub_id)
    return call.answer(subs.present(record, status, call.terms, subs.now_utc(), _sys_attrs(options)))


@router.patch(
    "/{sub_id}",
    status_code=204,
    summary="Update a subscription",
    responses=represented(SUBSCRIPTION, "the subscription after the update, as GET shows it"),
    openapi_extra=body_doc(SUBSCRIPTION),
)
async def update_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, prefer: Preference
) -> Response:
    access = _access(request, service, sub_id, "WRITE")

    def update(call: Call, body: Any) -> Response:
        subscriptions.update(call.tenant, sub_id, body, call.terms)
        return done(call, _shown(subscriptions, call, access, sub_id, prefer))

    return await with_body(request, service, update, patch=True)


@router.delete(
    "/{sub_id}",
    status_code=204,
    summary="Delete a subscription",
    responses=represented(SUBSCRIPTION, "what was deleted, as GET showed it just before"),
)
def delete_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, prefer: Preference
) -> Response:
    access = _access(request, service, sub_id, "WRITE")
    call = call_of(request, service, geo=False)
    before = _shown(subscriptions, call, access, sub_id, prefer)
    subscriptions.delete(call.tenant, sub_id)
    return done(call, before)
