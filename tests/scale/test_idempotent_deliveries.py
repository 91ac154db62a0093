"""At-least-once deliveries made detectable: a leader that dies after sending but before recording the outcome
leaves the delivery queued, and the next leader sends it again. Every HTTP delivery carries an ``Idempotency-Key``
(the delivery's id, kept with the body before the first attempt), the same on the first send, on every retry and
after the takeover, so the receiver can drop the repeat. Both store adapters."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from futago.act.model import Alert
from futago.act.notify import RetryPolicy
from futago.api.server import create_api
from futago.app import App, build
from futago.config import Settings
from futago.core.twins import now_iso
from futago.samples import demo_models
from tests.act.test_notify_channels import SECRET, WebhookServer, operator
from tests.ngsild.conftest import BASE
from tests.ngsild.notifications import Receiver, leading
from tests.ngsild.test_subscriptions import observed, subscription
from tests.store.adapters import ADAPTERS, database_url


@pytest.fixture(params=ADAPTERS)
def make_app(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], App]]:
    """Apps on one store: the leader before and after a takeover."""
    monkeypatch.chdir(tmp_path)  # a database server's store keeps its audit key in ./futago-data
    db = database_url(request.param, request, tmp_path)
    opened: list[App] = []

    def make() -> App:
        app = build(Settings(db=db, data_root=str(tmp_path)))
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def dies_before_recording(app: App) -> None:
    """The leader sends, then is killed before the delivery's outcome reaches the log."""
    app.notifications.deliveries.record = lambda *args, **kwargs: None  # type: ignore[method-assign]


def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_webhook_sent_again_after_a_takeover_carries_the_same_idempotency_key(
    make_app: Callable[[], App],
) -> None:
    hooks = WebhookServer()
    try:
        first = make_app()
        first.start()
        entry = {"type": "webhook", "url": hooks.url("/ops"), "secret": SECRET}
        first.notifications.put_subscriber("ops", operator([entry]))
        dies_before_recording(first)
        alert = Alert("alert-7", "flood-danger", "river-1", "critical", "raised", now_iso(), message={"ja": "避難"})
        [delivery_id] = first.notifications.notify(alert)
        wait_for(lambda: len(hooks.on("/ops")) == 1)
        first.close()

        second = make_app()
        second.start()  # the next leader: the log still says queued, so it sends again
        assert second.notifications.wait_idle(15)
        wait_for(lambda: len(hooks.on("/ops")) == 2)
        keys = [headers["Idempotency-Key"] for _, headers, _ in hooks.on("/ops")]
        assert keys == [delivery_id, delivery_id]
        assert [orjson.loads(body)["id"] for _, _, body in hooks.on("/ops")] == [delivery_id, delivery_id]
        assert second.notifications.delivery(delivery_id)["outcome"] == "sent"
    finally:
        hooks.shutdown()
        hooks.server_close()


def test_an_ngsild_notification_keeps_its_id_and_key_on_retries_and_after_a_takeover(
    make_app: Callable[[], App],
) -> None:
    receiver = Receiver()
    try:
        first = make_app()
        first.models.add(demo_models())
        leading(first)
        named = first.notifications.named  # a second to act between the failed attempt and the next
        named.settings = dataclasses.replace(named.settings, retry=RetryPolicy(attempts=5, base_s=1.0, max_s=1.0))
        with TestClient(create_api(first), raise_server_exceptions=False) as client:
            sub = subscription(receiver.url, id="urn:ngsi-ld:Subscription:once")
            assert client.post(f"{BASE}/subscriptions", json=sub).status_code == 201
            receiver.fail = True  # the first attempt fails: retried with the same notification
            assert client.post(f"{BASE}/entities", json=observed()).status_code == 201
            wait_for(lambda: len(receiver.received) == 1)
            receiver.fail = False
            dies_before_recording(first)  # the retry arrives, its outcome is never recorded
            wait_for(lambda: len(receiver.received) == 2)
        first.close()

        second = make_app()
        leading(second)  # resumes what the log still holds as retrying
        wait_for(lambda: len(receiver.received) == 3)
        assert second.notifications.wait_idle(10)
        keys = {headers["Idempotency-Key"] for headers, _ in receiver.received}
        ids = {body["id"] for _, body in receiver.received}
        assert len(keys) == 1 and ids == {f"urn:ngsi-ld:Notification:{next(iter(keys))}"}
        assert {headers["X-Futago-Delivery"] for headers, _ in receiver.received} == keys
    finally:
        receiver.close()
