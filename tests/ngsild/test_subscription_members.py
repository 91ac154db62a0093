"""Subscription members as GS CIM 009 V1.8.1 clauses 5.2.12, 5.2.14 and 5.8 state them: what GET echoes back
(numbers as given, the default notificationTrigger, datasetId, isActive only when sent), and what is refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

RIVER = "urn:ngsi-ld:Subscription:arakawa-level"


def river_subscription(**more: Any) -> dict[str, Any]:
    return {
        "id": RIVER,
        "type": "Subscription",
        "entities": [{"type": "WaterObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/river"}},
        **more,
    }


def problem(answer: Any, status: int, kind: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"


def test_get_echoes_what_was_sent_with_defaults(client: TestClient) -> None:
    created = client.post(
        f"{BASE}/subscriptions", json=river_subscription(timeInterval=600, datasetId=["urn:ngsi-ld:Dataset:gauge-b"])
    )
    assert created.status_code == 201, created.text
    got = client.get(f"{BASE}/subscriptions/{RIVER}").json()
    assert got["timeInterval"] == 600 and isinstance(got["timeInterval"], int)
    assert got["datasetId"] == ["urn:ngsi-ld:Dataset:gauge-b"]
    assert got["notificationTrigger"] == ["attributeCreated", "attributeUpdated"]
    assert "isActive" not in got and got["status"] == "active"
    assert client.patch(f"{BASE}/subscriptions/{RIVER}", json={"isActive": False}).status_code == 204
    paused = client.get(f"{BASE}/subscriptions/{RIVER}").json()
    assert paused["isActive"] is False and paused["status"] == "paused"


def test_notification_trigger_is_kept_and_checked(client: TestClient) -> None:
    sent = river_subscription(notificationTrigger=["entityCreated", "attributeDeleted"])
    assert client.post(f"{BASE}/subscriptions", json=sent).status_code == 201
    got = client.get(f"{BASE}/subscriptions/{RIVER}").json()
    assert got["notificationTrigger"] == ["entityCreated", "attributeDeleted"]
    wrong = river_subscription(id="urn:ngsi-ld:Subscription:x", notificationTrigger=["levelRose"])
    problem(client.post(f"{BASE}/subscriptions", json=wrong), 400, "BadRequestData")


def test_show_changes_needs_a_format_with_attribute_objects(client: TestClient) -> None:
    for form in ("keyValues", "simplified"):
        sent = river_subscription()
        sent["notification"] = {**sent["notification"], "format": form, "showChanges": True}
        problem(client.post(f"{BASE}/subscriptions", json=sent), 400, "BadRequestData")
    sent = river_subscription()
    sent["notification"] = {**sent["notification"], "format": "normalized", "showChanges": True}
    assert client.post(f"{BASE}/subscriptions", json=sent).status_code == 201


def test_jsonld_context_must_be_a_loadable_url(client: TestClient) -> None:
    not_a_url = river_subscription(jsonldContext="rivers")
    problem(client.post(f"{BASE}/subscriptions", json=not_a_url), 400, "BadRequestData")
    unreachable = river_subscription(jsonldContext="http://127.0.0.1:9/no-such-context.jsonld")
    problem(client.post(f"{BASE}/subscriptions", json=unreachable), 503, "LdContextNotAvailable")
    assert client.get(f"{BASE}/subscriptions/{RIVER}").status_code == 404  # nothing kept from either


def test_ids_that_are_not_uris_and_past_expiry_on_update(client: TestClient) -> None:
    for method in ("get", "delete"):
        problem(getattr(client, method)(f"{BASE}/subscriptions/arakawa"), 400, "BadRequestData")
    problem(client.patch(f"{BASE}/subscriptions/arakawa", json={"isActive": True}), 400, "BadRequestData")
    assert client.post(f"{BASE}/subscriptions", json=river_subscription()).status_code == 201
    past = client.patch(f"{BASE}/subscriptions/{RIVER}", json={"expiresAt": "2001-03-11T05:46:00Z"})
    problem(past, 400, "BadRequestData")
    assert "expiresAt" not in client.get(f"{BASE}/subscriptions/{RIVER}").json()
