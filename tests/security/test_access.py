"""Authentication and authorisation on every route: 401 without credentials, 403 without a granting policy, and
reads (twins, queries, events) shaped so that nothing the caller may not read leaks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from futago.api.access import Access
from futago.api.events import _as_seen_by
from futago.api.server import create_api
from futago.app import App
from futago.cli import main
from futago.config import Settings
from futago.core.errors import InvalidInput
from futago.core.events import Event
from futago.security.limits import SharedRateLimiter
from futago.security.policy import PolicyEntry, PolicySet
from futago.security.service import Principal

BUILDING = "dtmi:futago:demo:Building;1"


@pytest.fixture
def secured(app: App) -> Iterator[TestClient]:
    # every route is tried without credentials from one client: more 401s than a client's budget allows in a minute
    # (test_auth_hardening tests the budget itself)
    app.settings = app.settings.with_overrides(require_auth=True, refusals_per_minute=100_000)
    # and as many requests of one key (each refused 403) as there are routes, past one key's burst
    app.security.limiter = SharedRateLimiter(100_000, app.security.budget, "requests")
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield client


def key_for(app: App, subject: str, *entries: tuple[str, list[str], str], scopes: Any = None) -> dict[str, str]:
    """A key for ``subject`` with the given (resource, permissions, effect) policy entries."""
    for resource, permissions, effect in entries:
        app.security.grant(PolicyEntry(subject, resource, frozenset(permissions), effect))  # type: ignore[arg-type]
    _, key = app.security.create_key(subject, subject, scopes=scopes or ["READ", "WRITE", "COMMAND", "ADMIN"])
    return {"Authorization": f"Bearer {key}"}


def every_route(client: TestClient) -> list[tuple[str, str]]:
    """(method, concrete path) of every operation in the OpenAPI document, path parameters filled in."""
    routes = []
    for path, operations in client.get("/openapi.json", headers=client.headers).json()["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            integers = {p["name"] for p in parameters if p.get("schema", {}).get("type") == "integer"}
            concrete = re.sub(r"\{(\w+)(:path)?\}", lambda m, ints=integers: "1" if m[1] in ints else "x", path)
            routes.append((method.upper(), concrete))
    return routes


def test_every_route_answers_401_without_credentials_and_403_without_a_policy(app: App, secured: TestClient) -> None:
    admin = key_for(app, "user:root", ("*", ["ADMIN"], "grant"))
    secured.headers.update(admin)
    routes = every_route(secured)
    secured.headers.clear()
    assert len(routes) > 60  # the walk covers the API, not a handful
    nobody = key_for(app, "user:nobody")
    answers = {}
    for method, path in routes:
        body = {} if method in ("POST", "PUT", "PATCH") else None
        anonymous = secured.request(method, path, json=body)
        refused = secured.request(method, path, json=body, headers=nobody)
        answers[(method, path)] = (anonymous.status_code, refused.status_code)
        assert anonymous.headers["content-type"].startswith("application/problem+json"), (method, path)
    wrong = {route: codes for route, codes in answers.items() if codes != (401, 403)}
    assert wrong == {}


def test_an_administrator_key_gets_in_and_an_unknown_key_does_not(app: App, secured: TestClient) -> None:
    admin = key_for(app, "user:root", ("*", ["ADMIN"], "grant"))
    assert secured.get("/twins", headers=admin).status_code == 200
    assert secured.get("/twins", headers={"Authorization": "Bearer fk_000000000000_nope"}).status_code == 401
    assert secured.get("/twins", headers={"Authorization": "Bearer something-else"}).status_code == 401


@pytest.fixture
def reader(app: App) -> dict[str, str]:
    """user:reader may query and read twin b1, but not b1's owner nor twin b2 at all."""
    app.twins.put("b1", {"$metadata": {"$model": BUILDING}, "height": 10.0, "name": "alice-house", "storeys": 3})
    app.twins.put("b2", {"$metadata": {"$model": BUILDING}, "height": 20.0, "name": "bob-house", "storeys": 7})
    return key_for(
        app,
        "user:reader",
        ("query", ["READ"], "grant"),
        ("twins/b1", ["READ"], "grant"),
        ("twins/b1/properties/name", ["READ"], "revoke"),
    )


def query(client: TestClient, headers: dict[str, str], text: str) -> Any:
    response = client.post("/query", json={"query": text}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_a_query_never_shows_a_twin_or_a_property_the_caller_may_not_read(
    secured: TestClient, reader: dict[str, str]
) -> None:
    rows = query(secured, reader, "SELECT * FROM DIGITALTWINS")
    assert [r["$dtId"] for r in rows] == ["b1"] and rows[0]["height"] == 10.0 and "name" not in rows[0]
    projected = secured.post("/query", json={"query": "SELECT T.name, T.storeys FROM DIGITALTWINS T"}, headers=reader)
    assert "house" not in projected.text and projected.json()["value"] == [{"storeys": 3}]
    # A hidden value cannot be probed through WHERE: no row answers, whatever the guess.
    assert query(secured, reader, "SELECT * FROM DIGITALTWINS T WHERE T.name = 'alice-house'") == []
    assert query(secured, reader, "SELECT * FROM DIGITALTWINS T WHERE T.storeys = 7") == []  # b2's
    assert query(secured, reader, "SELECT COUNT() FROM DIGITALTWINS") == [{"COUNT": 1}]


def test_twin_reads_are_shaped_and_refused_like_the_query(secured: TestClient, reader: dict[str, str]) -> None:
    one = secured.get("/twins/b1", headers=reader)
    assert one.status_code == 200 and "name" not in one.json() and one.json()["height"] == 10.0
    assert secured.get("/twins/b2", headers=reader).status_code == 403
    listed = secured.get("/twins", headers=reader).json()["value"]
    assert [t["$dtId"] for t in listed] == ["b1"] and "name" not in listed[0]
    assert secured.put("/twins/b1", json={"$metadata": {"$model": BUILDING}}, headers=reader).status_code == 403


def test_events_about_unreadable_twins_do_not_reach_the_stream(app: App, reader: dict[str, str]) -> None:
    principal = app.security.authenticate_key(reader["Authorization"].removeprefix("Bearer "))
    access = Access(principal, "READ", "events", app.security)
    event = Event("twin.updated", "2026-12-02T00:00:00Z", twin_id="b1", model=BUILDING, data={"patch": [1]})
    assert _as_seen_by(access, event) is not None and _as_seen_by(access, event).data == {}  # type: ignore[union-attr]
    assert _as_seen_by(access, Event("twin.updated", "t", twin_id="b2", data={"patch": [1]})) is None
    assert _as_seen_by(access, Event("telemetry.appended", "t", twin_id="b1")) is not None  # under twins/b1
    assert _as_seen_by(access, Event("telemetry.appended", "t", twin_id="b2")) is None


def test_a_keys_scopes_bound_what_policies_grant(app: App, secured: TestClient) -> None:
    app.twins.put("b3", {"$metadata": {"$model": BUILDING}})
    read_only = key_for(app, "user:viewer", ("twins/*", ["ADMIN"], "grant"), scopes=["READ"])
    assert secured.get("/twins/b3", headers=read_only).status_code == 200
    assert secured.delete("/twins/b3", headers=read_only).status_code == 403


def test_expired_and_revoked_keys_are_refused(app: App, secured: TestClient, monkeypatch: Any) -> None:
    headers = key_for(app, "user:temp", ("query", ["READ"], "grant"))
    assert secured.get("/twins", headers=headers).status_code == 200
    key_id = app.security.list_keys()[-1]["id"]
    app.security.revoke_key(key_id)
    refused = secured.get("/twins", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    _, key = app.security.create_key("short", "user:temp", expires_days=1)
    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr("futago.security.service._now", lambda: later)
    expired = secured.get("/twins", headers={"Authorization": f"Bearer {key}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_keys_are_stored_as_hashes_only(app: App) -> None:
    _, key = app.security.create_key("k", "user:x")
    stored = app.store.list_api_keys()[0]
    secret = key.split("_", 2)[2]
    assert secret not in str(stored) and len(stored.hash) == 64 and "hash" not in app.security.list_keys()[0]


def test_the_most_specific_entry_decides_and_a_revoke_wins_a_tie() -> None:
    policies = PolicySet(
        [
            PolicyEntry("group:ops", "twins/*", frozenset({"READ", "WRITE"})),
            PolicyEntry("group:ops", "twins/*/properties/owner", frozenset({"READ"}), "revoke"),
            PolicyEntry("user:a", "twins/p1", frozenset({"WRITE"}), "revoke"),
            PolicyEntry("user:b", "models/*", frozenset({"ADMIN"})),
            PolicyEntry("user:c", "twins/p1", frozenset({"READ"})),
            PolicyEntry("group:c", "twins/p1", frozenset({"READ"}), "revoke"),
        ]
    )
    assert policies.allowed(["group:ops"], "READ", "twins/p1/properties/height")
    assert not policies.allowed(["group:ops"], "READ", "twins/p1/properties/owner")
    assert policies.allowed(["user:a", "group:ops"], "WRITE", "twins/p2")
    assert not policies.allowed(["user:a", "group:ops"], "WRITE", "twins/p1")  # more specific revoke
    assert policies.allowed(["user:b"], "COMMAND", "models/dtmi:x;1")
    assert not policies.allowed(["user:b"], "READ", "twins")
    assert not policies.allowed(["user:c", "group:c"], "READ", "twins/p1")  # equally specific: the revoke wins
    assert not policies.allowed(["user:nobody"], "READ", "twins/p1")  # default deny


def test_a_bad_policy_entry_names_its_fields() -> None:
    with pytest.raises(InvalidInput) as caught:
        PolicyEntry.parse({"subject": "alice", "resource": "", "permissions": ["FLY"], "effect": "maybe"})
    assert {p.pointer for p in caught.value.problems} == {"/subject", "/resource", "/permissions", "/effect"}


def test_beyond_loopback_a_server_needs_authentication_and_on_loopback_it_is_the_local_admin(app: App) -> None:
    with pytest.raises(InvalidInput):
        Settings(host="0.0.0.0").check_safe_to_serve()
    Settings(host="0.0.0.0", require_auth=True).check_safe_to_serve()
    assert Settings(host="0.0.0.0", require_auth=True).auth_required and not Settings().auth_required
    with TestClient(create_api(app)) as client:
        assert client.get("/twins").status_code == 200  # loopback, nothing configured: local admin


def test_the_cli_creates_keys_and_grants_and_the_audit_records_it(tmp_path: Any) -> None:
    db = str(tmp_path / "keys.db")
    created = CliRunner().invoke(main, ["keys", "create", "--db", db, "--subject", "user:sato", "--json"])
    assert created.exit_code == 0, created.output
    key = __import__("json").loads(created.stdout)["key"]
    granted = CliRunner().invoke(main, ["policy", "grant", "--db", db, "user:sato", "twins/*", "READ"])
    assert granted.exit_code == 0, granted.output
    listed = CliRunner().invoke(main, ["audit", "list", "--db", db, "--json"])
    actions = [(e["actor"], e["action"]) for e in __import__("json").loads(listed.stdout)["value"]]
    assert ("cli", "key.created") in actions and ("cli", "policy.grant") in actions
    assert key.startswith("fk_")
    assert Principal("x", ()).scopes  # every permission by default


def test_city_exports_show_only_what_the_caller_may_read(app: App, secured: TestClient) -> None:
    square = {"type": "Polygon", "coordinates": [[[139.0, 35.0], [139.001, 35.0], [139.001, 35.001], [139.0, 35.0]]]}
    for twin_id in ("e1", "e2"):
        app.twins.put(twin_id, {"$metadata": {"$model": BUILDING}, "geometry": square, "name": f"{twin_id}-owner"})
    reader = key_for(app, "user:mapper", ("city", ["READ"], "grant"), ("twins/e1", ["READ"], "grant"),
                     ("twins/e1/properties/name", ["READ"], "revoke"))  # fmt: skip
    shown = secured.get("/city/features", params={"bbox": "138,34,140,36", "model": "*"}, headers=reader)
    assert [f["id"] for f in shown.json()["features"]] == ["e1"] and "owner" not in shown.text
    tiles = secured.get("/city/tiles.json", headers=reader)  # tiles of the twins it may read (test_visibility_matrix)
    assert tiles.status_code == 200 and "e2" not in tiles.text
    everything = key_for(app, "user:planner", ("city", ["READ"], "grant"), ("twins/*", ["READ"], "grant"))
    assert secured.get("/city/tiles.json", headers=everything).status_code == 200


def test_a_bracket_pattern_revoke_still_hides_its_property_from_queries(app: App, secured: TestClient) -> None:
    app.twins.put("pump-1", {"$metadata": {"$model": BUILDING}, "name": "secret-name", "storeys": 2})
    headers = key_for(app, "user:ops", ("query", ["READ"], "grant"), ("twins/*", ["READ"], "grant"),
                      ("twins/pump-[12]/properties/name", ["READ"], "revoke"))  # fmt: skip
    assert query(secured, headers, "SELECT * FROM DIGITALTWINS T WHERE T.name = 'secret-name'") == []
    assert "secret-name" not in secured.get("/twins/pump-1", headers=headers).text


def test_latest_telemetry_shows_only_with_read_on_the_twins_telemetry(app: App, secured: TestClient) -> None:
    app.twins.put("b9", {"$metadata": {"$model": BUILDING}})
    app.telemetry.append([("b9", "energyUse", 1_700_000_000_000_000, 12.5, 2)])
    headers = key_for(app, "user:viewer2", ("twins/b9", ["READ"], "grant"),
                      ("twins/b9/telemetry", ["READ"], "revoke"))  # fmt: skip
    twin = secured.get("/twins/b9", headers=headers).json()
    assert "$telemetry" not in twin and twin["$dtId"] == "b9"


def test_revoking_a_key_ends_the_dashboard_sessions_it_started(app: App) -> None:
    _, key = app.security.create_key("k", "user:s")
    principal = app.security.authenticate_key(key)
    session = app.security.start_session(principal)
    assert app.security.session(session) == principal
    app.security.revoke_key(principal.name.removeprefix("key:"))
    assert app.security.session(session) is None
