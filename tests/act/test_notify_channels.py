"""Notification channels against real peers: a local HTTP server for webhooks (HMAC, retries with backoff, dead
letters), a real Mosquitto broker, a real SMTP server (aiosmtpd), and the bus for the dashboard."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import itertools
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from futago.act.model import Alert
from futago.act.notify import NOTIFICATION_FAILED, NOTIFICATION_SENT, NotificationService, NotificationSettings
from futago.app import App, notification_channel_types
from futago.core.events import Event
from futago.core.twins import now_iso
from futago.store.sql.notifications import SqlNotifications
from tests.conftest import Broker, free_port

SECRET = "s3cret-shared-with-the-receiver"
FAST_RETRY = {"attempts": 4, "base_s": 0.05, "factor": 2.0, "max_s": 1.0}


# -- peers -------------------------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"  # keep-alive, as most webhook receivers do

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        server = self.server
        with server.lock:
            server.received.append((time.monotonic(), self.path, dict(self.headers), body))
            plan = server.plans.get(self.path, [])
            status = plan.pop(0) if plan else 200
        delay = server.delays.get(self.path, 0.0)
        if delay:
            time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


class WebhookServer(ThreadingHTTPServer):
    """A real HTTP endpoint that records what arrives and answers from a per-path plan of status codes."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hook)
        self.received: list[tuple[float, str, dict[str, str], bytes]] = []
        self.plans: dict[str, list[int]] = {}
        self.delays: dict[str, float] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def on(self, path: str) -> list[tuple[float, dict[str, str], bytes]]:
        with self.lock:
            return [(t, h, b) for t, p, h, b in self.received if p == path]


@pytest.fixture
def hooks() -> Iterator[WebhookServer]:
    server = WebhookServer()
    yield server
    server.shutdown()
    server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Inbox]]:
    controller_module = pytest.importorskip("aiosmtpd.controller")
    inbox = _Inbox()
    port = free_port()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


# -- helpers -----------------------------------------------------------------------------------------------


def service_for(app: App, **settings: Any) -> NotificationService:
    config = {"retry": FAST_RETRY, **settings}
    service = NotificationService(
        SqlNotifications(app.store.db), app.store, app.bus, NotificationSettings.parse(config), app.connections,
        channel_types=notification_channel_types(),
    )  # fmt: skip
    service.start()
    return service


@pytest.fixture
def notify(app: App) -> Iterator[NotificationService]:
    service = service_for(app)
    yield service
    service.close()


def flood_alert(alert_id: str = "alert-1", **changes: Any) -> Alert:
    alert = Alert(
        id=alert_id,
        rule="flood-danger",
        twin_id="river-1",
        severity="critical",
        state="raised",
        raised_at=now_iso(),
        message={
            "ja": "狩野川の水位が氾濫危険水位を超えました。",
            "en": "The Kano River is above the flood danger level.",
        },
    )
    for key, value in changes.items():
        setattr(alert, key, value)
    return alert


def publish(app: App, alert: Alert, kind: str = "raised") -> None:
    app.bus.publish(Event(f"alert.{kind}", now_iso(), twin_id=alert.twin_id, data=alert.to_json()))


def operator(channels: list[dict[str, Any]], language: str = "ja") -> dict[str, Any]:
    """A subscriber without a place: it gets the alerts of the rules it names."""
    return {"name": "Duty officer", "language": language, "rules": ["flood-*"], "channels": channels}


def seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# -- webhook -----------------------------------------------------------------------------------------------


def test_webhook_is_signed_and_carries_the_message_in_the_subscribers_language(
    app: App, notify: NotificationService, hooks: WebhookServer
) -> None:
    notify.put_subscriber("ops-ja", operator([{"type": "webhook", "url": hooks.url("/ja"), "secret": SECRET}]))
    notify.put_subscriber("ops-en", operator([{"type": "webhook", "url": hooks.url("/en"), "secret": SECRET}], "en"))
    publish(app, flood_alert())
    assert notify.wait_idle(10)

    for path, language in (("/ja", "ja"), ("/en", "en")):
        [(_, headers, body)] = hooks.on(path)
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Futago-Signature"], expected)
        message = orjson.loads(body)
        # the timestamp is inside the signed body as well as in its header: a replay cannot refresh it
        assert message["timestamp"] == int(headers["X-Futago-Timestamp"])
        assert abs(time.time() - message["timestamp"]) < 60
        assert headers["X-Futago-Delivery"] == message["id"]
        assert message["language"] == language
        assert message["alert"]["id"] == "alert-1"
        if language == "ja":
            assert "狩野川の水位が氾濫危険水位を超えました。" in message["text"]
            assert message["subject"].startswith("【危険】")
        else:
            assert "The Kano River is above the flood danger level." in message["text"]
            assert message["subject"].startswith("[Danger]")
    # a forged body fails verification with the receiver's secret
    _, headers, body = hooks.on("/ja")[0]
    forged = body.replace(b"alert-1", b"alert-2")
    assert headers["X-Futago-Signature"] != "sha256=" + hmac.new(SECRET.encode(), forged, hashlib.sha256).hexdigest()

    log = notify.list_deliveries(alert_id="alert-1")
    assert {(r["subscriberId"], r["channel"], r["outcome"]) for r in log} == {
        ("ops-ja", "webhook", "sent"),
        ("ops-en", "webhook", "sent"),
    }
    assert all(r["queuedAt"] <= r["sentAt"] <= r["confirmedAt"] for r in log)


def test_webhook_retries_with_exponential_backoff_until_it_is_accepted(
    app: App, notify: NotificationService, hooks: WebhookServer
) -> None:
    hooks.plans["/flaky"] = [503, 500, 429]  # fails three times, then accepts
    notify.put_subscriber("ops", operator([{"type": "webhook", "url": hooks.url("/flaky"), "secret": SECRET}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)

    arrivals = hooks.on("/flaky")
    assert len(arrivals) == 4
    ids = {orjson.loads(body)["id"] for _, _, body in arrivals}
    assert len(ids) == 1, "every retry carries the same delivery id, so the receiver can de-duplicate"
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    for n, gap in enumerate(gaps, start=1):  # lower bounds only: jitter and scheduling only add
        assert gap >= FAST_RETRY["base_s"] * 2 ** (n - 1) * 0.95, gaps
    print(f"\nwebhook retry gaps: {[round(g * 1000) for g in gaps]} ms")
    [record] = notify.list_deliveries(alert_id="alert-1")
    assert record["outcome"] == "sent" and record["attempts"] == 4 and record["error"] is None
    assert notify.list_dead_letters() == []


def test_webhook_dead_letter_after_the_last_attempt_and_its_retry(
    app: App, notify: NotificationService, hooks: WebhookServer
) -> None:
    hooks.plans["/down"] = [500] * 4
    failed: list[Event] = []
    app.bus.subscribe(lambda e: failed.append(e) if e.type == NOTIFICATION_FAILED else None)
    notify.put_subscriber("ops", operator([{"type": "webhook", "url": hooks.url("/down"), "secret": SECRET}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)

    assert len(hooks.on("/down")) == FAST_RETRY["attempts"]
    [letter] = notify.list_dead_letters()
    assert letter["subscriberId"] == "ops" and letter["channelType"] == "webhook"
    assert letter["attempts"] == 4 and "HTTP 500" in letter["reason"]
    [record] = notify.list_deliveries(alert_id="alert-1")
    assert record["outcome"] == "failed" and record["attempts"] == 4
    assert [e.data["id"] for e in failed] == [letter["id"]]

    # the endpoint is back: retrying the letter delivers it, and the letter leaves the list
    [outcome] = notify.retry_dead_letters([letter["id"]])
    assert outcome["requeued"] is True
    assert notify.wait_idle(10)
    assert notify.list_dead_letters() == []
    record = notify.delivery(record["id"])
    assert record["outcome"] == "sent" and record["attempts"] == 5
    assert len(hooks.on("/down")) == 5


def test_a_client_error_is_final_at_once(app: App, notify: NotificationService, hooks: WebhookServer) -> None:
    hooks.plans["/gone"] = [404]
    notify.put_subscriber("ops", operator([{"type": "webhook", "url": hooks.url("/gone"), "secret": SECRET}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)
    assert len(hooks.on("/gone")) == 1, "sending the same request again cannot turn a 404 into a 2xx"
    [letter] = notify.list_dead_letters()
    assert letter["attempts"] == 1 and "HTTP 404" in letter["reason"]


def test_an_unreachable_endpoint_is_retried_then_dead(app: App, notify: NotificationService) -> None:
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    notify.put_subscriber("ops", operator([{"type": "webhook", "url": url, "secret": SECRET}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)
    [letter] = notify.list_dead_letters()
    assert letter["attempts"] == FAST_RETRY["attempts"] and "cannot reach" in letter["reason"]


def test_a_slow_channel_does_not_hold_up_the_others(app: App, hooks: WebhookServer) -> None:
    service = service_for(app, workers={"webhook": 2})
    try:
        hooks.delays["/slow"] = 0.6
        for n in range(4):  # twice as many slow webhooks as webhook workers
            service.put_subscriber(
                f"slow-{n}", operator([{"type": "webhook", "url": hooks.url("/slow"), "secret": SECRET}])
            )
        for n in range(20):
            service.put_subscriber(f"screen-{n}", operator([{"type": "dashboard"}]))
        publish(app, flood_alert())
        assert service.wait_idle(10)
        log = service.list_deliveries(alert_id="alert-1", limit=1000)
        dashboard = [r for r in log if r["channelType"] == "dashboard"]
        webhooks = [r for r in log if r["channelType"] == "webhook"]
        assert len(dashboard) == 20 and len(webhooks) == 4
        assert all(r["outcome"] == "sent" for r in log)
        assert max(r["sentAt"] for r in dashboard) < min(r["confirmedAt"] for r in webhooks)
    finally:
        service.close()


# -- MQTT --------------------------------------------------------------------------------------------------


def test_mqtt_publishes_with_qos_1_on_the_subscribers_topic(
    app: App, notify: NotificationService, broker: Broker
) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    received: list[paho.MQTTMessage] = []
    subscribed = threading.Event()
    listener = paho.Client(CallbackAPIVersion.VERSION2, client_id="resident-device")
    listener.on_message = lambda _c, _u, message: received.append(message)
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_connect = lambda client, *_: client.subscribe("residents/#", qos=1)
    listener.connect(broker.host, broker.port)
    listener.loop_start()
    try:
        assert subscribed.wait(5)
        notify.put_channel(
            "city-broker", {"type": "mqtt", "host": broker.host, "port": broker.port, "protocol": "3.1.1"}
        )
        notify.put_subscriber(
            "device-7",
            operator([{"type": "mqtt", "via": "city-broker", "topic": "residents/{subscriber}/alerts"}], "en"),
        )
        notify.put_subscriber(
            "device-8",
            operator([{"type": "mqtt", "host": broker.host, "port": broker.port, "topic": "residents/{subscriber}"}]),
        )
        publish(app, flood_alert())
        assert notify.wait_idle(10)
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        listener.loop_stop()
        listener.disconnect()
    by_topic = {m.topic: m for m in received}
    assert set(by_topic) == {"residents/device-7/alerts", "residents/device-8"}
    assert all(m.qos == 1 for m in received)
    english = orjson.loads(by_topic["residents/device-7/alerts"].payload)
    japanese = orjson.loads(by_topic["residents/device-8"].payload)
    assert english["language"] == "en" and "evacuate" not in english["text"]  # no zone: the general template
    assert english["subject"] == "[Danger] flood-danger"
    assert japanese["language"] == "ja" and japanese["subject"] == "【危険】flood-danger"
    log = notify.list_deliveries(alert_id="alert-1")
    assert {r["outcome"] for r in log} == {"sent"} and {r["channelType"] for r in log} == {"mqtt"}


def test_mqtt_through_an_ingest_connection(app: App, notify: NotificationService, broker: Broker) -> None:
    mapping = {"source": "river/{station}", "twin": "river-{station}", "telemetry": "waterLevel"}
    options = {"host": broker.host, "port": broker.port}
    app.connections.put("river", {"type": "mqtt", "options": options, "mappings": [mapping], "autostart": False})
    notify.put_subscriber("device-9", operator([{"type": "mqtt", "connection": "river", "topic": "out/{subscriber}"}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)
    [record] = notify.list_deliveries(alert_id="alert-1")
    assert record["outcome"] == "sent", record


# -- email -------------------------------------------------------------------------------------------------


def test_email_through_a_real_smtp_server_in_each_language(
    app: App, notify: NotificationService, smtp: tuple[int, _Inbox]
) -> None:
    port, inbox = smtp
    notify.put_channel(
        "email", {"type": "email", "host": "127.0.0.1", "port": port, "sender": "alerts@city.example.jp"}
    )
    notify.put_subscriber("tanaka", operator([{"type": "email", "to": "tanaka@example.jp"}], "ja"))
    notify.put_subscriber(
        "smith", operator([{"type": "email", "to": ["smith@example.com", "family@example.com"]}], "en")
    )
    publish(app, flood_alert())
    assert notify.wait_idle(10)

    by_first = {rcpts[0]: (rcpts, message) for rcpts, message in inbox.messages}
    assert set(by_first) == {"tanaka@example.jp", "smith@example.com"}
    rcpts, japanese = by_first["tanaka@example.jp"]
    assert rcpts == ["tanaka@example.jp"]
    assert japanese["Subject"] == "【危険】flood-danger" and japanese["From"] == "alerts@city.example.jp"
    assert japanese["Content-Language"] == "ja"
    assert "狩野川の水位が氾濫危険水位を超えました。" in japanese.get_content()
    rcpts, english = by_first["smith@example.com"]
    assert rcpts == ["smith@example.com", "family@example.com"]
    assert english["Subject"] == "[Danger] flood-danger" and english["Content-Language"] == "en"
    body = english.get_content()
    assert "The Kano River is above the flood danger level." in body and "狩野川" not in body
    assert {r["outcome"] for r in notify.list_deliveries(alert_id="alert-1")} == {"sent"}


def test_an_smtp_server_that_is_down_is_retried_then_dead(app: App, notify: NotificationService) -> None:
    notify.put_channel("email", {"type": "email", "host": "127.0.0.1", "port": free_port(), "sender": "a@city.jp"})
    notify.put_subscriber("tanaka", operator([{"type": "email", "to": "tanaka@example.jp"}]))
    publish(app, flood_alert())
    assert notify.wait_idle(10)
    [letter] = notify.list_dead_letters()
    assert letter["channelType"] == "email" and letter["attempts"] == FAST_RETRY["attempts"]


# -- dashboard, events, once only --------------------------------------------------------------------------


def test_the_dashboard_gets_a_notification_sent_event_once_per_delivery(app: App, notify: NotificationService) -> None:
    events: list[Event] = []
    app.bus.subscribe(lambda e: events.append(e) if e.type == NOTIFICATION_SENT else None)
    notify.put_subscriber("screen", operator([{"type": "dashboard"}], "en"))
    alert = flood_alert()
    publish(app, alert)
    publish(app, alert)  # the same event twice notifies once
    assert notify.wait_idle(10)
    [event] = events
    assert event.twin_id == "river-1"
    assert "subscriberId" not in event.data and event.data["channelType"] == "dashboard"  # no personal data
    assert event.data["subject"].startswith("[") and event.data["sentAt"]

    # an escalation is a new notification; the acknowledgement is not in the default events
    alert.escalation = 1
    publish(app, alert, "escalated")
    publish(app, alert, "acknowledged")
    assert notify.wait_idle(10)
    assert [e.data["event"] for e in events] == ["alert.raised", "alert.escalated"]
    assert events[1].data["subject"].startswith("[Reminder, Danger]")


def test_a_restarted_service_does_not_notify_an_alert_again(app: App) -> None:
    first = service_for(app)
    first.put_subscriber("screen", operator([{"type": "dashboard"}]))
    alert = flood_alert()
    publish(app, alert)
    assert first.wait_idle(10)
    first.close()

    second = service_for(app)  # the same store: subscribers and the delivery log survive
    try:
        publish(app, alert)
        assert second.wait_idle(10)
        assert len(second.list_deliveries(alert_id="alert-1")) == 1
        assert second.get_subscriber("screen")["rules"] == ["flood-*"]
    finally:
        second.close()
