"""The whole App on each adapter: every part of the store that the contract tests do not cover (models, twins with
ETags, relationships, queries, telemetry, dead letters, alerts, commands, notifications, the catalog, the audit,
policies and keys, privacy budgets, personal data, behaviour runs), driven through the API and the services as a
user drives them, with the same expectations on SQLite and PostgreSQL.

The last tests are PostgreSQL's own: several writers at once (threads with a connection each, or two stores as two
processes would have) must not both win an ETag check, overspend a privacy budget or fork the audit chain, and an
ingestion process must keep appending correctly while another deletes series or drops partitions by retention.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from futago import samples
from futago.act.commands import CommandRecord, CommandService
from futago.act.model import Alert
from futago.act.notify import NotificationService, NotificationSettings
from futago.act.transport import OnSent, Outcome, OutgoingCommand, TransportSpec
from futago.api.server import create_api
from futago.app import App, build, notification_channel_types
from futago.city.generator import DistrictSpec, generate_district
from futago.config import Settings
from futago.core.audit import AuditEntry
from futago.core.calibration import Calibration, CalibrationChange
from futago.core.errors import Conflict, InvalidInput, PreconditionFailed
from futago.core.events import Event
from futago.core.ports import Store
from futago.core.privacy import PrivacySpend
from futago.core.problems import Problem
from futago.core.runs import BehaviourRun
from futago.core.telemetry import Reading, SeriesBatch, parse_timestamp
from futago.core.twins import Twin, now_iso
from futago.security.audit import verify_entries
from futago.security.policy import PolicyEntry
from futago.services.city_import import CityImporter
from futago.sim.models.tank import RiverStageModel
from futago.store.postgres import PostgresStore
from futago.testing.mosquitto import free_port
from tests.store.adapters import ADAPTERS, database_url

M = "dtmi:futago:demo:"
BUILDING = M + "Building;1"
SENSOR = M + "Sensor;1"
T0 = parse_timestamp("2026-07-01T00:00:00Z")
MINUTE = 60_000_000


@pytest.fixture(params=ADAPTERS)
def app(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """The composed App on a fresh store of each adapter, with the demo models."""
    # A database server's store keeps its audit key and personal-data vault in ./futago-data: a folder per test.
    monkeypatch.chdir(tmp_path)
    db = database_url(request.param, request, tmp_path)
    application = build(Settings(db=db, data_root=str(tmp_path)))  # replays read from the test's folder
    application.models.add(samples.demo_models())
    yield application
    application.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(create_api(app), raise_server_exceptions=False) as test_client:
        yield test_client


def building(height: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"$metadata": {"$model": BUILDING}, "name": "B", "height": height, **extra}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def query(client: TestClient, text: str, page: int = 1000) -> list[dict[str, Any]]:
    """Every row of a query, page after page."""
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": text}
    while True:
        response = client.post("/query", json=body, headers={"max-items-per-page": str(page)})
        assert response.status_code == 200, response.text
        rows += response.json()["value"]
        token = response.json()["continuationToken"]
        if not token:
            return rows
        body = {"query": text, "continuationToken": token}


# -- models and the twin graph ----------------------------------------------------------------------------------


def test_models_upload_decommission_and_delete(client: TestClient, app: App) -> None:
    listed = {m["id"]: m for m in client.get("/models").json()["value"]}
    assert BUILDING in listed and listed[BUILDING]["decommissioned"] is False
    tank = {
        "@context": "dtmi:dtdl:context;3",
        "@id": "dtmi:x:Tank;1",
        "@type": "Interface",
        "contents": [{"@type": "Property", "name": "volume", "schema": "double", "writable": True}],
    }
    assert client.post("/models", json=[tank]).status_code == 201
    assert client.post("/models", json=tank).status_code == 409  # already there
    assert client.get("/models/dtmi:x:Tank;1").json()["model"] == tank
    assert client.put("/twins/t1", json={"$metadata": {"$model": "dtmi:x:Tank;1"}, "volume": 3.5}).status_code == 201
    assert app.store.count_twins_of_models(["dtmi:x:Tank;1", BUILDING]) == 1
    assert client.delete("/models/dtmi:x:Tank;1").status_code == 409  # a twin uses it

    decommission = [{"op": "replace", "path": "/decommissioned", "value": True}]
    assert client.patch("/models/dtmi:x:Tank;1", json=decommission).status_code == 204
    record = app.store.get_model("dtmi:x:Tank;1")
    assert record is not None and record.decommissioned is True and record.document == tank
    assert client.get("/models/dtmi:x:Tank;1").json()["decommissioned"] is True
    assert client.put("/twins/t2", json={"$metadata": {"$model": "dtmi:x:Tank;1"}}).status_code == 422
    recommission = [{"op": "replace", "path": "/decommissioned", "value": False}]
    assert client.patch("/models/dtmi:x:Tank;1", json=recommission).status_code == 204
    assert app.store.get_model("dtmi:x:Tank;1").decommissioned is False  # type: ignore[union-attr]

    assert client.delete("/twins/t1").status_code == 204
    assert client.delete("/models/dtmi:x:Tank;1").status_code == 204
    assert client.get("/models/dtmi:x:Tank;1").status_code == 404
    assert [r.id for r in app.store.list_models()] == sorted(m["@id"] for m in samples.demo_models())


def test_twins_with_etags_and_paging(client: TestClient, app: App) -> None:
    created = client.put("/twins/b1", json=building(12.5, storeys=4, usage="commercial"))
    assert created.status_code == 201
    etag = created.headers["ETag"]
    assert client.get("/twins/b1").json() == {**created.json(), "$telemetry": {}}
    assert created.json()["storeys"] == 4 and isinstance(created.json()["storeys"], int)
    assert created.json()["height"] == 12.5 and created.json()["usage"] == "commercial"

    replaced = client.put("/twins/b1", json=building(13.0), headers={"If-Match": etag})
    assert replaced.status_code == 200 and replaced.headers["ETag"] != etag
    assert client.put("/twins/b1", json=building(14.0), headers={"If-Match": etag}).status_code == 412
    assert client.put("/twins/b1", json=building(14.0), headers={"If-None-Match": "*"}).status_code == 412
    assert client.put("/twins/b9", json=building(), headers={"If-Match": "*"}).status_code == 412  # must exist
    patched = client.patch(
        "/twins/b1",
        json=[{"op": "replace", "path": "/height", "value": 20.0}],
        headers={"If-Match": replaced.headers["ETag"]},
    )
    assert patched.status_code == 200 and patched.json()["height"] == 20.0
    stale = client.patch("/twins/b1", json=[{"op": "add", "path": "/storeys", "value": 2}], headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.delete("/twins/b1", headers={"If-Match": etag}).status_code == 412
    twin = app.store.get_twin("b1")
    assert (
        twin is not None and twin.properties == {"name": "B", "height": 20.0} and twin.etag == patched.json()["$etag"]
    )

    for i in range(12):
        assert client.put(f"/twins/p{i:02d}", json=building(float(i))).status_code == 201
    first = client.get("/twins", params={"model": BUILDING, "limit": 5}).json()
    ids = [t["$dtId"] for t in first["value"]]
    assert ids == ["b1", "p00", "p01", "p02", "p03"]
    after = client.get("/twins", params={"model": BUILDING, "limit": 100, "after": ids[-1]}).json()["value"]
    assert [t["$dtId"] for t in after] == [f"p{i:02d}" for i in range(4, 12)]
    assert app.store.count_twins() == 13
    assert set(app.store.get_twins(["p03", "p07", "nope"])) == {"p03", "p07"}
    assert client.delete("/twins/b1", headers={"If-Match": patched.json()["$etag"]}).status_code == 204
    assert client.get("/twins/b1").status_code == 404


def test_bulk_import_replaces_and_keeps_geometry(app: App) -> None:
    stored = app.store.put_twins(
        [Twin(f"s{i}", SENSOR, {"serialNumber": f"S{i}"}, point(139.7, 35.6)) for i in range(3)]
    )
    again = app.store.put_twins([Twin("s1", SENSOR, {"serialNumber": "new"}, None)])
    assert again[0].etag != stored[1].etag
    s1 = app.store.get_twin("s1")
    assert s1 is not None and s1.properties == {"serialNumber": "new"} and s1.geometry is None
    assert app.store.get_twin("s2").geometry == point(139.7, 35.6)  # type: ignore[union-attr]
    with app.store.transaction():  # a unit of work: one failure takes the whole of it back
        app.store.put_twins([Twin("s9", SENSOR, {}, None)])
    with pytest.raises(RuntimeError), app.store.transaction():
        app.store.put_twins([Twin("s10", SENSOR, {}, None)])
        raise RuntimeError("the import failed half way")
    assert app.store.get_twin("s9") is not None and app.store.get_twin("s10") is None


def test_relationships_with_etags(client: TestClient, app: App) -> None:
    client.put("/twins/d1", json={"$metadata": {"$model": M + "District;1"}, "name": "D", "population": 1200})
    client.put("/twins/b1", json=building())
    client.put("/twins/rg1", json={"$metadata": {"$model": M + "RainGauge;1"}})
    rel = {"$relationshipName": "locatedIn", "$targetId": "d1"}
    created = client.put("/twins/b1/relationships/r1", json=rel)
    assert created.status_code == 201, created.text
    etag = created.headers["ETag"]
    assert client.put("/twins/b1/relationships/r1", json=rel, headers={"If-None-Match": "*"}).status_code == 412
    monitors = {"$relationshipName": "monitors", "$targetId": "d1", "since": "2024-04-01"}
    assert client.put("/twins/rg1/relationships/m", json=monitors).status_code == 201
    patched = client.patch(
        "/twins/rg1/relationships/m", json=[{"op": "replace", "path": "/since", "value": "2025-01-01"}]
    )
    assert patched.status_code == 200 and patched.json()["since"] == "2025-01-01"
    relationship = app.store.get_relationship("rg1", "m")
    assert relationship is not None and relationship.properties == {"since": "2025-01-01"}

    listed = client.get("/twins/b1/relationships").json()["value"]
    assert [(r["$relationshipId"], r["$relationshipName"], r["$targetId"]) for r in listed] == [
        ("r1", "locatedIn", "d1")
    ]
    incoming = client.get("/twins/d1/incomingrelationships").json()["value"]
    assert [(r["$sourceId"], r["$relationshipId"]) for r in incoming] == [("b1", "r1"), ("rg1", "m")]
    assert [r.id for r in app.store.list_relationships_of(["rg1", "b1"], name="monitors")] == ["m"]
    assert client.delete("/twins/d1").status_code == 409  # relationships point at it
    assert client.delete("/twins/b1/relationships/r1", headers={"If-Match": 'W/"stale"'}).status_code == 412
    assert client.delete("/twins/b1/relationships/r1", headers={"If-Match": etag}).status_code == 204
    assert client.get("/twins/b1/relationships/r1").status_code == 404
    assert client.delete("/twins/b1").status_code == 204


def test_queries_with_property_spatial_and_join_conditions(client: TestClient) -> None:
    client.put("/twins/d1", json={"$metadata": {"$model": M + "District;1"}, "name": "Chiyoda", "population": 60000})
    # Buildings along a line of longitude through Tokyo Station, 0.01° (about 900 m) apart.
    for i in range(30):
        geometry = point(139.70 + i * 0.01, 35.68)
        usage = "commercial" if i % 3 == 0 else "residential"
        doc = building(float(i), name=f"building {i:02d}", usage=usage, geometry=geometry)
        assert client.put(f"/twins/b{i:02d}", json=doc).status_code == 201
        if i % 5 == 0:
            client.put(f"/twins/b{i:02d}/relationships/in", json={"$relationshipName": "locatedIn", "$targetId": "d1"})
    client.put("/twins/nowhere", json=building(99.0, geometry={"type": "GeometryCollection", "geometries": []}))
    client.put("/twins/unplaced", json=building(99.0))

    is_building = f"IS_OF_MODEL(T, '{BUILDING}')"
    tall = query(client, f"SELECT T.$dtId AS id FROM DIGITALTWINS T WHERE {is_building} AND T.height >= 25", page=2)
    assert [r["id"] for r in tall] == ["b25", "b26", "b27", "b28", "b29", "nowhere", "unplaced"]
    offices = query(client, "SELECT T.$dtId AS id FROM DIGITALTWINS T WHERE T.usage = 'commercial' AND T.height < 10")
    assert [r["id"] for r in offices] == ["b00", "b03", "b06", "b09"]
    named = query(client, "SELECT T.$dtId AS id FROM DIGITALTWINS T WHERE T.name > 'building 27'")
    assert [r["id"] for r in named] == ["b28", "b29"]  # in code point order, as Python: 'Chiyoda' and 'B' come first
    # Longitudes 139.745..139.785 hold buildings 5 to 8; the empty and missing geometries never match.
    box = query(
        client, "SELECT T.$dtId AS id FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, [139.745, 35.6, 139.785, 35.7])"
    )
    assert [r["id"] for r in box] == ["b05", "b06", "b07", "b08"]
    near = query(
        client,
        "SELECT T.$dtId AS id FROM DIGITALTWINS T WHERE ST_DISTANCE(T.geometry, [139.7671, 35.68]) < 1000 "
        f"AND {is_building}",
    )
    assert [r["id"] for r in near] == ["b06", "b07"]
    joined = query(
        client,
        "SELECT B.$dtId AS b, D.population AS population FROM DIGITALTWINS B JOIN D RELATED B.locatedIn "
        "WHERE B.height > 4",
    )
    assert joined == [{"b": f"b{i:02d}", "population": 60000} for i in (5, 10, 15, 20, 25)]
    count = query(client, f"SELECT COUNT() FROM DIGITALTWINS T WHERE {is_building} AND T.usage = 'residential'")
    assert count == [{"COUNT": 20}]


# -- telemetry, dead letters, alerts ------------------------------------------------------------------------------


def test_telemetry_history_latest_and_redelivery(client: TestClient, app: App) -> None:
    assert client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}}).status_code == 201
    assert client.put("/twins/pump", json={"$metadata": {"$model": M + "Pump;1"}, "name": "P"}).status_code == 201
    rows = [{"name": "waterLevel", "ts": f"2026-01-01T00:{m:02d}:00Z", "value": float(m)} for m in range(60)]
    assert client.post("/twins/rs/telemetry", json=rows).json() == {"accepted": 60}
    assert client.post("/twins/rs/telemetry", json=rows[:10]).status_code == 202  # redelivered: no new readings
    raw = client.get(
        "/twins/rs/telemetry",
        params={"name": "waterLevel", "from": "2026-01-01T00:10:00Z", "to": "2026-01-01T00:20:00Z"},
    ).json()["points"]
    assert [p["value"] for p in raw] == [float(m) for m in range(10, 20)]
    assert raw[0]["ts"] == "2026-01-01T00:10:00.000Z"
    buckets = client.get(
        "/twins/rs/telemetry", params={"name": "waterLevel", "bucket": "15m", "agg": "avg,min,max,count"}
    ).json()["points"]
    assert [(b["count"], b["min"], b["max"], b["avg"]) for b in buckets] == [
        (15, 15.0 * k, 15.0 * k + 14, 15.0 * k + 7) for k in range(4)
    ]
    twin = client.get("/twins/rs").json()
    assert twin["$telemetry"]["waterLevel"]["value"] == 59.0
    assert twin["$telemetry"]["waterLevel"]["ts"] == "2026-01-01T00:59:00.000Z"

    # A late correction of an old reading replaces it and leaves the latest alone; booleans stay booleans.
    assert client.post("/twins/rs/telemetry", json=[{**rows[3], "value": 33.5}]).status_code == 202
    app.telemetry.append([("pump", "running", T0 + i * MINUTE, i % 2 == 0, 1) for i in range(4)])
    app.telemetry.append([("pump", "flow", T0, 1.25, 1)])
    assert client.get("/twins/rs/telemetry", params={"name": "waterLevel"}).json()["points"][3]["value"] == 33.5
    assert app.store.latest("rs")["waterLevel"].value == 59.0
    running = app.store.read_series("pump", "running", None, None)
    assert running.kind == "b1" and running.values.tolist() == [True, False, True, False]
    latest = app.store.latest("pump")
    assert latest["running"].value is False and isinstance(latest["running"].value, bool)
    assert app.store.series_names("pump") == ["flow", "running"]
    stats = {(s.twin_id, s.name): s for s in app.store.series_stats()}
    assert stats["rs", "waterLevel"].readings == 60 and stats["pump", "running"].readings == 4
    assert stats["rs", "waterLevel"].first_us == parse_timestamp("2026-01-01T00:00:00Z")
    app.store.delete_series("pump", "running")
    assert app.store.series_names("pump") == ["flow"] and len(app.store.read_series("pump", "running", None, None)) == 0
    removed = app.store.apply_retention(parse_timestamp("2026-01-01T00:30:00Z"))
    assert removed == 30 and len(app.store.read_series("rs", "waterLevel", None, None)) == 30


def test_dead_letters_from_a_connection_are_listed_replayed_and_deleted(client: TestClient, tmp_path: Path) -> None:
    client.put("/twins/river-1", json={"$metadata": {"$model": M + "RiverStation;1"}})
    data = tmp_path / "levels.csv"
    data.write_text("ts,level\n2026-01-01T00:00:00Z,1.5\n2026-01-01T00:01:00Z,oops\n2026-01-01T00:02:00Z,1.7\n")
    config = {
        "type": "replay",
        "options": {"path": str(data)},
        "mappings": [{"source": "level", "twin": "river-1", "telemetry": "waterLevel", "format": "number"}],
    }
    assert client.put("/connections/levels", json=config).status_code == 200
    deadline = time.monotonic() + 15
    while client.get("/connections/levels").json()["status"]["state"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get("/connections/levels").json()["counters"] == {"messages": 3, "readings": 2, "deadLetters": 1}
    letters = client.get("/dead-letters", params={"connection": "levels"}).json()
    assert letters["counts"] == {"levels": 1}
    [letter] = letters["value"]
    assert letter["payload"] == "oops" and letter["source"] == "level" and "not a number" in letter["reason"]
    levels = client.get("/twins/river-1/telemetry", params={"name": "waterLevel"}).json()["points"]
    assert [p["value"] for p in levels] == [1.5, 1.7]

    replayed = client.post("/dead-letters/replay", json={"ids": [letter["id"]]}).json()["value"]
    assert replayed[0]["stored"] == 0 and "not a number" in replayed[0]["deadLetters"][0]
    [again] = client.get("/dead-letters").json()["value"]
    assert again["id"] > letter["id"] and again["payload"] == "oops"
    assert client.delete(f"/dead-letters/{again['id']}").status_code == 204
    assert client.delete(f"/dead-letters/{again['id']}").status_code == 404
    assert client.get("/dead-letters").json()["value"] == []
    assert client.delete("/connections/levels").status_code == 204


HIGH = {
    "twinModel": M + "RiverStation;1",
    "severity": "critical",
    "when": {"threshold": {"telemetry": "waterLevel", "above": 4.0, "clear": 3.8}},
    "message": {"en": "{twin}: water level {value} m"},
}


def test_rules_and_the_alert_lifecycle(client: TestClient, app: App) -> None:
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}})
    assert client.put("/rules/high", json=HIGH).status_code == 201
    assert client.put("/rules/high", json={**HIGH, "severity": "warning"}).status_code == 200
    assert app.store.list_alert_rules()["high"]["severity"] == "warning"
    for episode in range(3):  # three alerts: raised, then cleared by a low reading
        app.telemetry.append([("river-1", "waterLevel", T0 + episode * 2 * MINUTE, 4.5 + episode, 1)])
        app.telemetry.append([("river-1", "waterLevel", T0 + (episode * 2 + 1) * MINUTE, 3.0, 1)])
    app.telemetry.append([("river-1", "waterLevel", T0 + 10 * MINUTE, 4.2, 1)])  # the fourth stays raised
    first = client.get("/alerts", params={"limit": 3}).json()
    second = client.get("/alerts", params={"limit": 3, "continuationToken": first["continuationToken"]}).json()
    alerts = first["value"] + second["value"]
    assert second["continuationToken"] is None and len(alerts) == 4
    assert [a["message"]["en"] for a in alerts] == [f"river-1: water level {v} m" for v in (4.2, 6.5, 5.5, 4.5)]
    raised = client.get("/alerts", params={"state": "raised"}).json()["value"]
    assert [a["id"] for a in raised] == [alerts[0]["id"]]
    assert [a.id for a in app.store.open_alerts()] == [alerts[0]["id"]]

    alert_id = alerts[0]["id"]
    acked = client.post(f"/alerts/{alert_id}/acknowledge", json={"note": "on it"})
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
    assert client.post(f"/alerts/{alert_id}/acknowledge").status_code == 409
    resolved = client.post(f"/alerts/{alert_id}/resolve").json()
    assert [h.get("state") for h in resolved["history"]] == ["raised", "acknowledged", "resolved"]
    assert resolved["history"][1]["note"] == "on it"
    assert client.get(f"/alerts/{alert_id}").json() == resolved
    assert app.store.open_alerts() == []
    by_twin = client.get("/alerts", params={"state": "resolved", "rule": "high", "twin": "river-1"}).json()["value"]
    assert len(by_twin) == 4
    assert client.delete("/rules/high").status_code == 204 and app.store.list_alert_rules() == {}


# -- commands and notifications ----------------------------------------------------------------------------------


class RecordingTransport:
    """Answers every command at once; the transports themselves are tested against real peers in tests/act."""

    def __init__(self) -> None:
        self.sent: list[OutgoingCommand] = []

    def check(self, spec: TransportSpec, pointer: str = "/transport") -> list[Problem]:
        return []

    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome:
        on_sent({"transport": "recording", "payload": command.payload})
        self.sent.append(command)
        return Outcome(True, {"status": "ok"}, {"position": command.payload["percent"]})

    def close(self) -> None:
        pass


def test_command_bindings_and_records(app: App) -> None:
    app.twins.put("gate-1", {"$metadata": {"$model": M + "Floodgate;1"}})
    transport = RecordingTransport()
    service = CommandService(app.store, app.store, app.models, app.bus, transport)
    mqtt = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}"}
    try:
        _, created = service.put_binding(
            "gate-1",
            "setOpening",
            {"mode": "autonomous", "transport": mqtt, "envelope": {"field": "percent", "max": 90}},
        )
        assert created and list(app.store.list_command_bindings()) == [("gate-1", "setOpening")]
        done = service.wait(service.request("gate-1", "setOpening", {"percent": 40.0}, "rule:x")["id"], 5)
        assert done["state"] == "completed" and done["resultState"] == {"position": 40.0}
        assert isinstance(done["admittedUs"], int)
        assert [h["state"] for h in done["history"]] == ["proposed", "approved", "sent", "completed"]
        refused = service.request("gate-1", "setOpening", {"percent": 95.0}, "rule:x")
        assert refused["state"] == "refused"
        assert app.store.get_command(refused["id"]) == CommandRecord.from_json(refused)
        admitted = app.store.list_admitted_commands("gate-1", "setOpening", done["admittedUs"])
        assert [c.id for c in admitted] == [done["id"]]
        assert app.store.list_admitted_commands("gate-1", "setOpening", done["admittedUs"] + 1) == []

        service.put_binding("gate-1", "setOpening", {"mode": "recommend", "transport": mqtt})
        proposed = service.request("gate-1", "setOpening", {"percent": 10.0}, "bob")
        assert proposed["state"] == "proposed"
        rejected = service.reject(proposed["id"], "carol", "the crew is on site")
        assert rejected["state"] == "rejected"
        assert app.store.get_command(proposed["id"]) == CommandRecord.from_json(rejected)
        with pytest.raises(Conflict):  # the compare-and-set on the state: no second decision
            service.approve(proposed["id"], "alice")
        listed = service.list_commands(twin_id="gate-1")
        assert [c["id"] for c in listed] == [proposed["id"], refused["id"], done["id"]]  # newest first
        assert [c["id"] for c in service.list_commands(state="completed")] == [done["id"]]
        assert [c.payload for c in transport.sent] == [{"percent": 40.0}]
        service.delete_binding("gate-1", "setOpening")
        assert app.store.list_command_bindings() == {}
    finally:
        service.close()


def test_subscribers_deliveries_and_notification_dead_letters(client: TestClient, app: App) -> None:
    screen = {"name": "Duty officer", "language": "en", "rules": ["flood-*"], "channels": [{"type": "dashboard"}]}
    created = client.put("/subscribers/screen", json=screen)
    assert created.status_code == 201, created.text
    assert client.put("/subscribers/screen", json={**screen, "language": "ja"}).status_code == 200
    assert client.get("/subscribers/screen").json()["language"] == "ja"
    retry = {"retry": {"attempts": 2, "base_s": 0.02, "factor": 2.0, "max_s": 0.1}}
    service = NotificationService(
        app.store, app.store, app.bus, NotificationSettings.parse(retry), app.connections,
        channel_types=notification_channel_types(),
    )  # fmt: skip
    service.start()
    # A loopback webhook only through the service: the API refuses to let a caller aim futago at its own host.
    unreachable = f"http://127.0.0.1:{free_port()}/nobody-listens"
    service.put_subscriber(
        "ops",
        {**screen, "channels": [{"type": "webhook", "url": unreachable, "secret": "s3cret-shared-with-the-receiver"}]},
    )
    assert [s.id for s in app.store.list_subscribers(limit=1)] == ["ops"]
    assert [s.id for s in app.store.list_subscribers(after_id="ops")] == ["screen"]
    try:
        alert = Alert(id="alert-1", rule="flood-danger", twin_id="river-1", severity="critical", state="raised",
                      raised_at=now_iso(), message={"en": "The river is above the danger level."})  # fmt: skip
        app.bus.publish(Event("alert.raised", now_iso(), twin_id="river-1", data=alert.to_json()))
        assert service.wait_idle(20)
        deliveries = {d["subscriberId"]: d for d in service.list_deliveries(alert_id="alert-1")}
        assert deliveries["screen"]["outcome"] == "sent" and deliveries["ops"]["outcome"] == "failed"
        assert service.delivery(deliveries["ops"]["id"])["attempts"] == 2  # type: ignore[index]
        [letter] = service.list_dead_letters()
        assert letter["subscriberId"] == "ops" and letter["attempts"] == 2 and "cannot reach" in letter["reason"]
        assert app.store.count_notification_dead_letters() == 1
        assert [d.id for d in app.store.get_notification_dead_letters([letter["id"], 12345])] == [letter["id"]]
        log = client.get("/notifications", params={"alertId": "alert-1", "outcome": "sent"}).json()["value"]
        assert [d["subscriberId"] for d in log] == ["screen"]
        assert client.delete(f"/notifications/dead-letters/{letter['id']}").status_code == 204
        assert app.store.count_notification_dead_letters() == 0
    finally:
        service.close()
    assert client.delete("/subscribers/screen").status_code == 204
    assert client.get("/subscribers/screen").status_code == 404
    assert [s.id for s in app.store.list_subscribers()] == ["ops"]


# -- datasets, audit, security, privacy, personal data, behaviours ------------------------------------------------


def test_a_city_import_is_catalogued(client: TestClient, app: App, tmp_path: Path) -> None:
    district = generate_district(DistrictSpec(buildings=12, seed=5), tmp_path / "district.zip")
    CityImporter(app.store, app.models, app.twins, app.bus).run([district.path], source="generated")
    (entry,) = client.get("/catalog", params={"kind": "city_import"}).json()["value"]
    assert entry["records"]["buildings"] == 12 and entry["records"]["twins"] == app.store.count_twins()
    assert entry["licence"] == "CC0 (synthetic)"
    assert entry["provenance"]["bboxWgs84"] == pytest.approx(list(district.bbox_wgs84))
    assert client.get(f"/catalog/{entry['id']}").json() == entry
    assert app.store.get_dataset(entry["id"]).kind == "city_import"  # type: ignore[union-attr]
    west, south, east, north = district.bbox_wgs84
    inside = query(
        client, f"SELECT COUNT() FROM DIGITALTWINS T WHERE ST_WITHIN(T.geometry, [{west}, {south}, {east}, {north}])"
    )
    assert inside[0]["COUNT"] >= 12  # every building lies within the district's box
    app.store.delete_dataset(entry["id"])
    assert client.get("/catalog", params={"kind": "city_import"}).json()["value"] == []


def test_the_audit_chain_verifies_with_checkpoints(client: TestClient, app: App) -> None:
    for i in range(5):
        assert client.put(f"/twins/b{i}", json=building(float(i))).status_code == 201
    assert client.delete("/twins/b0").status_code == 204
    verified = client.get("/audit/verify").json()
    assert verified["ok"] is True and verified["entries"] >= 12  # the requests and the changes they made
    page = client.get("/audit", params={"limit": 1000}).json()["value"]
    assert len(page) == verified["entries"] == app.store.count_audit()
    assert [e["seq"] for e in page] == list(range(1, len(page) + 1))
    assert any(e["action"] == "api.delete" and e["resource"] == "/twins/b0" for e in page)
    checkpoint = client.post("/audit/checkpoints")
    assert checkpoint.status_code == 201 and checkpoint.json()["seq"] >= len(page)
    assert [c["seq"] for c in client.get("/audit/checkpoints").json()["value"]] == [checkpoint.json()["seq"]]
    again = client.get("/audit/verify").json()
    assert again["ok"] is True and again["checkpoints_verified"] == 1
    # Append-only below futago too: the store's triggers refuse to change the past.
    with pytest.raises(Exception, match="append-only"), app.store.db.write() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE audit SET actor = 'mallory'")
    assert app.audit.verify().ok


def test_policies_and_api_keys(app: App) -> None:
    app.settings = app.settings.with_overrides(require_auth=True)
    _, root_key = app.security.create_key("root", "user:root", scopes=["READ", "WRITE", "COMMAND", "ADMIN"])
    app.security.grant(_grant("user:root", "*", ["ADMIN"]))
    root = {"Authorization": f"Bearer {root_key}"}
    with TestClient(create_api(app), raise_server_exceptions=False) as secured:
        assert secured.get("/twins").status_code == 401
        granted = secured.post(
            "/policies", json={"subject": "user:sato", "resource": "twins/*", "permissions": ["READ"]}, headers=root
        )
        assert granted.status_code == 201, granted.text
        entry_id = granted.json()["id"]
        assert isinstance(entry_id, int)
        entries = secured.get("/policies", headers=root).json()["value"]
        assert [(e["subject"], e["resource"]) for e in entries] == [("user:root", "*"), ("user:sato", "twins/*")]
        made = secured.post("/keys", json={"name": "sato", "subject": "user:sato", "scopes": ["READ"]}, headers=root)
        assert made.status_code == 201
        sato = {"Authorization": f"Bearer {made.json()['key']}"}
        app.twins.put("b1", building())
        assert secured.get("/twins/b1", headers=sato).status_code == 200
        assert secured.delete("/twins/b1", headers=sato).status_code == 403
        keys = {k["name"]: k for k in secured.get("/keys", headers=root).json()["value"]}
        assert set(keys) == {"root", "sato"} and "hash" not in keys["sato"]
        assert len(app.store.get_api_key(made.json()["id"]).hash) == 64  # type: ignore[union-attr]
        assert secured.delete(f"/keys/{made.json()['id']}", headers=root).json()["revoked"]
        assert secured.get("/twins/b1", headers=sato).status_code == 401
        assert secured.delete(f"/policies/{entry_id}", headers=root).status_code == 204
        assert secured.delete(f"/policies/{entry_id}", headers=root).status_code == 404
        assert [e.subject for e in app.store.list_policy_entries()] == ["user:root"]


def _grant(subject: str, resource: str, permissions: list[str]) -> PolicyEntry:
    return PolicyEntry(subject, resource, frozenset(permissions), "grant")  # type: ignore[arg-type]


def test_a_release_beyond_the_privacy_budget_is_refused_and_records_nothing(client: TestClient, app: App) -> None:
    rng = np.random.default_rng(3)
    for i in range(20):
        app.twins.put(
            f"p{i}",
            {
                "$metadata": {"$model": SENSOR},
                "geometry": point(*rng.uniform([139.70, 35.60], [139.80, 35.70]).tolist()),
            },
        )
    release = {"model": SENSOR, "mesh": "1km", "k": 1, "mechanism": "laplace", "epsilon": 0.4,
               "area": [139.70, 35.60, 139.80, 35.70]}  # fmt: skip
    assert client.post("/privacy/releases", json=release).status_code == 404  # no budget yet
    assert client.put(f"/privacy/budgets/{SENSOR}", json={"epsilon": 1.0, "delta": 1e-5}).status_code == 200
    assert client.post("/privacy/releases", json=release).status_code == 200
    assert client.post("/privacy/releases", json=release).status_code == 200
    before = client.get(f"/privacy/budgets/{SENSOR}").json()
    refused = client.post("/privacy/releases", json=release)
    assert refused.status_code == 409 and refused.json()["errors"][0]["pointer"] == "/epsilon"
    assert client.get(f"/privacy/budgets/{SENSOR}").json() == before  # nothing was spent
    assert before["releases"] == 2 and before["spentEpsilon"] == pytest.approx(0.8) and before["epsilon"] == 1.0
    assert client.post("/privacy/releases", json={**release, "epsilon": 0.2}).status_code == 200  # what is left
    budget = app.store.privacy_budget(SENSOR)
    assert budget is not None and budget.releases == 3 and budget.spent_epsilon == pytest.approx(1.0)
    assert budget.spent_delta == 0.0 and budget.delta == 1e-5


WEARER = {
    "@context": ["dtmi:dtdl:context;3", "dtmi:futago:extension:privacy;1"],
    "@id": "dtmi:futago:test:Wearer;1",
    "@type": "Interface",
    "contents": [
        {"@type": ["Property", "Personal"], "name": "fullName", "schema": "string", "writable": True},
        {"@type": "Property", "name": "ward", "schema": "string", "writable": True},
        {"@type": ["Telemetry", "Personal"], "name": "heartRate", "schema": "double"},
        {"@type": "Telemetry", "name": "battery", "schema": "double"},
    ],
}


def test_personal_records_consents_and_erasure(client: TestClient, app: App) -> None:
    app.models.add([WEARER])
    doc = {"$metadata": {"$model": WEARER["@id"]}, "fullName": "佐藤花子", "ward": "Kano"}
    assert client.put("/twins/w1", json=doc).status_code == 201
    now = int(time.time() * 1000)
    readings = [{"name": "heartRate", "ts": now - i * 1000, "value": 60.0 + i} for i in range(3)]
    assert (
        client.post("/twins/w1/telemetry", json=[*readings, {"name": "battery", "ts": now, "value": 0.8}]).status_code
        == 202
    )
    assert "fullName" not in client.get("/twins/w1").json()
    assert client.get("/twins/w1/telemetry", params={"name": "heartRate"}).json()["points"] == []
    records = app.store.personal_records("w1")
    assert [(kind, name) for kind, name, _, _ in records] == [("property", "fullName")] + [
        ("telemetry", "heartRate")
    ] * 3
    assert all("佐藤".encode() not in sealed for *_, sealed in records)  # ciphertext only

    assert client.get("/persons/w1/data", params={"purpose": "care"}).status_code == 403
    assert client.put("/persons/w1/consents/care", json={}).status_code == 200
    assert client.put("/persons/w1/consents/research", json={"expires": "2020-01-01T00:00:00Z"}).status_code == 200
    data = client.get("/persons/w1/data", params={"purpose": "care"}).json()
    assert data["properties"] == {"fullName": "佐藤花子"}
    assert sorted(r["value"] for r in data["telemetry"]["heartRate"]) == [60.0, 61.0, 62.0]
    assert client.get("/persons/w1/data", params={"purpose": "research"}).status_code == 403  # expired
    assert [c.purpose for c in app.store.list_consents("w1")] == ["care", "research"]
    assert client.delete("/persons/w1/consents/care").status_code == 200
    assert client.get("/persons/w1/data", params={"purpose": "care"}).status_code == 403  # withdrawn

    erased = client.delete("/persons/w1/data").json()
    assert erased["keyDestroyed"] is True and erased["records"] == 4
    exported = client.get("/persons/w1/export").json()
    assert exported["erased"] is True and exported["properties"] == {}


def test_behaviour_runs_keep_their_provenance(client: TestClient, app: App) -> None:
    app.twins.put("rain-1", {"$metadata": {"$model": M + "RainGauge;1"}})
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}})
    steps, step = 288, 600_000_000
    rain = np.zeros(steps)
    rain[40:70] = np.random.default_rng(11).gamma(2.0, 7.0, 30)
    level = RiverStageModel(a11=0.16, a12=0.05, b1=0.1).predict(rain.reshape(-1, 1))
    ts = T0 + np.arange(steps) * step
    app.telemetry.append([Reading("rain-1", "rainfall", int(t), float(v)) for t, v in zip(ts, rain, strict=True)])
    app.telemetry.append([Reading("river-1", "waterLevel", int(t), float(v)) for t, v in zip(ts, level, strict=True)])
    behaviour = {"model": "river_stage", "params": {"a11": 0.16, "a12": 0.05, "b1": 0.1}, "twins": ["river-1"],
                 "inputs": {"rainfall": {"twin": "rain-1", "telemetry": "rainfall"}}, "measured": "waterLevel",
                 "window": "24h", "horizon": "6h", "members": 50}  # fmt: skip
    assert client.put("/behaviours/flood", json=behaviour).status_code == 201
    assert app.store.list_behaviours()["flood"]["members"] == 50
    # At a time of the stored readings (the API's run is "now"): two runs of a day's window each.
    runs = [app.behaviours.run("flood", now_us=int(T0 + k * step))[0] for k in (200, 250)]
    assert [r["status"] for r in runs] == ["ok", "ok"], runs
    listed = client.get("/behaviours/flood/runs").json()["value"]
    assert [r["id"] for r in listed] == [runs[1]["id"], runs[0]["id"]]  # newest first
    assert listed[0]["inputs"] == runs[1]["inputs"] and listed[0]["twinId"] == "river-1"
    forecast = app.store.read_series("river-1", "waterLevel_forecast", None, None)
    assert len(forecast) > 0 and np.isfinite(forecast.values).all()

    # Only the newest records of a (behaviour, twin) are kept when asked.
    for i in range(5):
        app.store.add_behaviour_run(BehaviourRun("other", "river-1", f"2026-07-01T0{i}:00:00Z", written=i), keep=3)
    assert [r.written for r in app.store.list_behaviour_runs("other", "river-1")] == [4, 3, 2]
    assert len(app.store.list_behaviour_runs(twin_id="river-1", limit=4)) == 4
    assert client.delete("/behaviours/flood").status_code == 204
    assert app.store.list_behaviours() == {}


# -- PostgreSQL: several writers at once -------------------------------------------------------------------------


@pytest.fixture
def writers(postgres_url: str) -> Iterator[list[PostgresStore]]:
    """Two stores on one database, as two processes (API servers, ingestion workers) would hold them."""
    stores = [PostgresStore(postgres_url), PostgresStore(postgres_url)]
    yield stores
    for store in stores:
        store.close()


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``work`` in a thread of its own (so with a connection of its own); the result dict gets its outcome
    and how long it took."""
    result: dict[str, Any] = {}

    def run() -> None:
        started = time.perf_counter()
        try:
            result["value"] = work()
        except Exception as exc:  # the test looks at it
            result["error"] = exc
        result["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """``count`` threads released together on ``work(i)``; each one's value or exception."""
    gate = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(i: int) -> None:
        gate.wait()
        try:
            outcomes[i] = work(i)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_a_writer_waits_for_the_row_of_an_etag_check_and_then_fails_it(writers: list[PostgresStore]) -> None:
    first, second = writers
    etag = first.put_twin(Twin("b1", BUILDING, {"height": 1.0})).etag
    holding = threading.Event()

    def replace_and_hold() -> Twin:
        with first.transaction():
            stored = first.put_twin(Twin("b1", BUILDING, {"height": 2.0}), if_match=etag)
            holding.set()
            time.sleep(0.5)  # the other writer reads the row meanwhile: it must wait, not see the old ETag
        return stored

    thread, won = _in_thread(replace_and_hold)
    assert holding.wait(10)
    with pytest.raises(PreconditionFailed):
        started = time.perf_counter()
        try:
            second.put_twin(Twin("b1", BUILDING, {"height": 3.0}), if_match=etag)
        finally:
            waited = time.perf_counter() - started
    thread.join(10)
    assert "error" not in won and waited > 0.3
    stored = second.get_twin("b1")
    assert stored is not None and stored.properties == {"height": 2.0} and stored.etag == won["value"].etag


def test_of_many_writers_with_one_etag_exactly_one_wins(writers: list[PostgresStore]) -> None:
    for round_ in range(5):
        twin_id = f"b{round_}"
        etag = writers[0].put_twin(Twin(twin_id, BUILDING, {"height": 0.0})).etag
        outcomes = _race(
            8, lambda i, t=twin_id, e=etag: writers[i % 2].put_twin(Twin(t, BUILDING, {"height": float(i)}), if_match=e)
        )
        winners = [o for o in outcomes if isinstance(o, Twin)]
        assert len(winners) == 1 and all(isinstance(o, PreconditionFailed) for o in outcomes if o not in winners)
        assert writers[1].get_twin(twin_id).etag == winners[0].etag  # type: ignore[union-attr]
    # Creating one twin at once: one creates it, the others are told it exists.
    outcomes = _race(
        8, lambda i: writers[i % 2].put_twin(Twin("new", BUILDING, {"height": float(i)}), if_none_match="*")
    )
    assert sum(isinstance(o, Twin) for o in outcomes) == 1
    assert all(isinstance(o, Twin | PreconditionFailed) for o in outcomes)


def test_two_spends_that_together_exceed_the_budget_cannot_both_pass(writers: list[PostgresStore]) -> None:
    first, second = writers
    first.set_privacy_budget("people", 1.0, 0.0)
    holding = threading.Event()

    def spend_and_hold() -> None:
        with first.transaction():
            first.spend_privacy("people", 0.6, 0.0, PrivacySpend("user:first"))
            holding.set()
            time.sleep(0.5)

    thread, spent = _in_thread(spend_and_hold)
    assert holding.wait(10)
    with pytest.raises(Conflict):
        second.spend_privacy("people", 0.6, 0.0, PrivacySpend("user:second"))
    thread.join(10)
    assert "error" not in spent
    budget = second.privacy_budget("people")
    assert budget is not None and budget.releases == 1 and budget.spent_epsilon == pytest.approx(0.6)

    for round_ in range(5):  # released together: exactly what fits passes, the rest records nothing
        dataset = f"people-{round_}"
        first.set_privacy_budget(dataset, 1.0, 0.0)
        outcomes = _race(8, lambda i, d=dataset: writers[i % 2].spend_privacy(d, 0.3, 0.0, PrivacySpend(f"user:{i}")))
        assert sum(o is None for o in outcomes) == 3
        assert all(o is None or isinstance(o, Conflict) for o in outcomes)
        budget = first.privacy_budget(dataset)
        assert budget is not None and budget.releases == 3 and budget.spent_epsilon == pytest.approx(0.9)


def _entry(actor: str, n: int) -> Callable[[int, str], AuditEntry]:
    def make(seq: int, prev: str) -> AuditEntry:
        entry = AuditEntry(seq, "2026-07-01T00:00:00Z", actor, "test.append", f"things/{n}", {"n": n}, prev)
        return AuditEntry(**{**entry.to_json(), "hash": entry.computed_hash()})

    return make


def test_writers_in_two_processes_cannot_fork_the_audit_chain(writers: list[PostgresStore]) -> None:
    def append(i: int) -> None:
        store = writers[i % 2]
        for n in range(15):
            store.append_audit_batch([_entry(f"writer-{i}", n), _entry(f"writer-{i}", n + 1000)])

    outcomes = _race(6, append)
    assert outcomes == [None] * 6
    entries = [entry for _, entry in writers[0].scan_audit(0, 10_000)]
    assert len(entries) == writers[1].count_audit() == 6 * 15 * 2
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    verified = verify_entries(entries)
    assert verified.ok, verified.to_json()
    # A batch is contiguous: no other writer's entry lands between its two.
    assert all(
        a.resource == f"things/{int(b.resource.split('/')[1]) - 1000}"
        for a, b in zip(entries[::2], entries[1::2], strict=True)
    )


def test_concurrent_calibration_changes_of_one_series_do_not_collide(writers: list[PostgresStore]) -> None:
    def save(i: int) -> None:
        records = [
            Calibration(f"c{k}", "rs", "waterLevel", "linear", k * 1000, k * 1000 + 1000, gain=i + 1) for k in range(3)
        ]
        change = CalibrationChange("c0", "rs", "waterLevel", "corrected", f"writer {i}", i, "race")
        writers[i % 2].save_calibrations("rs", "waterLevel", records, change)

    outcomes = _race(6, save)
    assert outcomes == [None] * 6
    kept = writers[0].list_calibrations("rs")
    assert [r.id for r in kept] == ["c0", "c1", "c2"] and len({r.gain for r in kept}) == 1  # one writer's set
    assert len(writers[1].list_calibration_changes("rs", "waterLevel")) == 6


def test_text_postgresql_cannot_hold_is_invalid_input_not_a_server_error(postgres_url: str) -> None:
    store: Store = PostgresStore(postgres_url)
    try:
        with pytest.raises(InvalidInput):
            store.get_twin("a\x00b")
        with pytest.raises(InvalidInput):
            store.put_twin(Twin("b1", BUILDING, {"name": "a\x00b"}))  # JSONB refuses \u0000
        assert store.get_twin("b1") is None
        store.put_twin(Twin("b1", BUILDING, {"name": "ok"}))  # the connection is fine afterwards
        assert store.get_twin("b1").properties == {"name": "ok"}  # type: ignore[union-attr]
    finally:
        store.close()


def _levels(twin_id: str, start: int, values: list[float], kind: Any = "f8") -> SeriesBatch:
    ts = T0 + (start + np.arange(len(values), dtype=np.int64)) * MINUTE
    return SeriesBatch(twin_id, "level", kind, ts, np.array(values), np.ones(len(values), dtype=np.uint8))


def test_a_series_deleted_by_another_process_takes_new_readings(writers: list[PostgresStore]) -> None:
    ingest, api = writers  # an ingestion worker keeps appending; an API server deletes the twin's series
    ingest.append_series([_levels("rs", 0, [1.0, 2.0])])
    api.delete_series("rs")
    assert api.series_names("rs") == []
    ingest.append_series([_levels("rs", 2, [3.0, 4.0])])  # the twin was made again with the same id
    assert api.read_series("rs", "level", None, None).values.tolist() == [3.0, 4.0]
    assert api.latest("rs")["level"].value == 4.0


def test_a_partition_dropped_by_another_process_is_made_again(writers: list[PostgresStore]) -> None:
    ingest, maintenance = writers
    week = 7 * 86_400 * 1_000_000
    ingest.append_series([_levels("rs", 0, [1.0])])
    ingest.append_series([_levels("rs", 3 * week // MINUTE, [2.0])])
    assert maintenance.apply_retention(T0 + 2 * week) == 1  # drops the first reading's partition
    ingest.append_series([_levels("rs", 1, [1.5])])  # late data of the dropped week
    assert maintenance.read_series("rs", "level", None, None).values.tolist() == [1.5, 2.0]


def test_appends_with_overlap_redelivery_and_every_kind_are_idempotent(writers: list[PostgresStore]) -> None:
    store, other = writers
    assert store.append_series([_levels("a", 0, [1.0, 2.0, 3.0]), _levels("b", 0, [7.0])]) == 4
    assert store.append_series([_levels("a", 0, [1.0, 2.0, 3.0])]) == 3  # redelivered
    assert other.append_series([_levels("a", 2, [30.0, 4.0])]) == 2  # overlaps: the last write wins
    assert store.read_series("a", "level", None, None).values.tolist() == [1.0, 2.0, 30.0, 4.0]
    counts = SeriesBatch("c", "count", "i8", np.array([T0, T0 + 1]), np.array([2**62, -5]), np.array([1, 3], np.uint8))
    flags = SeriesBatch("c", "on", "b1", np.array([T0]), np.array([True]), np.array([1], np.uint8))
    notes = SeriesBatch("c", "note", "json", np.array([T0]), [{"text": "héllo", "n": [1, 2]}], np.array([1], np.uint8))
    assert store.append_series([counts, flags, notes]) == 4
    read = other.read_series("c", "count", None, None)
    assert read.values.tolist() == [2**62, -5] and read.quality.tolist() == [1, 3]
    assert other.read_series("c", "on", None, None).values.tolist() == [True]
    assert other.read_series("c", "note", None, None).values == [{"text": "héllo", "n": [1, 2]}]
    assert {k: v.value for k, v in other.latest("c").items()} == {
        "count": -5,
        "on": True,
        "note": {"text": "héllo", "n": [1, 2]},
    }
    # A model change of the schema rewrites the history as the new kind, for every process.
    assert other.append_series([_levels("a", 4, [5.0], kind="i8")]) == 1
    assert store.read_series("a", "level", None, None).values.tolist() == [1, 2, 30, 4, 5]
    assert store.append_series([_levels("a", 5, [6.0], kind="i8")]) == 1
    assert other.read_series("a", "level", None, None).kind == "i8"


def test_a_numeric_series_with_a_null_value_still_reads(writers: list[PostgresStore]) -> None:
    store, _ = writers
    store.append_series([_levels("rs", 0, [1.0, 2.0, 3.0])])
    with store.db.write() as conn:  # not what futago writes, but what a hand-made fix in SQL could leave
        conn.execute("UPDATE readings SET num = NULL WHERE ts = ?", (T0 + MINUTE,))
    data = store.read_series("rs", "level", None, None)
    assert data.ts.tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE] and data.quality.tolist() == [1, 1, 1]
    assert data.values[0] == 1.0 and np.isnan(data.values[1]) and data.values[2] == 3.0
    window = store.read_series("rs", "level", T0 + 2 * MINUTE, T0 + 3 * MINUTE)
    assert window.values.tolist() == [3.0] and window.values.dtype == np.float64
    assert len(store.read_series("rs", "level", T0 + 10 * MINUTE, None)) == 0


def test_retention_during_an_append_neither_waits_for_it_nor_orphans_its_readings(
    writers: list[PostgresStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest, maintenance = writers
    ingest.append_series([_levels("rs", 0, [1.0])])  # a sensor silent since, whose only reading retention removes
    copied, go = threading.Event(), threading.Event()
    copy = ingest._copy

    def copy_then_pause(*args: Any) -> None:
        copy(*args)
        copied.set()  # the append holds its series (KEY SHARE) between its COPY and the latest reading's upsert
        go.wait(5)

    monkeypatch.setattr(ingest, "_copy", copy_then_pause)
    appending, appended = _in_thread(lambda: ingest.append_series([_levels("rs", 2, [2.0])]))
    assert copied.wait(10)
    retention, removed = _in_thread(lambda: maintenance.apply_retention(T0 + MINUTE))
    retention.join(3)
    finished_first = not retention.is_alive()
    go.set()
    appending.join(10)
    retention.join(10)
    assert finished_first and removed == {"value": 1, "seconds": removed["seconds"]}
    assert "error" not in appended
    data = maintenance.read_series("rs", "level", None, None)
    assert data.values.tolist() == [2.0] and maintenance.latest("rs")["level"].value == 2.0
