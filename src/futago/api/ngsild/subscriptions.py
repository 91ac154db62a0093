"""/ngsi-ld/v1/subscriptions: create, list, retrieve, update and delete subscriptions (GS CIM 009 clause 5.8).

Authorisation: a subscription is the policy resource ``subscriptions/<id>`` (``subscriptions/~<tenant>~<id>`` in a
tenant): creating, updating and deleting one needs WRITE on it, reading it READ; a list shows those the caller may
read. Its notifications show only what the caller who created it may read, at the time of each notification.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from futago.api.access import Access, require
from futago.api.ngsild.entities import Preference, done, represented
from futago.api.ngsild.http import Call, NgsiLdRoute, call_of, read_body, split_list, tenant_of
from futago.api.prefer import ReturnPreference
from futago.api.providers import NgsiLdOff, api_services, ngsild_service
from futago.core.errors import FutagoError
from futago.services.ngsild import NgsiLdService
from futago.services.ngsild import subscriptions as subs
from futago.services.ngsild.errors import BadRequestData
from futago.services.ngsild.notifier import SubscriptionService, owner_of

router = APIRouter(prefix="/subscriptions", tags=["ngsi-ld"], route_class=NgsiLdRoute, default_response_class=Response)
MEDIA = ("application/json", "application/ld+json")
SUBSCRIPTION: dict[str, Any] = {
    "type": "object",
    "description": "An NGSI-LD Subscription: type, entities or watchedAttributes, notification.endpoint.uri, ...",
    "properties": {"id": {"type": "string"}, "type": {"const": "Subscription"}},
    "additionalProperties": True,
}
MAX_LIMIT = 1000
Service = Annotated[NgsiLdService, Depends(ngsild_service)]


def subscription_service(request: Request) -> SubscriptionService:
    found = getattr(api_services(request), "ngsild_subscriptions", None)
    if not isinstance(found, SubscriptionService):
        raise NgsiLdOff("NGSI-LD subscriptions are not set up in this server")
    return found


Subscriptions = Annotated[SubscriptionService, Depends(subscription_service)]


def _answer(schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": "OK", "content": {m: {"schema": schema} for m in MEDIA}}}


def _body() -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {m: {"schema": SUBSCRIPTION} for m in MEDIA}}}


def _resource(service: NgsiLdService, tenant: str | None, sub_id: str) -> str:
    return f"subscriptions/{service.tenant_twin_id(tenant, sub_id)}".replace("{", "{{").replace("}", "}}")


def _access(request: Request, permission: Any, resource: str) -> Access:
    return require(permission, resource)(request)


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


@router.post("", status_code=201, summary="Create a subscription", openapi_extra=_body())
async def create_subscription(request: Request, service: Service, subscriptions: Subscriptions) -> Response:
    call, body = await read_body(request, service)

    def create() -> str:
        given = body.get("id") if isinstance(body, dict) else None
        access = _access(request, "WRITE", _resource(service, call.tenant, given if isinstance(given, str) else ""))
        return subscriptions.create(call.tenant, body, call.terms, call.context, owner_of(access.principal))

    sub_id = await run_in_threadpool(create)
    headers = {"Location": f"/ngsi-ld/v1/subscriptions/{quote(sub_id, safe=':')}"}
    if call.tenant is not None:
        headers["NGSILD-Tenant"] = call.tenant
    return Response(status_code=201, headers=headers)


@router.get(
    "", summary="List subscriptions (limit, offset, count)", responses=_answer({"type": "array", "items": SUBSCRIPTION})
)
def list_subscriptions(
    request: Request,
    service: Service,
    subscriptions: Subscriptions,
    limit: Annotated[int, Query(ge=0)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: bool = False,
    options: str | None = None,
) -> Response:
    access = _access(request, "READ", "subscriptions")
    call = call_of(request, service, geo=False)
    if limit > MAX_LIMIT:
        raise BadRequestData(f"limit may be at most {MAX_LIMIT}")
    sys_attrs = _sys_attrs(options)
    shown = [
        r for r in subscriptions.of_tenant(call.tenant) if access.may("READ", _resource(service, call.tenant, r["id"]))
    ]
    now = subs.now_utc()
    subscriptions.fresh_status()
    page = [
        subs.present(r, subscriptions.status(call.tenant, r["id"]), call.terms, now, sys_attrs)
        for r in shown[offset : offset + limit]
    ]
    headers = {"NGSILD-Results-Count": str(len(shown))} if count else None
    return call.answer(page, headers=headers)


@router.get("/{sub_id}", summary="Retrieve a subscription", responses=_answer(SUBSCRIPTION))
def retrieve_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, options: str | None = None
) -> Response:
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    _access(request, "READ", _resource(service, tenant, sub_id))
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
    openapi_extra=_body(),
)
async def update_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, prefer: Preference
) -> Response:
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    access = _access(request, "WRITE", _resource(service, tenant, sub_id))
    call, body = await read_body(request, service, patch=True)

    def update() -> Response:
        subscriptions.update(call.tenant, sub_id, body, call.terms)
        return done(call, _shown(subscriptions, call, access, sub_id, prefer))

    return await run_in_threadpool(update)


@router.delete(
    "/{sub_id}",
    status_code=204,
    summary="Delete a subscription",
    responses=represented(SUBSCRIPTION, "what was deleted, as GET showed it just before"),
)
def delete_subscription(
    sub_id: str, request: Request, service: Service, subscriptions: Subscriptions, prefer: Preference
) -> Response:
    tenant = tenant_of(request)
    service.check_tenant(tenant)
    access = _access(request, "WRITE", _resource(service, tenant, sub_id))
    call = call_of(request, service, geo=False)
    before = _shown(subscriptions, call, access, sub_id, prefer)
    subscriptions.delete(call.tenant, sub_id)
    return done(call, before)
