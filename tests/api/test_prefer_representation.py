"""RFC 7240 ``Prefer: return=representation`` on the operations that answer 204 (issue 16): without the header the
answer is 204 as always; with it, 200 with the resource as GET showed it (secrets masked, shaped for the caller),
``Preference-Applied`` says so, and the resource is gone all the same."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.api.prefer import wants_representation
from futago.api.server import create_api
from futago.app import App
from futago.core.secrets import MASK
from futago.security.policy import PolicyEntry
from tests.api.conftest import M, building
from tests.conftest import free_port

PREFER = {"Prefer": "return=representation"}
PASSWORD, WEBHOOK_SECRET = "mqtt-pa55word-e61f", "webhook-secret-77d0-77d0"


def located_in(target: str) -> dict[str, str]:
    return {"$relationshipName": "locatedIn", "$targetId": target}


def deleted_with_representation(client: TestClient, url: str, **headers: str) -> Any:
    """DELETE ``url`` asking for the representation: it must be GET's body, and the resource then gone."""
    shown = client.get(url, headers=headers)
    assert shown.status_code == 200, shown.text
    answer = client.delete(url, headers={**PREFER, **headers})
    assert answer.status_code == 200, answer.text
    assert answer.headers["preference-applied"] == "return=representation"
    assert answer.json() == shown.json()
    assert client.get(url, headers=headers).status_code == 404
    return answer.json()


def deleted_quietly(client: TestClient, url: str) -> None:
    """DELETE ``url`` without the header: 204 with no body, as before the header was understood."""
    answer = client.delete(url)
    assert answer.status_code == 204 and answer.content == b"" and "preference-applied" not in answer.headers
    assert client.get(url).status_code == 404


def test_a_twin_and_a_relationship(client: TestClient, district: str) -> None:
    assert client.put("/twins/b-1", json=building(12.0)).status_code == 201
    assert client.put("/twins/b-1/relationships/r1", json=located_in(district)).status_code == 201
    relationship = deleted_with_representation(client, "/twins/b-1/relationships/r1")
    assert relationship["$targetId"] == district and relationship["$relationshipName"] == "locatedIn"
    twin = deleted_with_representation(client, "/twins/b-1")
    assert twin["$dtId"] == "b-1" and twin["height"] == 12.0
    assert client.put("/twins/b-1", json=building(12.0)).status_code == 201
    assert client.put("/twins/b-1/relationships/r1", json=located_in(district)).status_code == 201
    deleted_quietly(client, "/twins/b-1/relationships/r1")
    deleted_quietly(client, "/twins/b-1")

    # with return=minimal, or another preference only: 204 and no body, as without the header
    for headers in ({"Prefer": "return=minimal"}, {"Prefer": "respond-async"}):
        assert client.put("/twins/b-2", json=building()).status_code == 201
        answer = client.delete("/twins/b-2", headers=headers)
        assert answer.status_code == 204 and answer.content == b"" and "preference-applied" not in answer.headers
    # a failed delete fails as without the header
    assert client.delete("/twins/nope", headers=PREFER).status_code == 404
    assert client.put("/twins/b-3", json=building()).status_code == 201
    assert client.delete("/twins/b-3", headers={**PREFER, "If-Match": 'W/"other"'}).status_code == 412
    assert client.get("/twins/b-3").status_code == 200


def test_a_connection_shows_its_secrets_masked(client: TestClient) -> None:
    config = {
        "type": "mqtt",
        "options": {"host": "127.0.0.1", "port": free_port(), "username": "futago", "password": PASSWORD},
        "mappings": [{"source": "city/river/{station}/level", "twin": "river-{station}", "telemetry": "waterLevel"}],
        "autostart": False,
    }
    assert client.put("/connections/river", json=config).status_code == 200
    deleted_quietly(client, "/connections/river")
    assert client.put("/connections/river", json=config).status_code == 200
    shown = deleted_with_representation(client, "/connections/river")
    assert shown["options"]["password"] == MASK and shown["name"] == "river" and PASSWORD not in str(shown)


def test_a_subscriber_shows_its_secrets_masked(client: TestClient) -> None:
    subscriber = {"language": "en", "rules": ["*"], "channels": [{"type": "webhook", "url": "https://hooks.example.jp/in",
                  "secret": WEBHOOK_SECRET}]}  # fmt: skip
    assert client.put("/subscribers/resident-1", json=subscriber).status_code == 201
    deleted_quietly(client, "/subscribers/resident-1")
    assert client.put("/subscribers/resident-1", json=subscriber).status_code == 201
    shown = deleted_with_representation(client, "/subscribers/resident-1")
    assert shown["channels"][0]["secret"] == MASK and WEBHOOK_SECRET not in str(shown)


def test_named_channel_settings_show_their_password_masked(client: TestClient) -> None:
    smtp = {"type": "email", "host": "smtp.example.jp", "port": 587, "sender": "alerts@city.jp",
            "username": "alerts", "password": PASSWORD}  # fmt: skip
    assert client.put("/notification-channels/smtp", json=smtp).status_code == 201
    shown = deleted_with_representation(client, "/notification-channels/smtp")
    assert shown["password"] == MASK and PASSWORD not in str(shown)


def test_an_ingest_dead_letter_as_listed(client: TestClient, tmp_path: Path) -> None:
    client.put("/twins/river-1", json={"$metadata": {"$model": M + "RiverStation;1"}})
    data = tmp_path / "levels.csv"
    data.write_text("ts,level\n2026-01-01T00:00:00Z,oops\n2026-01-01T00:01:00Z,nope\n")
    config = {
        "type": "replay",
        "options": {"path": str(data)},
        "mappings": [{"source": "level", "twin": "river-1", "telemetry": "waterLevel", "format": "number"}],
    }
    assert client.put("/connections/levels", json=config).status_code == 200
    deadline = time.monotonic() + 10
    while len(listed := client.get("/dead-letters").json()["value"]) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first, second = listed
    answer = client.delete(f"/dead-letters/{first['id']}", headers=PREFER)
    assert answer.status_code == 200 and answer.json() == first and answer.json()["payload"] == "oops"
    quiet = client.delete(f"/dead-letters/{second['id']}")
    assert quiet.status_code == 204 and quiet.content == b""
    assert client.get("/dead-letters").json()["value"] == []
    assert client.delete(f"/dead-letters/{first['id']}", headers=PREFER).status_code == 404


def test_a_policy_entry_as_listed(client: TestClient) -> None:
    added = client.post("/policies", json={"subject": "group:ops", "resource": "twins/p-*", "permissions": ["READ"]})
    assert added.status_code == 201
    entry = added.json()
    assert entry in client.get("/policies").json()["value"]
    answer = client.delete(f"/policies/{entry['id']}", headers=PREFER)
    assert answer.status_code == 200 and answer.json() == entry
    assert answer.headers["preference-applied"] == "return=representation"
    assert entry not in client.get("/policies").json()["value"]
    assert client.delete(f"/policies/{entry['id']}", headers=PREFER).status_code == 404
    again = client.post("/policies", json={"subject": "group:ops", "resource": "twins/p-*", "permissions": ["READ"]})
    removed = client.delete(f"/policies/{again.json()['id']}")
    assert removed.status_code == 204 and removed.content == b""


def test_a_model_patch_answers_the_model_after_it(client: TestClient) -> None:
    url = "/models/" + M + "Pump;1"
    operations = [{"op": "replace", "path": "/decommissioned", "value": True}]
    answer = client.patch(url, json=operations, headers=PREFER)
    assert answer.status_code == 200 and answer.headers["preference-applied"] == "return=representation"
    assert answer.json()["decommissioned"] is True and answer.json() == client.get(url).json()
    assert client.patch(url, json=operations).status_code == 204


def test_signing_out_answers_the_principal_as_the_session_showed_it(client: TestClient) -> None:
    shown = client.get("/auth/session").json()
    answer = client.delete("/auth/session", headers=PREFER)
    assert answer.status_code == 200 and answer.json() == shown


# -- the caller never sees more than GET shows it ----------------------------------------------------


@pytest.fixture
def secured(app: App) -> Iterator[TestClient]:
    app.settings = app.settings.with_overrides(require_auth=True)
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client


def key_for(app: App, subject: str, *entries: tuple[str, list[str], str]) -> dict[str, str]:
    for resource, permissions, effect in entries:
        app.security.grant(PolicyEntry(subject, resource, frozenset(permissions), effect))  # type: ignore[arg-type]
    _, key = app.security.create_key(subject, subject, scopes=["READ", "WRITE", "COMMAND", "ADMIN"])
    return {"Authorization": f"Bearer {key}"}


def test_the_representation_is_shaped_as_get_shapes_it(app: App, secured: TestClient) -> None:
    admin = key_for(app, "user:root", ("*", ["ADMIN"], "grant"))
    for twin_id in ("w-1", "rw-1"):
        assert secured.put(f"/twins/{twin_id}", json=building(name="secret name"), headers=admin).status_code == 201

    # WRITE without READ: the preference is not applied (GET would refuse), and the twin is deleted
    writer = key_for(app, "user:writer", ("twins/w-1", ["WRITE"], "grant"))
    assert secured.get("/twins/w-1", headers=writer).status_code == 403
    answer = secured.delete("/twins/w-1", headers={**PREFER, **writer})
    assert answer.status_code == 204 and answer.content == b"" and "preference-applied" not in answer.headers
    assert secured.get("/twins/w-1", headers=admin).status_code == 404

    # READ without one property: the answer leaves it out, as GET does
    reader = key_for(
        app,
        "user:reader",
        ("twins/rw-1", ["READ", "WRITE"], "grant"),
        ("twins/rw-1/properties/name", ["READ"], "revoke"),
    )
    shown = secured.get("/twins/rw-1", headers=reader).json()
    assert "name" not in shown and "height" in shown
    deleted = secured.delete("/twins/rw-1", headers={**PREFER, **reader})
    assert deleted.status_code == 200 and deleted.json() == shown and "secret name" not in deleted.text


@pytest.mark.parametrize(
    ("headers", "wanted"),
    [
        (None, False),
        ([], False),
        (["return=representation"], True),
        (['RETURN = "Representation"; charset=utf-8'], True),
        (["respond-async, wait=10, return=representation"], True),
        (["return=minimal"], False),
        (["return=minimal, return=representation"], False),  # the first instance counts (RFC 7240 §2)
        (["respond-async", "return=representation"], True),  # the header may be sent more than once
        (["returns=representation"], False),
    ],
)
def test_the_prefer_header_is_read_as_rfc_7240_writes_it(headers: list[str] | None, wanted: bool) -> None:
    assert wants_representation(headers) is wanted
