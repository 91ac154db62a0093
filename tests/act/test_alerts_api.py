"""/rules and /alerts over HTTP, the alert events on /events, and problem+json (never a 500) for bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futago.act.engine import AlertService
from futago.api import alerts as alerts_api
from futago.api.server import create_api
from futago.app import App
from futago.core.telemetry import parse_timestamp
from futago.store.sql.alerts import SqlAlerts
from futago.store.sqlite.db import SQLiteDatabase
from tests.api.test_no_server_errors import assert_contract, headers, json_values, nasty_text, raw_bodies

D = "dtmi:futago:demo:"
T0 = parse_timestamp("2026-07-01T00:00:00Z")
M = 60_000_000
HIGH = {
    "twinModel": D + "RiverStation;1",
    "severity": "critical",
    "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}},
    "message": {"ja": "{twin}: 水位 {value} m", "en": "{twin}: water level {value} m"},
}


def enable_alerts(app: App, tmp_path: Path) -> AlertService:
    service = AlertService(
        app.bus,
        SqlAlerts(SQLiteDatabase(tmp_path / "alerts.db")),
        app.store,
        app.store,
        app.models.models.descendants,
    )
    service.load({})
    app.alerts = service  # type: ignore[attr-defined]  # until the composition root declares it
    return service


@pytest.fixture
def service(app: App, tmp_path: Path) -> Iterator[AlertService]:
    app.twins.put("river-1", {"$metadata": {"$model": D + "RiverStation;1"}})
    service = enable_alerts(app, tmp_path)
    yield service
    service.close()


@pytest.fixture
def client(app: App, service: AlertService) -> Iterator[TestClient]:
    api = create_api(app)
    if "/rules" not in {getattr(route, "path", None) for route in api.routes}:  # not yet wired into the server
        api.include_router(alerts_api.router)
    with TestClient(api, raise_server_exceptions=False) as test_client:
        yield test_client


def send(app: App, minute: int, value: float) -> None:
    app.telemetry.append([("river-1", "waterLevel", T0 + minute * M, value, 1)])


def test_rules_crud(client: TestClient) -> None:
    created = client.put("/rules/high", json=HIGH)
    assert created.status_code == 201 and created.headers["location"] == "/rules/high"
    assert created.json()["name"] == "high" and created.json()["severity"] == "critical"
    assert client.put("/rules/high", json={**HIGH, "severity": "warning"}).status_code == 200
    listed = client.get("/rules").json()
    assert [(r["name"], r["source"], r["severity"]) for r in listed["value"]] == [("high", "api", "warning")]
    assert listed["invalid"] == {}
    assert client.get("/rules/high").json()["when"] == HIGH["when"]
    assert client.delete("/rules/high").status_code == 204
    for response in (client.get("/rules/high"), client.delete("/rules/high")):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


def test_bad_rules_answer_problem_json_with_pointers(client: TestClient) -> None:
    bad = {"twinModel": "River", "when": {"threshold": {"telemetry": "waterLevel", "above": 4, "clear": 9}}}
    response = client.put("/rules/high", json=bad)
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {"/twinModel", "/when/threshold/clear"}
    assert client.put("/rules/bad%20name", json=HIGH).json()["pointer"] == "/name"
    for body in (b"[1, 2]", b"null", b'"text"', b"{", b"NaN"):
        answer = client.put("/rules/high", content=body, headers={"content-type": "application/json"})
        assert_contract(answer)
        assert answer.status_code == 422
    assert client.put("/rules/high").status_code == 422  # no body at all


def test_alert_lifecycle_over_http(app: App, client: TestClient) -> None:
    assert client.put("/rules/high", json=HIGH).status_code == 201
    send(app, 0, 4.5)
    listed = client.get("/alerts", params={"state": "raised"}).json()
    (alert,) = listed["value"]
    assert listed["continuationToken"] is None
    assert alert["twinId"] == "river-1" and alert["message"]["en"] == "river-1: water level 4.5 m"
    assert client.get(f"/alerts/{alert['id']}").json()["history"] == [{"at": alert["raisedAt"], "state": "raised"}]

    acked = client.post(f"/alerts/{alert['id']}/acknowledge", json={"note": "on it"})
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged" and acked.json()["acknowledgedBy"] == "local-admin"
    assert client.post(f"/alerts/{alert['id']}/acknowledge").status_code == 409
    resolved = client.post(f"/alerts/{alert['id']}/resolve")
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    assert [h.get("state") for h in resolved.json()["history"]] == ["raised", "acknowledged", "resolved"]
    assert resolved.json()["history"][1]["note"] == "on it"
    conflict = client.post(f"/alerts/{alert['id']}/resolve")
    assert conflict.status_code == 409 and conflict.headers["content-type"].startswith("application/problem+json")
    assert client.get("/alerts", params={"state": "resolved", "rule": "high", "twin": "river-1"}).json()["value"]
    assert client.get("/alerts", params={"twin": "river-2"}).json()["value"] == []


def test_alert_pages(app: App, client: TestClient) -> None:
    client.put("/rules/high", json=HIGH)
    for episode in range(5):
        send(app, episode * 2, 4.5)
        send(app, episode * 2 + 1, 3.0)
    first = client.get("/alerts", params={"limit": 3}).json()
    second = client.get("/alerts", params={"limit": 3, "continuationToken": first["continuationToken"]}).json()
    raised = [a["raisedAt"] for a in first["value"] + second["value"]]
    assert raised == sorted(raised, reverse=True) and len(set(raised)) == 5
    assert second["continuationToken"] is None


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "pointer"),
    [
        ("GET", "/alerts?state=open", None, 422, "/state"),
        ("GET", "/alerts?limit=0", None, 422, "/limit"),
        ("GET", "/alerts?limit=many", None, 422, "/limit"),
        ("GET", "/alerts?continuationToken=abc", None, 422, "/continuationToken"),
        ("GET", "/alerts/nope", None, 404, None),
        ("POST", "/alerts/nope/acknowledge", None, 404, None),
        ("POST", "/alerts/nope/resolve", {"note": "x"}, 404, None),
        ("POST", "/alerts/x/acknowledge", [1], 422, ""),
        ("POST", "/alerts/x/acknowledge", {"note": 5}, 422, "/note"),
        ("POST", "/alerts/x/resolve", {"who": "me"}, 422, ""),
    ],
)
def test_bad_alert_requests(
    client: TestClient, method: str, url: str, body: Any, status: int, pointer: str | None
) -> None:
    response = client.request(method, url, json=body)
    assert_contract(response)
    assert response.status_code == status
    if pointer is not None:
        assert response.json()["pointer"] == pointer


def test_without_the_service_the_routes_answer_404(app: App, client: TestClient, service: AlertService) -> None:
    app.alerts = None  # type: ignore[attr-defined]
    try:
        for response in (client.get("/rules"), client.get("/alerts"), client.put("/rules/x", json=HIGH)):
            assert response.status_code == 404
            assert_contract(response)
    finally:
        app.alerts = service  # type: ignore[attr-defined]


def test_alert_events_stream_on_events(app: App, service: AlertService, live_server: Any) -> None:
    service.put_rule("high", HIGH)
    with (
        httpx.Client(base_url=live_server.url, timeout=5) as http,
        http.stream("GET", "/events", params={"type": "alert"}) as stream,
    ):
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        send(app, 0, 4.5)  # a reading that is not an alert: filtered out
        send(app, 1, 3.0)
        seen = []
        for line in lines:
            if line.startswith("event: "):
                seen.append(line.removeprefix("event: "))
            if line.startswith("data: ") and seen[-1] == "alert.resolved":
                assert json.loads(line.removeprefix("data: "))["data"]["state"] == "resolved"
                break
    assert seen == ["alert.raised", "alert.resolved"]


routes = st.sampled_from(
    [
        ("GET", "/rules"),
        ("GET", "/rules/{x}"),
        ("PUT", "/rules/{x}"),
        ("DELETE", "/rules/{x}"),
        ("GET", "/alerts"),
        ("GET", "/alerts/{x}"),
        ("POST", "/alerts/{x}/acknowledge"),
        ("POST", "/alerts/{x}/resolve"),
    ]
)
rule_like = st.fixed_dictionaries(
    {},
    optional={
        "twins": st.one_of(st.just(["river-1"]), json_values),
        "twinModel": st.one_of(st.just(D + "RiverStation;1"), json_values),
        "when": st.one_of(
            st.just(HIGH["when"]),
            st.dictionaries(
                st.sampled_from(["all", "any", "not", "threshold", "rate", "exceedance", "anomaly", "quality"]),
                json_values,
                max_size=2,
            ),
        ),
        "scope": json_values,
        "message": st.one_of(st.fixed_dictionaries({"en": nasty_text}), json_values),
        "suppress": json_values,
        "escalateAfter": json_values,
        "area": json_values,
        "recommend": json_values,
        "severity": json_values,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(
    route=routes,
    name=st.one_of(st.sampled_from(["high", "nope"]), nasty_text),
    body=st.one_of(st.none(), rule_like.map(json.dumps), json_values.map(json.dumps), raw_bodies),
    params=st.dictionaries(st.sampled_from(["state", "rule", "twin", "limit", "continuationToken"]), nasty_text),
    extra=headers(),
)
def test_routes_never_answer_a_server_error(
    client: TestClient,
    route: tuple[str, str],
    name: str,
    body: str | bytes | None,
    params: dict[str, str],
    extra: dict[str, bytes],
) -> None:
    method, path = route
    url = path.replace("{x}", quote(name, safe="") or "x")
    sent = {"content-type": b"application/json", **extra} if body is not None else extra
    assert_contract(client.request(method, url, params=params, content=body, headers=sent))
