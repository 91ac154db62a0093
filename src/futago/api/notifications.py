"""/subscribers, /notification-channels and /notifications: who is told about alerts, how, and what was sent.

A delivery is about its alert's twin: a caller who may not read what it is about (the alert, its twin, the zone it
names) does not see the delivery or its dead letters, in lists or by id (``delivery_as_seen``); its text, rendered
from the twin's readings, needs READ on the twin's telemetry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from futago.act.model import Alert
from futago.act.notify.service import NotificationService, render
from futago.api.access import Access, require
from futago.api.answers import (
    Deliveries,
    Delivery,
    NotificationChannel,
    NotificationChannels,
    NotificationDeadLetter,
    NotificationDeadLetters,
    Preview,
    Requeued,
    Subscriber,
    Subscribers,
)
from futago.api.bodies import ChannelSettingsRequest, SubscriberRequest, described_by
from futago.api.deps import CREATED, SQL_MAX, JSONRoute, RowId, json_response
from futago.api.paging import keyset, visible_page
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import notification_service
from futago.core.errors import NotFound
from futago.core.events import telemetry_resource, twin_resource
from futago.core.twins import now_iso

router = APIRouter(tags=["notifications"], route_class=JSONRoute)


Service = Annotated[NotificationService, Depends(notification_service)]
SUBSCRIBER_EXAMPLE = {
    "name": "Yamada Hanako",
    "language": "ja",
    "home": "bldg_0001",
    "channels": [
        {"type": "webhook", "url": "https://example.jp/hook", "secret": "a-long-shared-secret"},
        {"type": "email", "to": "hanako@example.jp"},
        {"type": "dashboard"},
    ],
}


# -- subscribers ---------------------------------------------------------------------------------------


@router.get("/subscribers", summary="List subscribers (secrets are masked)", response_model=Subscribers)
def list_subscribers(
    service: Service,
    after: Annotated[str | None, Query(description="resume after this subscriber id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    access: Access = Depends(require("READ", "subscribers")),
) -> Response:
    subscribers = service.list_subscribers(after, limit)
    body: dict[str, Any] = {"value": subscribers}
    if len(subscribers) == limit:
        body["next"] = subscribers[-1]["id"]
    return json_response(body)


@router.put(
    "/subscribers/{subscriber_id}",
    summary="Create or replace a subscriber: language, a home twin or a point, channels",
    description="A subscriber with a home building or a point gets the alerts whose area covers it (a flood "
    "zone where the planned depth there reaches the threshold, or listed twins); one without a place gets the "
    "alerts of the rules it names. 201 when created, 200 when replaced.",
    responses=CREATED,
    response_model=Subscriber,
)
def put_subscriber(
    subscriber_id: str,
    body: Annotated[dict[str, Any], Body(examples=[SUBSCRIBER_EXAMPLE]), described_by(SubscriberRequest)],
    service: Service,
    access: Access = Depends(require("WRITE", "subscribers/{subscriber_id}")),
) -> Response:
    subscriber, created = service.put_subscriber(subscriber_id, body)
    return json_response(subscriber, status_code=201 if created else 200)


@router.get("/subscribers/{subscriber_id}", summary="One subscriber (secrets are masked)", response_model=Subscriber)
def get_subscriber(
    subscriber_id: str, service: Service, access: Access = Depends(require("READ", "subscribers/{subscriber_id}"))
) -> Response:
    return json_response(service.get_subscriber(subscriber_id))


@router.delete("/subscribers/{subscriber_id}", summary="Delete a subscriber", **deleted_answers(Subscriber))
def delete_subscriber(
    subscriber_id: str,
    service: Service,
    access: Access = Depends(require("WRITE", "subscribers/{subscriber_id}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: service.get_subscriber(subscriber_id))  # as GET: secrets masked
    service.delete_subscriber(subscriber_id)
    return prefer.answer(before)


# -- named channel settings ------------------------------------------------------------------------------


@router.get(
    "/notification-channels",
    summary="Named channel settings: SMTP servers, MQTT brokers",
    response_model=NotificationChannels,
)
def list_channels(service: Service, access: Access = Depends(require("READ", "notification-channels"))) -> Response:
    return json_response({"value": service.list_channels()})


@router.put(
    "/notification-channels/{name}",
    summary="Create or replace named channel settings",
    description="Email: host, port, sender, starttls or ssl, username/password, timeout_s. MQTT: host, port, "
    "username/password, tls, protocol. Either may carry its own retry policy {attempts, base_s, factor, max_s}. "
    "A subscriber's email entry uses the settings named 'email' unless it names others with 'via'; "
    "likewise 'mqtt'.",
    responses=CREATED,
    response_model=NotificationChannel,
)
def put_channel(
    name: str,
    spec: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "type": "email",
                    "host": "smtp.example.jp",
                    "port": 587,
                    "starttls": True,
                    "sender": "alerts@example.jp",
                }
            ]
        ),
        described_by(ChannelSettingsRequest),
    ],
    service: Service,
    access: Access = Depends(require("ADMIN", "notification-channels/{name}")),
) -> Response:
    channel, created = service.put_channel(name, spec)
    return json_response(channel, status_code=201 if created else 200)


@router.get(
    "/notification-channels/{name}",
    summary="Named channel settings (passwords are masked)",
    response_model=NotificationChannel,
)
def get_channel(
    name: str, service: Service, access: Access = Depends(require("READ", "notification-channels/{name}"))
) -> Response:
    return json_response(service.describe_channel(name))


@router.delete(
    "/notification-channels/{name}", summary="Delete named channel settings", **deleted_answers(NotificationChannel)
)
def delete_channel(
    name: str,
    service: Service,
    access: Access = Depends(require("ADMIN", "notification-channels/{name}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: service.describe_channel(name))  # as GET: passwords masked
    service.delete_channel(name)
    return prefer.answer(before)


# -- the delivery log ------------------------------------------------------------------------------------

# What a delivery or dead letter holds that was rendered from the readings behind its alert (as the alert's message)
_RENDERED = ("subject", "text", "message")


def delivery_resources(record: Mapping[str, Any]) -> tuple[str, ...]:
    """What a delivery record is about, as its events name it (act.notify): its alert, the alert's twin, the zone
    its text names, and itself."""
    alert_id, twin_id, delivery_id = record.get("alertId"), record.get("twinId"), record.get("id")
    if not (alert_id and twin_id and delivery_id):
        return ()
    zone = record.get("zone")
    return (f"alerts/{alert_id}", twin_resource(twin_id), f"notifications/{delivery_id}") + (
        (twin_resource(zone),) if zone else ()
    )


def delivery_as_seen(
    access: Access, record: dict[str, Any], delivery: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """A delivery record, or a dead letter of ``delivery``, as this caller may see it: None unless it may read
    what the delivery is about; without what was rendered from readings unless it may read the twin's telemetry."""
    if access.principal.admin:
        return record
    about = delivery if delivery is not None else record
    if not access.may_see(delivery_resources(about)):
        return None
    if access.may("READ", telemetry_resource(about["twinId"])):
        return record
    return {k: v for k, v in record.items() if k not in _RENDERED}


@router.get(
    "/notifications",
    summary="The delivery log: alert, subscriber, channel, queuedAt, sentAt and outcome of every notification",
    response_model=Deliveries,
)
def list_deliveries(
    service: Service,
    alert_id: Annotated[str | None, Query(alias="alertId")] = None,
    subscriber_id: Annotated[str | None, Query(alias="subscriberId")] = None,
    outcome: Literal["queued", "retrying", "sent", "failed"] | None = None,
    after: Annotated[int | None, Query(ge=0, le=SQL_MAX, description="resume after this seq")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    access: Access = Depends(require("READ", "notifications")),
) -> Response:
    read = keyset(lambda cursor, n: service.list_deliveries(alert_id, subscriber_id, outcome, cursor, n), _seq)
    # the policies apply before the page is cut: a full page of what the caller may see (futago.api.paging)
    records, next_seq = visible_page(read, lambda r: delivery_as_seen(access, r), limit, after, _seq)
    body: dict[str, Any] = {"value": records}
    if next_seq is not None:
        body["next"] = next_seq
    return json_response(body)


def _seq(record: Mapping[str, Any]) -> int:
    return int(record["seq"])


class PreviewRequest(BaseModel):
    """An alert as the rule engine would raise it; only what targeting and the message need."""

    rule: str = Field("preview", min_length=1, max_length=256)
    twinId: str = Field("", max_length=1024)  # the alert's JSON name
    severity: Literal["info", "warning", "critical"] = "warning"
    area: dict[str, Any] = Field(description='{"zone": <flood-zone twin id>, "twins": [...], "minDepth": 0.5}')
    message: dict[Literal["ja", "en"], str] = Field(default_factory=dict)
    event: Literal["raised", "escalated"] = "raised"


@router.post(
    "/notifications/preview",
    summary="Who an alert over this area would notify, and with what message (nothing is sent)",
    response_model=Preview,
)
def preview(
    request: PreviewRequest, service: Service, access: Access = Depends(require("READ", "notifications"))
) -> Response:
    alert = Alert(
        id="preview",
        rule=request.rule,
        twin_id=request.twinId,
        severity=request.severity,
        state="raised",
        raised_at=now_iso(),
        message={str(lang): text for lang, text in request.message.items()},
        area=request.area,
    )
    found = []
    for recipient in service.recipients(alert, request.event):
        place, flood = service.place(alert, recipient.zone)
        subscriber = recipient.subscriber
        subject, text = render(alert, request.event, subscriber.language, place, flood, recipient.depth)
        found.append(
            {
                "subscriberId": subscriber.id,
                "why": recipient.why,
                "zone": recipient.zone,
                "depth": recipient.depth,
                "language": subscriber.language,
                "channels": [c["name"] for c in subscriber.channels],
                "subject": subject,
                "text": text,
            }
        )
    return json_response({"value": found, "count": len(found)})


@router.get(
    "/notifications/dead-letters",
    summary="Notifications that could not be delivered, with the reason",
    response_model=NotificationDeadLetters,
)
def list_dead_letters(
    service: Service,
    after: Annotated[int | None, Query(ge=0, le=SQL_MAX, description="resume after this id")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    access: Access = Depends(require("READ", "notifications/dead-letters")),
) -> Response:
    read = keyset(service.list_dead_letters, _letter_id)
    shown, next_id = visible_page(
        read, lambda letter: _letter_as_seen(service, access, letter), limit, after, _letter_id
    )
    body: dict[str, Any] = {"value": shown}
    if next_id is not None:
        body["next"] = next_id
    return json_response(body)


def _letter_id(letter: Mapping[str, Any]) -> int:
    return int(letter["id"])


def _letter_as_seen(service: NotificationService, access: Access, letter: dict[str, Any]) -> dict[str, Any] | None:
    """A dead letter is about what its delivery is about; one whose delivery is gone names nothing (fail closed)."""
    if access.principal.admin:
        return letter
    try:
        delivery = service.delivery(letter["deliveryId"])
    except NotFound:
        return None
    return delivery_as_seen(access, letter, delivery)


class RetryRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=SQL_MAX)]] = Field(
        min_length=1, max_length=10_000, description="dead letters to send again"
    )


@router.post(
    "/notifications/dead-letters/retry",
    status_code=202,
    summary="Send dead letters again, through each subscriber's channel as it is now",
    description="Each requeued letter leaves the list; the outcome appears in the delivery log, and one that "
    "fails again comes back as a new dead letter.",
    response_model=Requeued,
)
def retry_dead_letters(
    request: RetryRequest, service: Service, access: Access = Depends(require("WRITE", "notifications/dead-letters"))
) -> Response:
    return json_response({"value": service.retry_dead_letters(request.ids)}, status_code=202)


@router.delete(
    "/notifications/dead-letters/{letter_id}",
    summary="Discard a dead letter",
    **deleted_answers(NotificationDeadLetter),
)
def delete_dead_letter(
    letter_id: RowId,
    service: Service,
    access: Access = Depends(require("WRITE", "notifications/dead-letters")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    # as GET /notifications/dead-letters lists it: only when the caller may see what its delivery is about
    before = prefer.read(access, lambda: _letter_as_seen(service, access, service.dead_letter(letter_id)))
    service.discard_dead_letter(letter_id)
    return prefer.answer(before)


@router.get("/notifications/{delivery_id}", summary="One delivery record", response_model=Delivery)
def get_delivery(
    delivery_id: str, service: Service, access: Access = Depends(require("READ", "notifications"))
) -> Response:
    record = service.delivery(delivery_id)
    access.must_see(delivery_resources(record), f"delivery '{delivery_id}' does not exist")
    return json_response(delivery_as_seen(access, record))
