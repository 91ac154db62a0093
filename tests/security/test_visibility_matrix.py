"""One visibility rule for everything that leaves the server (issue 15, items 3, 10 and 11, and the policy matrix).

Keys of different reach walk every GET route of the OpenAPI document, path parameters filled with the ids of what
each may not read, and follow every SSE event type about those things: no hidden id or value may show in any 2xx
answer or delivered event. The world holds an alert, a proposed command, a notification delivery (and its dead
letter) and a behaviour run about the hidden building, and an alert whose evidence holds a hidden reading. A route
parameter or an event type the matrix cannot fill fails the walk, so that nothing new is skipped silently.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago.act.commands import CommandRecord
from futago.act.model import Alert
from futago.act.notify import NOTIFICATION_FAILED, NotificationService, NotificationSettings
from futago.api.access import Access
from futago.api.events import _as_seen_by
from futago.api.server import create_api
from futago.app import App, notification_channel_types
from futago.city.export import mvt, tiles3d
from futago.core.alerts import AlertHistoryEntry
from futago.core.events import (
    CONCERNS,
    EVENT_TYPES,
    Event,
    telemetry_resource,
    twin_resource,
)
from futago.core.notifications import Delivery, LetterMessage, NotificationDeadLetter
from futago.core.runs import BehaviourRun
from futago.core.twins import now_iso
from futago.store.sql.notifications import SqlNotifications
from tests.city.export_fixtures import load_city_models
from tests.conftest import free_port
from tests.security.test_access import key_for

SRC = Path(__file__).resolve().parents[2] / "src" / "futago"
RIVER = "dtmi:futago:demo:RiverStation;1"
BUILDING = "dtmi:futago:city:Building;1"
HIDDEN_MODEL = "dtmi:secret:vault:Hidden;1"
BUILDING_ID = "bldg-secret"
OWNER = "SECRET-OWNER-7"
LEVELS = {"river-1": 1234.5678, "river-2": 8765.4321}
T0 = 1_700_000_000_000_000
LON, LAT = 139.7660, 35.6810
FOOTPRINT = {
    "type": "Polygon",
    "coordinates": [[[LON, LAT], [LON + 0.0002, LAT], [LON + 0.0002, LAT + 0.0002], [LON, LAT + 0.0002], [LON, LAT]]],
}
READ = ["READ"]
STATION_GRANTS = ("twins/river-1", "query", "events", "city", "catalog", "models/dtmi:futago:*")
# Path parameters naming things this world does not hold: they answer 4xx, never a hidden value.
ABSENT = ("command", "subscriber_id", "letter_id", "calibration_id", "dataset", "person_id", "purpose",
          "key_id", "sub_id", "context_id")  # fmt: skip
# Items about twins (alerts, commands, deliveries, behaviour runs): about the hidden building, or, for the alert
# about river-2, holding one of its readings in its evidence, message and history.
ALERT_OF_BUILDING, ALERT_OF_LEVEL = "alert-of-building", "alert-of-level"
COMMAND_OF_BUILDING, DELIVERY_OF_BUILDING = "command-of-building", "delivery-of-building"
BEHAVIOUR = "building-watch"


@dataclass(frozen=True)
class Reach:
    """A key and what it must never see."""

    name: str
    headers: dict[str, str]
    hidden: tuple[str, ...]


@dataclass
class World:
    app: App
    client: TestClient
    admin: dict[str, str]
    reaches: dict[str, Reach]


@pytest.fixture
def world(app: App) -> Iterator[World]:
    app.settings = app.settings.with_overrides(require_auth=True)
    load_city_models(app)
    app.models.add(
        [
            {
                "@context": "dtmi:dtdl:context;3",
                "@id": HIDDEN_MODEL,
                "@type": "Interface",
                "contents": [{"@type": "Property", "name": "vaultCode", "schema": "string"}],
            }
        ]
    )
    for station in LEVELS:
        app.twins.put(station, {"$metadata": {"$model": RIVER}, "serialNumber": f"SN-{station}"})
    app.twins.put(
        BUILDING_ID, {"$metadata": {"$model": BUILDING}, "geometry": FOOTPRINT, "name": OWNER, "measuredHeight": 41.25}
    )
    app.twins.put_relationship("river-1", "r12", {"$relationshipName": "floodZones", "$targetId": "river-2"})
    app.twins.put_relationship("river-1", "r1b", {"$relationshipName": "floodZones", "$targetId": BUILDING_ID})
    app.twins.put_relationship("river-2", "r21", {"$relationshipName": "floodZones", "$targetId": "river-1"})
    app.telemetry.append([(station, "waterLevel", T0, level, 1) for station, level in LEVELS.items()])
    add_items_about_twins(app)
    building = (BUILDING_ID, OWNER)
    reaches = [
        Reach(
            "one station",
            key_for(app, "user:station", *[(r, READ, "grant") for r in STATION_GRANTS]),
            ("river-2", str(LEVELS["river-2"]), HIDDEN_MODEL, *building),
        ),
        Reach(  # item 10: a glob grant that a probe of the literal path twins/* answers wrongly
            "all but buildings (glob grant)",
            key_for(app, "user:glob", ("[!t]*", READ, "grant"), ("twins/[!b]*", READ, "grant")),
            building,
        ),
        Reach(
            "all but buildings (glob revoke)",
            key_for(app, "user:revoke", ("*", READ, "grant"), ("twins/b*", READ, "revoke")),
            building,
        ),
        Reach(
            "no telemetry",
            key_for(app, "user:blind", ("*", READ, "grant"), ("twins/*/telemetry", READ, "revoke")),
            tuple(str(level) for level in LEVELS.values()),
        ),
    ]
    admin = key_for(app, "user:root", ("*", ["ADMIN"], "grant"))
    with TestClient(create_api(app), raise_server_exceptions=False) as client:
        yield World(app, client, admin, {r.name: r for r in reaches})


def alert_of(alert_id: str, twin_id: str, value: float | None = None) -> Alert:
    """An alert as the rule engine raises it; with ``value``, the reading that tipped it shows where the engine
    puts it: the evidence, the rendered message and an ``occurred`` entry of the history."""
    raised = now_iso()
    alert = Alert(id=alert_id, rule="high-water", twin_id=twin_id, severity="critical", state="raised",
                  raised_at=raised, message={"en": f"{twin_id}: check it"},
                  history=[AlertHistoryEntry(raised, "raised")])  # fmt: skip
    if value is not None:
        alert.message = {"en": f"{twin_id}: water level {value} m"}
        alert.evidence = {"trigger": {"telemetry": "waterLevel", "value": value}, "conditions": [{"value": value}]}
        alert.history.append(AlertHistoryEntry(raised, event="occurred", details={"value": value}))
    return alert


def add_items_about_twins(app: App) -> None:
    """Stored as the services store them, so that each list and item route has something to leak."""
    level = alert_of(ALERT_OF_LEVEL, "river-2", LEVELS["river-2"])
    for alert in (alert_of(ALERT_OF_BUILDING, BUILDING_ID), level):
        app.store.put_alert(alert, alert.history)
    command = CommandRecord(id=COMMAND_OF_BUILDING, twin_id=BUILDING_ID, command="closeShutters", payload=None,
                            mode="recommend", state="proposed", proposed_by="rule:high-water", proposed_at=now_iso(),
                            evidence=level.to_json(), alert_id=ALERT_OF_LEVEL)  # fmt: skip
    app.store.add_command(command)
    delivery = Delivery(id=DELIVERY_OF_BUILDING, alert_id=ALERT_OF_BUILDING, twin_id=BUILDING_ID,
                        event="alert.raised", subscriber_id="resident-1", channel="hook", channel_type="webhook",
                        outcome="failed", subject="check it", text="check it", zone=None,
                        queued_at=now_iso())  # fmt: skip
    letter = NotificationDeadLetter(delivery_id=DELIVERY_OF_BUILDING, alert_id=ALERT_OF_BUILDING, event="alert.raised",
                                    subscriber_id="resident-1", channel="hook", channel_type="webhook", target="",
                                    reason="refused", attempts=1, failed_at=now_iso(),
                                    message=LetterMessage("check it", "", {"alert": {"twinId": BUILDING_ID}}),
                                    )  # fmt: skip
    app.store.save_deliveries([delivery], [letter])
    app.behaviours.put(BEHAVIOUR, {"model": "river_stage", "twins": [], "twinModel": BUILDING,
                                   "inputs": {"rainfall": {"twin": "river-1", "telemetry": "waterLevel"}}})  # fmt: skip
    run = BehaviourRun(BEHAVIOUR, BUILDING_ID, now_iso(), status="failed", error="no rain")
    app.store.add_behaviour_run(run)


def building_tile(z: int = 16) -> tuple[int, int, int]:
    [(x, y)] = mvt.tiles_covering([LON, LAT, LON + 0.0002, LAT + 0.0002], z)
    return z, x, y


# -- the REST walk ------------------------------------------------------------------------------------------

# How to fill each path parameter: with what is hidden from some key, and with what it may read (a readable twin's
# relationships must not name hidden ones). A new parameter name fails the walk until it is added here.
FILL: dict[str, Callable[[World], list[str]]] = {
    "twin_id": lambda w: ["river-1", "river-2", BUILDING_ID],
    "rel_id": lambda w: ["r12", "r1b", "r21"],
    "model_id": lambda w: [HIDDEN_MODEL, RIVER],
    "entry_id": lambda w: ["telemetry:river-1", "telemetry:river-2", "models:dtmi:secret:vault"],
    "name": lambda w: ["waterLevel", BEHAVIOUR],
    "alert_id": lambda w: [ALERT_OF_BUILDING, ALERT_OF_LEVEL],
    "command_id": lambda w: [COMMAND_OF_BUILDING],
    "delivery_id": lambda w: [DELIVERY_OF_BUILDING],
    "z": lambda w: [str(building_tile()[0])],
    "x": lambda w: [str(building_tile()[1])],
    "y": lambda w: [str(building_tile()[2])],
    "path": lambda w: sorted(tiles3d.build_tileset(w.app.store, w.app.models.models).contents),  # type: ignore[union-attr]
    # NGSI-LD: an entity is a twin (its id the $dtId), a type its model, an attribute a property or telemetry
    "entity_id": lambda w: ["river-1", "river-2", BUILDING_ID],
    "type_name": lambda w: [RIVER, BUILDING, HIDDEN_MODEL],
    "attr": lambda w: ["name", "measuredHeight", "serialNumber", "waterLevel", "vaultCode", "floodZones"],
    **{name: (lambda w: ["x"]) for name in ABSENT},
}
# Query variants that widen what a list route answers.
QUERIES: dict[str, list[dict[str, str]]] = {
    "/city/features": [{}, {"model": "*"}, {"bbox": "139,35,140,36", "model": "*"}],
    "/twins": [{}, {"model": RIVER}, {"model": BUILDING}],
    "/models": [{}, {"includeModelDefinition": "true"}],
    "/twins/{twin_id}/telemetry": [{"name": "waterLevel"}],
    # an NGSI-LD query needs a selector: every entity, those holding a property, one by its id, a q
    "/ngsi-ld/v1/entities": [{"idPattern": ".*"}, {"attrs": "name"}, {"id": BUILDING_ID},
                             {"q": "measuredHeight>1"}, {"idPattern": ".*", "options": "keyValues"}],
    "/ngsi-ld/v1/temporal/entities": [{"idPattern": ".*"}, {"attrs": "waterLevel"}, {"id": "river-2"},
                                      {"idPattern": ".*", "options": "temporalValues", "lastN": "5"}],
    "/ngsi-ld/v1/types": [{}, {"details": "true"}],
    "/ngsi-ld/v1/attributes": [{}, {"details": "true"}],
    "/ngsi-ld/v1/entities/{entity_id}": [{}, {"options": "keyValues"}],
}  # fmt: skip
STREAMS = {"/events"}  # walked event by event below, not as a response


def concrete_gets(world: World) -> list[str]:
    spec = world.client.get("/openapi.json", headers=world.admin).json()
    urls: list[str] = []
    for template, operations in spec["paths"].items():
        if "get" not in operations or template in STREAMS:
            continue
        names = re.findall(r"\{(\w+)(?::path)?\}", template)
        unknown = [n for n in names if n not in FILL]
        assert not unknown, f"the visibility matrix cannot fill {unknown} of GET {template}: add it to FILL"
        for values in product(*(FILL[n](world) for n in names)):
            path = template
            for name, value in zip(names, values, strict=True):
                path = re.sub(r"\{" + name + r"(?::path)?\}", value, path)
            for query in QUERIES.get(template, [{}]):
                urls.append(path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""))
    return urls


def test_no_route_shows_a_key_what_it_may_not_read(world: World) -> None:
    urls = concrete_gets(world)
    assert len(urls) > 60 and any("/city/3dtiles/" in u for u in urls)
    seen_by_admin = b"".join(world.client.get(url, headers=world.admin).content for url in urls)
    leaks: dict[str, list[tuple[str, str]]] = {}
    for reach in world.reaches.values():
        # the world is not vacuous: an administrator sees each hidden thing somewhere
        assert all(h.encode() in seen_by_admin for h in reach.hidden), reach.name
        for url in urls:
            response = world.client.get(url, headers=reach.headers)
            assert response.status_code < 500, (reach.name, url, response.text)
            if response.is_success:
                shown = [h for h in reach.hidden if h.encode() in response.content]
                leaks.setdefault(reach.name, []).extend((url, h) for h in shown)
    assert {name: found for name, found in leaks.items() if found} == {}


# -- the SSE walk -------------------------------------------------------------------------------------------


def event_about(kind: str, twin: str, model: str) -> Event:
    """An event of ``kind`` about ``twin`` (or ``model``), shaped as its publisher shapes it. A type missing here
    fails the walk: its publisher must be looked at, and what it is about named, before it ships."""
    now = now_iso()
    aggregate = kind.split(".")[0]
    if aggregate == "twin":
        return Event(kind, now, twin_id=twin, model=BUILDING, data={"twin": {"$dtId": twin, "name": OWNER}})
    if aggregate == "relationship":  # from a twin every key may read, to the hidden one
        rel = {"$relationshipId": "r", "$sourceId": "river-1", "$targetId": twin}
        return Event(
            kind, now, twin_id="river-1", model=RIVER, data={"relationship": rel}, about=(twin_resource(twin),)
        )
    if aggregate == "telemetry":
        return Event(kind, now, twin_id=twin, data={"name": "waterLevel", "latest": {"value": LEVELS["river-2"]}})
    if aggregate == "model":
        return Event(kind, now, model=model)
    if kind == "quality.drift_suspected":  # a readable series drifting against a hidden reference
        data = {"name": "waterLevel", "reference": {"twinId": twin, "name": "waterLevel"}}
        return Event(kind, now, twin_id="river-1", data=data, about=(telemetry_resource(twin),))
    if aggregate == "alert":
        return Event(kind, now, twin_id=twin, data={"id": "a1", "twinId": twin}, about=("alerts/a1",))
    if aggregate == "command":
        return Event(kind, now, twin_id=twin, data={"id": "c1", "twinId": twin}, about=("commands/c1",))
    if aggregate == "notification":
        about = ("alerts/a1", "notifications/d1")
        return Event(kind, now, twin_id=twin, data={"id": "d1", "alertId": "a1"}, about=about)
    if aggregate == "behaviour":
        return Event(kind, now, twin_id=twin, data={"behaviour": "b"}, about=("behaviours/b",))
    raise AssertionError(f"the visibility matrix does not know event type {kind!r}: add it to event_about")


# What a hidden event is about for each key: a twin it may not read, or a model.
HIDDEN_FOR = {
    "one station": ("river-2", HIDDEN_MODEL),
    "all but buildings (glob grant)": (BUILDING_ID, None),
    "all but buildings (glob revoke)": (BUILDING_ID, None),
    "no telemetry": (None, None),  # hides telemetry events only: below
}
# Types about no twin, and what each names instead: the city as a whole (its counts are the catalog's), an
# NGSI-LD subscription written through another process. READ on that resource decides.
NO_TWIN = {"city.imported": ("city",), "ngsild_subscription.changed": ("subscriptions/s1",)}


def access_of(world: World, reach: Reach) -> Access:
    principal = world.app.security.authenticate_key(reach.headers["Authorization"].removeprefix("Bearer "))
    return Access(principal, "READ", "events", world.app.security)


def test_no_event_type_reaches_a_key_that_may_not_read_what_it_is_about(world: World) -> None:
    assert set(EVENT_TYPES) == set(CONCERNS) and len(EVENT_TYPES) >= 26
    for name, reach in world.reaches.items():
        access = access_of(world, reach)
        twin, model = HIDDEN_FOR[name]
        for kind in EVENT_TYPES:
            about_model = kind.startswith("model.")
            if kind in NO_TWIN or (model if about_model else twin) is None:
                continue
            event = event_about(kind, twin or "river-1", model or RIVER)
            assert _as_seen_by(access, event) is None, (name, kind)
    # and none of it is vacuous: the key that may read all but buildings gets each type about a station
    everything = access_of(world, world.reaches["all but buildings (glob revoke)"])
    for kind in EVENT_TYPES:
        event = (
            Event(kind, now_iso(), about=NO_TWIN[kind])
            if kind in NO_TWIN
            else event_about(kind, "river-2", HIDDEN_MODEL)
        )
        assert _as_seen_by(everything, event) is not None, kind
    station = access_of(world, world.reaches["one station"])  # granted no subscriptions
    changed = Event("ngsild_subscription.changed", now_iso(), about=NO_TWIN["ngsild_subscription.changed"])
    assert _as_seen_by(station, changed) is None
    blind = access_of(world, world.reaches["no telemetry"])
    for kind in ("telemetry.appended", "quality.drift_suspected"):
        assert _as_seen_by(blind, event_about(kind, "river-2", RIVER)) is None


def test_an_event_that_names_nothing_or_too_little_goes_to_administrators_only(world: World) -> None:
    access = access_of(world, world.reaches["all but buildings (glob revoke)"])
    assert _as_seen_by(access, Event("notification.failed", now_iso(), data={"id": 1})) is None  # item 3's shape
    assert _as_seen_by(access, Event("alert.raised", now_iso(), twin_id="river-1")) is None  # no alert named
    assert _as_seen_by(access, Event("someone.new", now_iso(), twin_id="river-1")) is None  # unknown type
    relationship = Event("relationship.created", now_iso(), twin_id="river-1")  # its target not named
    assert _as_seen_by(access, relationship) is None


def test_every_event_type_any_module_declares_is_in_the_one_table() -> None:
    """A type declared or published anywhere but missing from core.events.CONCERNS would be for administrators
    only (fail closed) and unknown to the matrix: declare it there, with what it is about."""
    declared: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                value = node.value.value
                names = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
                if names and isinstance(value, str) and re.fullmatch(r"[a-z]+\.[a-z_]+", value):
                    declared.add(value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Event" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    declared.add(first.value)
    not_events = {"futago.events", "futago.ingest", "futago.rollup"}  # NATS subjects
    assert declared - not_events - set(EVENT_TYPES) == set()


# -- item 3: contact data never travels in events ----------------------------------------------------------


def test_a_failed_notification_event_carries_no_contact_data_and_reaches_only_readers_of_its_alert(
    world: World,
) -> None:
    app = world.app
    service = NotificationService(
        SqlNotifications(app.store.db),
        app.store,
        app.bus,
        NotificationSettings.parse({"retry": {"attempts": 1, "base_s": 0.01, "factor": 1.0, "max_s": 0.01}}),
        app.connections,
        channel_types=notification_channel_types(),
    )
    service.start()
    events: list[Event] = []
    app.bus.subscribe(lambda e: events.append(e) if e.type == NOTIFICATION_FAILED else None)
    url = f"http://127.0.0.1:{free_port()}/hook?token=TOPSECRET-TOKEN"  # nobody listens: the delivery fails
    try:
        service.put_subscriber(
            "resident-42",
            {
                "name": "Resident",
                "language": "en",
                "rules": ["flood-*"],
                "channels": [{"type": "webhook", "url": url, "secret": "hook-signing-secret"}],
            },
        )
        alert = Alert(id="alert-9", rule="flood-danger", twin_id="river-2", severity="critical", state="raised",
                      raised_at=now_iso(), message={"en": "above the danger level"})  # fmt: skip
        app.bus.publish(Event("alert.raised", now_iso(), twin_id="river-2", data=alert.to_json(), about=("alerts/a",)))
        assert service.wait_idle(10)
    finally:
        service.close()
    [event] = events
    text = repr(event.to_json())
    for personal in ("resident-42", "TOPSECRET", "127.0.0.1", "/hook", "Resident", "signing"):
        assert personal not in text  # not even an administrator's stream carries it
    assert event.twin_id == "river-2" and event.data["alertId"] == "alert-9"
    assert set(event.resources()) >= {"twins/river-2", "alerts/alert-9"}
    station = access_of(world, world.reaches["one station"])  # may read river-1 only
    assert _as_seen_by(station, event) is None
    assert _as_seen_by(access_of(world, world.reaches["all but buildings (glob revoke)"]), event) is not None


# -- item 10: tiles are made per caller, twin by twin -------------------------------------------------------


def test_a_glob_grant_does_not_open_the_tiles_of_twins_it_does_not_grant(world: World) -> None:
    glob = world.reaches["all but buildings (glob grant)"].headers
    z, x, y = building_tile()
    tile = f"/city/tiles/{z}/{x}/{y}.mvt"
    # the administrator first: its cached tile must not be served to a caller of less reach
    assert BUILDING_ID.encode() in world.client.get(tile, headers=world.admin).content
    assert world.client.get("/city/tiles.json", headers=world.admin).json()["futago:buildings"]["count"] == 1
    assert world.client.get("/city/3dtiles/tileset.json", headers=world.admin).status_code == 200

    assert world.client.get(tile, headers=glob).status_code == 204  # its only building is hidden: an empty tile
    assert world.client.get("/city/tiles.json", headers=glob).json()["futago:buildings"]["count"] == 0
    assert world.client.get("/city/3dtiles/tileset.json", headers=glob).status_code == 404  # no building to tile
    # and the administrator still gets the whole city (a caller's tiles are not shared the other way either)
    assert BUILDING_ID.encode() in world.client.get(tile, headers=world.admin).content


# -- item 11: side doors ------------------------------------------------------------------------------------


def test_a_hidden_twins_catalog_entry_is_missing_exactly_like_one_that_does_not_exist(world: World) -> None:
    station = world.reaches["one station"].headers
    visible = world.client.get("/catalog/telemetry:river-1", headers=station)
    assert visible.status_code == 200 and visible.json()["records"] == {"series": 1, "readings": 1}
    hidden = world.client.get("/catalog/telemetry:river-2", headers=station)
    missing = world.client.get("/catalog/telemetry:nowhere", headers=station)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"].replace("river-2", "nowhere") == missing.json()["detail"]
    listed = world.client.get("/catalog", headers=station).json()["value"]
    assert [e["id"] for e in listed if e["kind"] == "telemetry"] == ["telemetry:river-1"]
    assert HIDDEN_MODEL not in repr(listed)
    assert "river-2" in world.client.get("/catalog", headers=world.admin).text


def test_relationships_name_only_twins_the_caller_may_read(world: World) -> None:
    station = world.reaches["one station"].headers
    out = world.client.get("/twins/river-1/relationships", headers=station).json()["value"]
    assert out == []  # both targets (river-2 and the building) are hidden
    incoming = world.client.get("/twins/river-1/incomingrelationships", headers=station).json()["value"]
    assert incoming == []  # river-2 → river-1: its source is hidden
    assert world.client.get("/twins/river-1/relationships/r12", headers=station).status_code == 404
    glob = world.reaches["all but buildings (glob revoke)"].headers
    shown = world.client.get("/twins/river-1/relationships", headers=glob).json()["value"]
    assert [r["$targetId"] for r in shown] == ["river-2"]
    admin = world.client.get("/twins/river-1/relationships", headers=world.admin).json()["value"]
    assert sorted(r["$targetId"] for r in admin) == [BUILDING_ID, "river-2"]


def test_a_model_created_event_reaches_only_those_who_may_read_the_model(world: World) -> None:
    events: list[Event] = []
    world.app.bus.subscribe(lambda e: events.append(e) if e.type.startswith("model.") else None)
    world.app.models.add(
        [{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:secret:vault:Other;1", "@type": "Interface"},
         {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:futago:demo:Open;1", "@type": "Interface"}]
    )  # fmt: skip
    station = access_of(world, world.reaches["one station"])  # READ on models/dtmi:futago:* only
    shown = [e.model for e in events if _as_seen_by(station, e) is not None]
    assert shown == ["dtmi:futago:demo:Open;1"] and len(events) == 2
    models = world.client.get("/models", headers=world.reaches["all but buildings (glob revoke)"].headers)
    assert HIDDEN_MODEL in models.text  # READ * covers models


# -- items about a twin: absent from lists, missing by id, readings behind them with READ on telemetry ------


def test_an_item_about_a_hidden_twin_is_missing_exactly_like_one_that_does_not_exist(world: World) -> None:
    glob = world.reaches["all but buildings (glob revoke)"].headers
    named = {
        "/alerts/{}": ALERT_OF_BUILDING,
        "/alerts/{}/impact": ALERT_OF_BUILDING,
        "/commands/{}": COMMAND_OF_BUILDING,
        "/notifications/{}": DELIVERY_OF_BUILDING,
    }
    for template, item in named.items():
        assert world.client.get(template.format(item), headers=world.admin).status_code == 200, template
        hidden = world.client.get(template.format(item), headers=glob)
        missing = world.client.get(template.format("nowhere"), headers=glob)
        assert hidden.status_code == missing.status_code == 404, template
        assert hidden.json()["detail"].replace(item, "nowhere") == missing.json()["detail"], template
    acting = key_for(world.app, "user:operator", ("*", ["READ", "WRITE", "COMMAND"], "grant"),
                     ("twins/b*", ["READ"], "revoke"))  # fmt: skip
    for url in (f"/alerts/{ALERT_OF_BUILDING}/acknowledge", f"/alerts/{ALERT_OF_BUILDING}/resolve",
                f"/commands/{COMMAND_OF_BUILDING}/approve", f"/commands/{COMMAND_OF_BUILDING}/reject"):  # fmt: skip
        assert world.client.post(url, headers=acting).status_code == 404, url
    assert world.app.alerts.get(ALERT_OF_BUILDING).state == "raised"  # nothing was done to the hidden items
    assert world.app.commands.get(COMMAND_OF_BUILDING)["state"] == "proposed"
    run = world.client.post(f"/behaviours/{BEHAVIOUR}/run?twin={BUILDING_ID}", headers=acting)
    unattached = world.client.post(f"/behaviours/{BEHAVIOUR}/run?twin=nowhere", headers=acting)
    assert run.status_code == unattached.status_code == 422
    assert run.json()["errors"][0]["detail"].replace(BUILDING_ID, "nowhere") == unattached.json()["errors"][0]["detail"]
    # the lists hold what the caller may read, and only that
    lists = {"/alerts": "id", "/commands": "id", "/notifications": "id", f"/behaviours/{BEHAVIOUR}/runs": "twinId"}
    for url, key in lists.items():
        shown = [item[key] for item in world.client.get(url, headers=glob).json()["value"]]
        every = [item[key] for item in world.client.get(url, headers=world.admin).json()["value"]]
        assert shown == [i for i in every if BUILDING_ID not in repr(i) and "building" not in i], url
    assert world.client.get("/alerts", headers=glob).json()["value"][0]["id"] == ALERT_OF_LEVEL
    assert world.client.get("/notifications/dead-letters", headers=glob).json()["value"] == []
    assert len(world.client.get("/notifications/dead-letters", headers=world.admin).json()["value"]) == 1
    attached = world.client.get(f"/behaviours/{BEHAVIOUR}", headers=glob).json()["attachedTwins"]
    assert attached == [] and world.client.get(f"/behaviours/{BEHAVIOUR}", headers=world.admin).json()[
        "attachedTwins"
    ] == [BUILDING_ID]


def test_the_readings_behind_an_alert_need_read_on_the_twins_telemetry(world: World) -> None:
    blind = world.reaches["no telemetry"].headers
    level = str(LEVELS["river-2"])
    full = world.client.get(f"/alerts/{ALERT_OF_LEVEL}", headers=world.admin).json()
    assert level in repr(full["evidence"]) and level in full["message"]["en"] and level in repr(full["history"])
    seen = world.client.get(f"/alerts/{ALERT_OF_LEVEL}", headers=blind).json()
    assert seen["evidence"] == {} and seen["message"] == {}
    assert seen["history"] == [{k: v for k, v in h.items() if k != "value"} for h in full["history"]]
    assert {k: v for k, v in seen.items() if k not in ("evidence", "message", "history")} == {
        k: v for k, v in full.items() if k not in ("evidence", "message", "history")
    }
    command = world.client.get(f"/commands/{COMMAND_OF_BUILDING}", headers=blind).json()
    assert command["evidence"]["id"] == ALERT_OF_LEVEL and level not in repr(command)  # the alert, as it is shown
    assert level in world.client.get(f"/commands/{COMMAND_OF_BUILDING}", headers=world.admin).text
    # and the same on /events: the alert's and the command's events carry the same records, shaped the same way
    access = access_of(world, world.reaches["no telemetry"])
    about = (f"alerts/{ALERT_OF_LEVEL}",)
    alert_event = Event("alert.raised", now_iso(), twin_id="river-2", data=full, about=about)
    shown = _as_seen_by(access, alert_event)
    assert shown is not None and shown.data == seen
    record = world.app.commands.get(COMMAND_OF_BUILDING)
    command_event = Event("command.proposed", now_iso(), twin_id=BUILDING_ID, data=record,
                          about=(f"commands/{COMMAND_OF_BUILDING}",))  # fmt: skip
    shown = _as_seen_by(access, command_event)
    assert shown is not None and shown.data == command
    glob = access_of(world, world.reaches["all but buildings (glob revoke)"])
    assert _as_seen_by(glob, command_event) is None
