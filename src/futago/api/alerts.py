"""/rules and /alerts: declare rules, follow the alerts they raise, acknowledge and resolve them.

Live alerts need no route of their own: the service publishes ``alert.raised``, ``alert.acknowledged``,
``alert.escalated`` and ``alert.resolved`` on the bus, so ``GET /events?type=alert`` streams them.

An alert is about its twin: a caller who may not read the twin does not see the alert, in lists, by id or on
/events, and what the rule rendered from the twin's readings (evidence, message, the values in its history) needs
READ on the twin's telemetry (``alert_as_seen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from futago.act.engine import AlertService
from futago.act.model import Alert
from futago.act.notify.service import NotificationService
from futago.api.access import Access, require
from futago.api.answers import AlertImpact, AlertRecord, Alerts, Rule, Rules
from futago.api.bodies import NoteRequest, RuleRequest, described_by
from futago.api.deps import CREATED, JSONRoute, json_response
from futago.api.paging import visible_page
from futago.api.prefer import ReturnPreference, deleted_answers, return_preference
from futago.api.providers import alert_service, notification_service
from futago.core.errors import InvalidInput
from futago.core.events import telemetry_resource, twin_resource
from futago.core.problems import Problem

router = APIRouter(tags=["alerts"], route_class=JSONRoute)

_RULE_EXAMPLE = {
    "description": "P(water level reaches the flood danger level within 3 h) ≥ 0.5",
    "severity": "critical",
    "twinModel": "dtmi:futago:demo:RiverStation;1",
    "when": {"exceedance": {"telemetry": "waterLevel", "stage": "danger", "probability": 0.5, "within": "3h"}},
    "message": {
        "ja": "{twin}: 3時間以内に氾濫危険水位に達する確率 {value:.0%}",
        "en": "{twin}: {value:.0%} chance of reaching the flood danger level within 3 h",
    },
    "area": {"relationship": "monitors"},
    "suppress": "30m",
    "escalateAfter": "15m",
    "recommend": {"twin": "gate-1", "command": "closeGate", "payload": {}},
}
_NOTE_EXAMPLE = {"note": "crew dispatched / 出動済み"}


def alert_resources(alert: Mapping[str, Any]) -> tuple[str, ...]:
    """What an alert (its JSON) is about, as its events name it (act.engine): its twin and itself."""
    twin_id, alert_id = alert.get("twinId"), alert.get("id")
    return (twin_resource(twin_id), f"alerts/{alert_id}") if twin_id and alert_id else ()


def alert_as_seen(access: Access, alert: dict[str, Any]) -> dict[str, Any] | None:
    """The alert (its JSON) as this caller may see it: None unless it may read what the alert is about; without
    what the rule rendered from the twin's readings (the evidence, the message, the values in its history) unless
    it may read the twin's telemetry. The same for REST answers, command evidence and /events."""
    if access.principal.admin:
        return alert
    if not access.may_see(alert_resources(alert)):
        return None
    if access.may("READ", telemetry_resource(alert["twinId"])):
        return alert
    history = [{k: v for k, v in entry.items() if k != "value"} for entry in alert.get("history", [])]
    return {**alert, "evidence": {}, "message": {}, "history": history}


def _visible(service: AlertService, access: Access, alert_id: str) -> Alert:
    """The alert named in the path; one about a twin the caller may not read is missing, in the same words."""
    alert = service.get(alert_id)
    access.must_see(alert_resources(alert.to_json()), f"alert '{alert_id}' does not exist")
    return alert


def _shown(access: Access, alert: Alert) -> Response:
    return json_response(alert_as_seen(access, alert.to_json()))


def _note(body: Any) -> str | None:
    """The optional body of acknowledge/resolve: nothing, or {"note": "..."}."""
    if body is None:
        return None
    if not isinstance(body, dict) or set(body) - {"note"}:
        raise InvalidInput([Problem("", 'the body is empty or {"note": "..."}')])
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise InvalidInput([Problem("/note", "note is a string of at most 2000 characters")])
    return note


@router.get(
    "/rules",
    summary="List rules (from rules files and the API), and stored rules that no longer parse",
    response_model=Rules,
)
def list_rules(
    service: AlertService = Depends(alert_service), access: Access = Depends(require("READ", "rules"))
) -> Response:
    value = [{**rule.to_json(), "source": service.source(rule.name)} for rule in service.rules()]
    return json_response({"value": value, "invalid": service.invalid})


@router.get("/rules/{name}", summary="A rule", response_model=Rule)
def get_rule(
    name: str, service: AlertService = Depends(alert_service), access: Access = Depends(require("READ", "rules/{name}"))
) -> Response:
    return json_response(_rule_as_read(service, name))


def _rule_as_read(service: AlertService, name: str) -> dict[str, Any]:
    """A rule and where it comes from, as GET /rules/{name} shows it."""
    return {**service.get_rule(name).to_json(), "source": service.source(name)}


@router.put("/rules/{name}", summary="Create (201) or replace (200) a rule", responses=CREATED, response_model=Rule)
def put_rule(
    name: str,
    body: Annotated[Any, Body(examples=[_RULE_EXAMPLE]), described_by(RuleRequest)] = None,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("ADMIN", "rules/{name}")),
) -> Response:
    rule, created = service.put_rule(name, body)
    headers = {"Location": f"/rules/{name}"} if created else None
    return json_response({**rule.to_json(), "source": "api"}, status_code=201 if created else 200, headers=headers)


@router.delete("/rules/{name}", summary="Delete a rule; its open alerts are resolved", **deleted_answers(Rule))
def delete_rule(
    name: str,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("ADMIN", "rules/{name}")),
    prefer: ReturnPreference = Depends(return_preference),
) -> Response:
    before = prefer.read(access, lambda: _rule_as_read(service, name))
    service.delete_rule(name)
    return prefer.answer(before)


@router.get("/alerts", summary="Alerts, newest first, filtered by state, rule and twin; paged", response_model=Alerts)
def list_alerts(
    state: Annotated[str | None, Query(description="raised, acknowledged or resolved")] = None,
    rule: Annotated[str | None, Query()] = None,
    twin: Annotated[str | None, Query(description="twin id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    continuation: Annotated[str | None, Query(alias="continuationToken")] = None,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("READ", "alerts")),
) -> Response:
    # the policies apply before the page is cut: a full page of alerts the caller may see (futago.api.paging)
    shown, token = visible_page(
        lambda cursor, n: service.list_alerts(state, rule, twin, n, cursor),
        lambda alert: alert_as_seen(access, alert.to_json()),
        limit,
        continuation,
    )
    return json_response({"value": shown, "continuationToken": token})


@router.get("/alerts/{alert_id}", summary="An alert with its full history", response_model=AlertRecord)
def get_alert(
    alert_id: str,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("READ", "alerts/{alert_id}")),
) -> Response:
    return _shown(access, _visible(service, access, alert_id))


@router.get(
    "/alerts/{alert_id}/impact",
    summary="What an alert concerns: its area's buildings (planned depth at or above the notification threshold) "
    "and the residents living in them, as geo-targeting counts them",
    response_model=AlertImpact,
)
def alert_impact(
    alert_id: str,
    service: AlertService = Depends(alert_service),
    notifications: NotificationService = Depends(notification_service),
    access: Access = Depends(require("READ", "alerts/{alert_id}")),
) -> Response:
    alert = _visible(service, access, alert_id)
    affected = notifications.affected_by(alert)
    zones, _ = notifications.targeting.area(alert)
    zones, buildings = ([t for t in ids if access.may_read_twin(t)] for ids in (zones, affected.buildings))
    return json_response(
        {"alertId": alert.id, "zones": zones, "buildings": buildings, "residents": len(affected.residents)}
    )


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="Acknowledge a raised alert (stops its escalation)",
    response_model=AlertRecord,
)
def acknowledge(
    alert_id: str,
    body: Annotated[Any, Body(examples=[_NOTE_EXAMPLE]), described_by(NoteRequest)] = None,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("WRITE", "alerts/{alert_id}")),
) -> Response:
    note = _note(body)
    _visible(service, access, alert_id)
    return _shown(access, service.acknowledge(alert_id, access.caller, note))


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an alert by hand", response_model=AlertRecord)
def resolve(
    alert_id: str,
    body: Annotated[Any, Body(examples=[_NOTE_EXAMPLE]), described_by(NoteRequest)] = None,
    service: AlertService = Depends(alert_service),
    access: Access = Depends(require("WRITE", "alerts/{alert_id}")),
) -> Response:
    note = _note(body)
    _visible(service, access, alert_id)
    return _shown(access, service.resolve(alert_id, access.caller, note))
