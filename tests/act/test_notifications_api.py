"""The notifications API: subscribers, channel settings, the delivery log, dead letters, the preview, the SSE
stream — and RFC 9457 problem+json, never a 500, on bad input."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futago.act.model import Alert
from futago.act.notify import NotificationService, NotificationSettings
from futago.api.notifications import router
from futago.api.server import create_api
from futago.app import App, notification_channel_types
from futago.core.events import Event
from futago.core.twins import now_iso
from futago.store.sql.notifications import SqlNotifications
from tests.act.test_notify_channels import WebhookServer

SECRET = "0123456789abcdef-shared"
CONFIGURED = {"site-smtp": {"type": "email", "host": "127.0.0.1", "port": 2525, "sender": "alerts@city.jp"}}


def make_service(app: App) -> NotificationService:
    config = {"retry": {"attempts": 2, "base_s": 0.05}, "channels": CONFIGURED}
    service = NotificationService(
        SqlNotifications(app.store.db), app.store, app.bus, NotificationSettings.parse(config), app.connections,
        channel_types=notification_channel_types(),
    )  # fmt: skip
    service.start()
    return service


def make_api(app: App) -> FastAPI:
    api = create_api(app)
    api.include_router(router)
    return api


@pytest.fixture
def service(app: App) -> Iterator[NotificationService]:
    notifications = make_service(app)
    app.notifications = notifications  # type: ignore[attr-defined]
    yield notifications
    notifications.close()


@pytest.fixture
def client(app: App, service: NotificationService) -> Iterator[TestClient]:
    with TestClient(make_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def hooks() -> Iterator[WebhookServer]:
    server = WebhookServer()
    yield server
    server.shutdown()
    server.server_close()


def alert(alert_id: str = "alert-1") -> Alert:
    return Alert(
        alert_id, "flood-danger", "river-1", "critical", "raised", now_iso(), {"ja": "氾濫危険", "en": "Flood danger"}
    )


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def pointers(response: httpx.Response) -> set[str]:
    return {e["pointer"] for e in problem(response, 422)["errors"]}


# -- subscribers -------------------------------------------------------------------------------------------


def test_subscriber_crud_masks_secrets(client: TestClient, app: App) -> None:
    app.twins.put("bldg-1", {"$metadata": {"$model": "dtmi:futago:demo:Building;1"}, "name": "B", "height": 9.0})
    body = {
        "name": "山田花子",
        "language": "ja",
        "home": "bldg-1",
        "channels": [{"type": "webhook", "url": "https://example.jp/hook", "secret": SECRET}, {"type": "dashboard"}],
    }
    created = client.put("/subscribers/hanako", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["channels"][0] == {
        "type": "webhook",
        "url": "https://example.jp/hook",
        "secret": "********",
        "name": "webhook",
    }
    assert client.put("/subscribers/hanako", json={**body, "language": "en"}).status_code == 200
    got = client.get("/subscribers/hanako").json()
    assert got["language"] == "en" and got["home"] == "bldg-1" and got["events"] == ["raised", "escalated", "resolved"]
    assert SECRET not in client.get("/subscribers").text
    client.put("/subscribers/taro", json={"point": [138.86, 35.10], "channels": [{"type": "dashboard"}]})
    page = client.get("/subscribers", params={"limit": 1}).json()
    assert [s["id"] for s in page["value"]] == ["hanako"] and page["next"] == "hanako"
    assert [s["id"] for s in client.get("/subscribers", params={"after": "hanako"}).json()["value"]] == ["taro"]
    assert client.delete("/subscribers/hanako").status_code == 204
    problem(client.get("/subscribers/hanako"), 404)
    problem(client.delete("/subscribers/hanako"), 404)


def test_bad_subscribers_are_problems_with_pointers(client: TestClient) -> None:
    webhook = {"type": "webhook", "url": "https://example.jp/hook", "secret": SECRET}
    cases: list[tuple[str, Any, set[str]]] = [
        ("a", {"language": "fr", "channels": [webhook]}, {"/language"}),
        ("a", {"point": [200, 35], "channels": [webhook]}, {"/point"}),
        ("a", {"point": [138.8, 35.1], "home": "x", "channels": [webhook]}, {"/point"}),
        ("a", {"home": "no-such-building", "channels": [webhook]}, {"/home"}),
        ("a", {"channels": []}, {"/channels"}),
        ("a", {"channels": [{"type": "pigeon"}]}, {"/channels/0/type"}),
        ("a", {"channels": [{**webhook, "url": "ftp://example.jp"}]}, {"/channels/0/url"}),
        ("a", {"channels": [{**webhook, "url": "http://example.jp:99999/x"}]}, {"/channels/0/url"}),
        ("a", {"channels": [{**webhook, "secret": "short"}]}, {"/channels/0/secret"}),
        ("a", {"channels": [{"type": "email", "to": "not-an-address"}]}, {"/channels/0/to", "/channels/0/via"}),
        ("a", {"channels": [{"type": "mqtt", "topic": "a/#", "host": "h"}]}, {"/channels/0/topic"}),
        ("a", {"channels": [{"type": "mqtt", "connection": "nope"}]}, {"/channels/0/connection"}),
        ("a", {"channels": [webhook, {**webhook, "name": "webhook"}]}, {"/channels/1/name"}),
        (
            "a",
            {"rules": "flood", "minSeverity": "huge", "events": ["born"], "channels": [webhook]},
            {"/rules", "/minSeverity", "/events"},
        ),
        ("a", {"colour": "blue", "channels": [webhook]}, {"/colour"}),
        ("bad id!", {"channels": [webhook]}, {"/id"}),
    ]
    for subscriber_id, body, expected in cases:
        response = client.put(f"/subscribers/{subscriber_id}", json=body)
        assert pointers(response) == expected, (body, response.json())
    assert pointers(client.put("/subscribers/a", json=[1, 2])) == {""}
    problem(client.put("/subscribers/a", content=b"{not json", headers={"content-type": "application/json"}), 422)


# -- named channel settings --------------------------------------------------------------------------------


def test_channel_settings_crud(client: TestClient) -> None:
    smtp = {
        "type": "email",
        "host": "smtp.example.jp",
        "port": 587,
        "starttls": True,
        "sender": "alerts@example.jp",
        "username": "futago",
        "password": "hunter2-hunter2",
    }
    assert client.put("/notification-channels/email", json=smtp).status_code == 201
    assert client.put("/notification-channels/email", json=smtp).status_code == 200
    shown = client.get("/notification-channels/email").json()
    assert shown["password"] == "********" and shown["source"] == "api" and shown["host"] == "smtp.example.jp"
    names = {c["name"]: c["source"] for c in client.get("/notification-channels").json()["value"]}
    assert names == {"email": "api", "site-smtp": "configuration"}

    client.put("/subscribers/ops", json={"rules": ["*"], "channels": [{"type": "email", "to": "ops@example.jp"}]})
    assert "ops" in problem(client.delete("/notification-channels/email"), 409)["detail"]
    problem(client.delete("/notification-channels/site-smtp"), 409)  # defined in the configuration
    client.delete("/subscribers/ops")
    assert client.delete("/notification-channels/email").status_code == 204
    problem(client.get("/notification-channels/email"), 404)

    assert pointers(client.put("/notification-channels/x", json={"type": "email", "port": 0})) == {
        "/host",
        "/port",
        "/sender",
    }
    assert pointers(client.put("/notification-channels/x", json={"type": "fax"})) == {"/type"}
    assert pointers(client.put("/notification-channels/x", json={"type": "webhook"})) == {""}
    assert pointers(
        client.put("/notification-channels/x", json={"type": "mqtt", "host": "h", "retry": {"attempts": 0}})
    ) == {"/retry/attempts"}
    assert pointers(client.put("/notification-channels/bad%20name", json={"type": "mqtt", "host": "h"})) == {"/name"}


# -- the log, dead letters, preview, SSE -------------------------------------------------------------------


def _wait_for(predicate: Any, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_delivery_log_dead_letters_and_their_retry(
    client: TestClient, app: App, service: NotificationService, hooks: WebhookServer
) -> None:
    hooks.plans["/ops"] = [500, 500]  # both attempts fail
    hook = {"type": "webhook", "url": hooks.url("/ops"), "secret": SECRET}
    client.put("/subscribers/ops", json={"language": "en", "rules": ["flood-*"], "channels": [hook]})
    app.bus.publish(Event("alert.raised", now_iso(), twin_id="river-1", data=alert().to_json()))
    assert service.wait_idle(10)

    [letter] = client.get("/notifications/dead-letters").json()["value"]
    assert letter["subscriberId"] == "ops" and "HTTP 500" in letter["reason"] and letter["attempts"] == 2
    [record] = client.get("/notifications", params={"alertId": "alert-1"}).json()["value"]
    assert record["outcome"] == "failed" and record["channel"] == "webhook" and record["subscriberId"] == "ops"
    assert {"queuedAt", "sentAt", "receivedAt", "attempts", "error"} <= set(record)
    assert client.get("/notifications", params={"outcome": "sent"}).json()["value"] == []

    retried = client.post("/notifications/dead-letters/retry", json={"ids": [letter["id"]]})
    assert retried.status_code == 202 and retried.json()["value"][0]["requeued"] is True
    assert service.wait_idle(10)
    again = client.get(f"/notifications/{record['id']}").json()
    assert again["outcome"] == "sent" and again["attempts"] == 3 and again["sentAt"]
    assert client.get("/notifications/dead-letters").json()["value"] == []

    assert pointers(client.post("/notifications/dead-letters/retry", json={"ids": [letter["id"]]})) == {"/ids"}
    assert pointers(client.post("/notifications/dead-letters/retry", json={"ids": []})) == {"/ids"}
    problem(client.delete(f"/notifications/dead-letters/{letter['id']}"), 404)
    problem(client.get("/notifications/no-such-delivery"), 404)
    assert pointers(client.get("/notifications", params={"outcome": "lost"})) == {"/outcome"}


def test_preview_names_recipients_without_sending(client: TestClient, service: NotificationService) -> None:
    client.put("/subscribers/ops-ja", json={"rules": ["flood-*"], "channels": [{"type": "dashboard"}]})
    client.put(
        "/subscribers/ops-en", json={"language": "en", "rules": ["flood-*"], "channels": [{"type": "dashboard"}]}
    )
    client.put("/subscribers/pumps", json={"rules": ["pump-*"], "channels": [{"type": "dashboard"}]})
    response = client.post(
        "/notifications/preview",
        json={"rule": "flood-danger", "twinId": "river-1", "area": {"zone": "nowhere"}, "message": {"en": "High"}},
    )
    assert response.status_code == 200, response.text
    found = {r["subscriberId"]: r for r in response.json()["value"]}
    assert set(found) == {"ops-ja", "ops-en"}
    assert found["ops-en"]["subject"] == "[Warning] flood-danger" and "High" in found["ops-en"]["text"]
    assert found["ops-ja"]["subject"] == "【警戒】flood-danger"
    assert service.list_deliveries() == []
    assert pointers(client.post("/notifications/preview", json={"area": {}, "severity": "apocalyptic"})) == {
        "/severity"
    }


def test_without_the_service_the_routes_answer_503(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "notifications", None, raising=False)
    with TestClient(make_api(app), raise_server_exceptions=False) as client:
        problem(client.get("/subscribers"), 503)


def test_the_sse_stream_shows_notifications(app: App, service: NotificationService) -> None:
    import uvicorn

    service.put_subscriber("screen", {"language": "en", "rules": ["*"], "channels": [{"type": "dashboard"}]})
    server = uvicorn.Server(uvicorn.Config(make_api(app), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        lines: list[str] = []
        with httpx.stream("GET", f"http://127.0.0.1:{port}/events", params={"type": "notification"}, timeout=10) as s:
            for line in s.iter_lines():
                lines.append(line)
                if line == ": connected":
                    app.bus.publish(Event("alert.raised", now_iso(), twin_id="river-1", data=alert().to_json()))
                if line.startswith("data:") and "notification.sent" in line:
                    break
        assert "event: notification.sent" in lines
        assert '"subscriberId"' not in lines[-1] and '"subject":"[Danger] flood-danger"' in lines[-1]
    finally:
        server.should_exit = True
        thread.join(10)


# -- never a 500 -------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)
subscriber_bodies = st.fixed_dictionaries(
    {},
    optional={
        "name": json_values,
        "language": st.sampled_from(["ja", "en", "de"]) | json_values,
        "home": json_values,
        "point": st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.integers(), max_size=3) | json_values,
        "rules": json_values,
        "minSeverity": json_values,
        "events": json_values,
        "channels": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["webhook", "mqtt", "email", "dashboard", "x"])},
                optional={
                    "url": json_values | st.just("http://[::1"),
                    "secret": json_values,
                    "to": json_values,
                    "topic": json_values,
                    "via": json_values,
                    "host": json_values,
                    "port": json_values,
                    "connection": json_values,
                    "name": json_values,
                    "qos": json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(
    subscriber_id=st.text(min_size=1, max_size=20).filter(lambda s: "/" not in s and s not in (".", "..")),
    body=subscriber_bodies,
    spec=st.dictionaries(st.sampled_from(["type", "host", "port", "sender", "retry", "tls", "ssl"]), json_values),
)
def test_no_input_makes_a_server_error(client: TestClient, subscriber_id: str, body: Any, spec: Any) -> None:
    from urllib.parse import quote

    for response in (
        client.put(f"/subscribers/{quote(subscriber_id, safe='')}", json=body),
        client.put(f"/notification-channels/{quote(subscriber_id, safe='')}", json=spec),
        client.post("/notifications/preview", json={"area": body}),
    ):
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            problem(response, response.status_code)
