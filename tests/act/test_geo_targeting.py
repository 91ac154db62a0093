"""Geo-targeting: an alert over a flood zone notifies exactly the subscribers whose place lies in the zone where
the planned depth reaches the threshold, in their language — checked against a generated PLATEAU district with
the expected recipients worked out independently (shapely over the twins and the buildings' own survey data),
and on hand-made twins for each rule."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape

from futago.act.model import Alert
from futago.act.notify import NotificationService, NotificationSettings
from futago.app import App, build, notification_channel_types
from futago.city.generator import DistrictSpec, generate_district
from futago.city.twins import BUILDING, FLOOD_ZONE
from futago.config import Settings
from futago.core.events import Event
from futago.core.twins import Twin, TwinScan, now_iso
from futago.services.city_import import CityImporter
from futago.store.sql.notifications import SqlNotifications
from tests.act.test_notify_channels import WebhookServer

THRESHOLD = 0.5
# The lower bound of each PLATEAU depth-rank band (the codelist's labels), written out here on purpose rather
# than parsed, so that the test does not share the service's reading of them.
BAND_FLOOR = {
    "0.5m未満": 0.0,
    "0.5m以上3m未満": 0.5,
    "3m以上5m未満": 3.0,
    "5m以上10m未満": 5.0,
    "10m以上20m未満": 10.0,
    "20m以上": 20.0,
}


def service_for(app: App, **settings: Any) -> NotificationService:
    config = {"retry": {"attempts": 2, "base_s": 0.05}, **settings}
    service = NotificationService(
        SqlNotifications(app.store.db), app.store, app.bus, NotificationSettings.parse(config),
        channel_types=notification_channel_types(),
    )  # fmt: skip
    service.start()
    return service


def zone_alert(alert_id: str, area: dict[str, Any], severity: str = "critical", rule: str = "flood-danger") -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        twin_id="river-kano-1",
        severity=severity,  # type: ignore[arg-type]
        state="raised",
        raised_at=now_iso(),
        message={
            "ja": "狩野川が氾濫危険水位に達しました。",
            "en": "The Kano River has reached the flood danger level.",
        },
        area=area,
    )


def publish(app: App, alert: Alert, kind: str = "raised") -> None:
    app.bus.publish(Event(f"alert.{kind}", now_iso(), twin_id=alert.twin_id, data=alert.to_json()))


# -- a generated district ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("district")
    truth = generate_district(DistrictSpec(buildings=300, seed=7, dem=False), folder / "district.zip")
    application = build(Settings(db=str(folder / "futago.db")))
    CityImporter(application.store, application.models, application.twins, application.bus).run([str(truth.path)])
    yield application
    application.close()


def _expected(zone: Twin, buildings: dict[str, Twin], residents: list[dict[str, Any]]) -> set[str]:
    """Independently: the footprint centre in the zone polygon, and the building's own surveyed depth for the
    zone's river and scale at least the threshold; a point in the polygon where the zone's band starts at it."""
    polygon = shape(zone.geometry)
    props = zone.properties
    found = set()
    for resident in residents:
        if "home" in resident:
            building = buildings[resident["home"]]
            if not polygon.contains(shape(building.geometry).centroid):
                continue
            depths = [
                r["depth"]
                for r in building.properties.get("risks", [])
                if r.get("scale") == props["scale"] and r.get("description") == props["description"] and "depth" in r
            ]
            depth = max(depths) if depths else BAND_FLOOR[props["rank"]]
            if depth >= THRESHOLD:
                found.add(resident["id"])
        elif (
            "point" in resident
            and polygon.contains(Point(resident["point"]))
            and BAND_FLOOR[props["rank"]] >= THRESHOLD
        ):
            found.add(resident["id"])
    return found


def _figures(latencies_ms: list[float]) -> str:
    ordered = sorted(latencies_ms)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, max {ordered[-1]:.1f} ms"


def test_zone_alerts_notify_exactly_the_residents_of_affected_buildings(district: App, tmp_path: Path) -> None:
    app = district
    rng = random.Random(3)
    buildings = {t.id: t for t in app.store.scan_twins(TwinScan(model_ids=frozenset({BUILDING})))}
    zones = app.store.scan_twins(TwinScan(model_ids=frozenset({FLOOD_ZONE})))
    xs = [c for b in buildings.values() for c in (shape(b.geometry).centroid.x,)]
    ys = [c for b in buildings.values() for c in (shape(b.geometry).centroid.y,)]
    hooks = WebhookServer()
    service = service_for(app)
    try:
        residents: list[dict[str, Any]] = []
        for n, home in enumerate(rng.sample(sorted(buildings), 170)):
            residents.append({"id": f"res-{n:03d}", "home": home, "language": "ja" if n % 3 else "en"})
        for n in range(30):
            point = [rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))]
            residents.append({"id": f"walker-{n:02d}", "point": point, "language": "en" if n % 2 else "ja"})
        for resident in residents:
            hook = {"type": "webhook", "url": hooks.url(f"/{resident['id']}"), "secret": "0123456789abcdef-secret"}
            body = {k: v for k, v in resident.items() if k != "id"}
            service.put_subscriber(resident["id"], {**body, "channels": [hook, {"type": "dashboard"}]})
        service.put_subscriber("pump-desk", {"rules": ["pump-*"], "channels": [{"type": "dashboard"}]})
        service.put_subscriber("flood-desk", {"rules": ["flood-*"], "channels": [{"type": "dashboard"}]})

        # Every zone with an affected resident, and every zone that residents' buildings are joined to but where
        # the planned depth stays below the threshold (where a false notification would come from).
        by_zone = {z.id: _expected(z, buildings, residents) for z in zones}
        homes = {r["home"] for r in residents if "home" in r}
        joined = {z for z in by_zone if any(r.source_id in homes for r in app.store.list_incoming(z))}
        shallow = sorted(z for z in joined if not by_zone[z])
        chosen = sorted(z for z in by_zone if by_zone[z]) + shallow
        assert len(shallow) >= 2 and sum(len(by_zone[z]) for z in chosen) >= 100
        readings: dict[str, datetime] = {}
        for n, zone_id in enumerate(chosen):
            alert = zone_alert(f"alert-{n}", {"zone": zone_id})
            readings[alert.id] = datetime.fromisoformat(now_iso())  # the reading that tipped the rule
            publish(app, alert)
        assert service.wait_idle(30)

        latencies: list[float] = []
        for n, zone_id in enumerate(chosen):
            log = service.list_deliveries(alert_id=f"alert-{n}", limit=10_000)
            notified = {r["subscriberId"] for r in log if r["why"] != "rule"}
            assert notified == by_zone[zone_id], zone_id  # no one missed, no false notification
            assert {r["subscriberId"] for r in log if r["why"] == "rule"} == {"flood-desk"}
            assert all(r["outcome"] == "sent" for r in log)
            zone_name = app.store.get_twin(zone_id).properties["name"]  # type: ignore[union-attr]
            languages = {r["id"]: r["language"] for r in residents}
            for record in log:
                if record["why"] == "rule":
                    continue
                language = languages[record["subscriberId"]]
                assert record["language"] == language
                first = record["text"].splitlines()[0]
                assert first == (
                    f"{zone_name}で氾濫の危険。避難してください。"
                    if language == "ja"
                    else f"Flood danger at {zone_name}: evacuate."
                )
                assert record["depth"] >= THRESHOLD
                if record["channelType"] == "webhook":
                    sent = datetime.fromisoformat(record["sentAt"])
                    latencies.append((sent - readings[f"alert-{n}"]).total_seconds() * 1000)
        notified_residents = sum(len(by_zone[z]) for z in chosen)
        assert len(hooks.received) == notified_residents
        print(f"\n{len(residents)} residents, {len(chosen)} zone alerts at once, {notified_residents} notified")
        print(f"  reading -> notification (webhook) {_figures(latencies)}")

        # one alert alone, over the zone with the most affected residents, as the flood scenario raises it
        widest = max(chosen, key=lambda z: len(by_zone[z]))
        reading = datetime.fromisoformat(now_iso())
        publish(app, zone_alert("alert-alone", {"zone": widest}))
        assert service.wait_idle(30)
        log = service.list_deliveries(alert_id="alert-alone", limit=10_000)
        assert {r["subscriberId"] for r in log if r["why"] != "rule"} == by_zone[widest]
        alone = [(datetime.fromisoformat(r["sentAt"]) - reading).total_seconds() * 1000 for r in log]
        print(f"  one alert, {len(by_zone[widest])} residents, {len(log)} deliveries: {_figures(alone)}")
    finally:
        service.close()
        hooks.shutdown()
        hooks.server_close()


# -- the rules, one by one, on hand-made twins -------------------------------------------------------------

Z1 = [[138.860, 35.100], [138.870, 35.100], [138.870, 35.110], [138.860, 35.110], [138.860, 35.100]]
Z2 = [[138.870, 35.100], [138.880, 35.100], [138.880, 35.110], [138.870, 35.110], [138.870, 35.100]]


def _square(lon: float, lat: float, half: float = 0.0002) -> dict[str, Any]:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture
def town(app: App) -> App:
    """Two zones and six buildings, one for each way a building can be in (or out of) a zone."""
    CityImporter(app.store, app.models, app.twins, app.bus).ensure_models()
    river = {"description": "狩野川水系狩野川", "scale": "L1（計画規模）", "hazard": "river_flooding"}
    app.twins.put(
        "zone-1",
        {
            "$metadata": {"$model": FLOOD_ZONE},
            "name": "下香貫地区",
            "rank": "0.5m以上3m未満",
            **river,
            "geometry": {"type": "Polygon", "coordinates": [Z1]},
        },
    )
    app.twins.put(
        "zone-2",
        {
            "$metadata": {"$model": FLOOD_ZONE},
            "name": "上香貫地区",
            "rank": "0.5m未満",
            **river,
            "geometry": {"type": "Polygon", "coordinates": [Z2]},
        },
    )
    own_survey = [{"kind": "river_flooding", "depth": 1.5, **{k: river[k] for k in ("description", "scale")}}]
    places = {
        "b-related": ((138.862, 35.102), 1.2, {}),  # inside, related, deep enough
        "b-shallow": ((138.863, 35.103), 0.3, {}),  # inside, related, too shallow
        "b-unjoined": ((138.864, 35.104), None, {}),  # inside, never joined: found by its footprint
        "b-outside": ((138.875, 35.120), None, {}),  # outside every zone
        "b-related-outside": ((138.890, 35.104), 2.0, {}),  # outside the polygon, but the relationship says in
        "b-surveyed": ((138.865, 35.105), 0.2, {"risks": own_survey}),  # its own survey says 1.5 m
    }
    for twin_id, ((lon, lat), depth, extra) in places.items():
        app.twins.put(twin_id, {"$metadata": {"$model": BUILDING}, "geometry": _square(lon, lat), **extra})
        if depth is not None:
            app.twins.put_relationship(
                twin_id,
                "inFloodZone-zone-1",
                {"$relationshipName": "inFloodZone", "$targetId": "zone-1", "rank": "0.5m以上3m未満", "depth": depth},
            )
    return app


def _who(service: NotificationService, alert: Alert) -> dict[str, tuple[str, float | None]]:
    return {r.subscriber.id: (r.why, r.depth) for r in service.recipients(alert)}


def test_each_way_into_a_zone_and_the_depth_threshold(town: App) -> None:
    service = service_for(town)
    try:
        dash = [{"type": "dashboard"}]
        for building in ("b-related", "b-shallow", "b-unjoined", "b-outside", "b-related-outside", "b-surveyed"):
            service.put_subscriber(f"at-{building}", {"home": building, "channels": dash})
        service.put_subscriber("walker-in-1", {"point": [138.861, 35.109], "channels": dash})
        service.put_subscriber("walker-in-2", {"point": [138.875, 35.105], "channels": dash})
        service.put_subscriber("walker-out", {"point": [138.850, 35.105], "channels": dash})
        service.put_subscriber("walker-at-b-outside", {"point": [138.875, 35.120], "channels": dash})
        service.put_subscriber("flood-desk", {"rules": ["flood-*"], "channels": dash})
        service.put_subscriber("pump-desk", {"rules": ["pump-*"], "channels": dash})
        service.put_subscriber("nobody", {"channels": dash})
        service.put_subscriber("only-critical", {"home": "b-related", "minSeverity": "critical", "channels": dash})

        assert _who(service, zone_alert("a1", {"zone": "zone-1"})) == {
            "at-b-related": ("inFloodZone", 1.2),
            "at-b-unjoined": ("footprint", 0.5),  # the zone's band starts at 0.5 m
            "at-b-related-outside": ("inFloodZone", 2.0),
            "at-b-surveyed": ("inFloodZone", 1.5),
            "walker-in-1": ("point", 0.5),
            "flood-desk": ("rule", None),
            "only-critical": ("inFloodZone", 1.2),
        }
        # a shallower band notifies no one by place; a stricter alert narrows; a warning skips "only-critical"
        assert _who(service, zone_alert("a2", {"zone": "zone-2"})) == {"flood-desk": ("rule", None)}
        assert set(_who(service, zone_alert("a3", {"zone": "zone-1", "minDepth": 1.3}))) == {
            "at-b-related-outside",
            "at-b-surveyed",
            "flood-desk",
        }
        assert "only-critical" not in _who(service, zone_alert("a4", {"zone": "zone-1"}, severity="warning"))
        # listed twins: the homes among them, and points inside their footprints
        assert set(_who(service, zone_alert("a5", {"twins": ["b-outside"]}))) == {
            "at-b-outside",
            "walker-at-b-outside",
            "flood-desk",
        }
        # a zone that is not a twin reaches nobody by place
        assert set(_who(service, zone_alert("a6", {"zone": "no-such-zone"}))) == {"flood-desk"}
        # zone and twins together: everyone either reaches
        assert set(_who(service, zone_alert("a7", {"zone": "zone-1", "twins": ["b-outside"]}))) >= {
            "at-b-related",
            "at-b-outside",
        }
    finally:
        service.close()


def test_messages_by_language_and_the_all_clear_to_those_warned(town: App) -> None:
    service = service_for(town)
    try:
        dash = [{"type": "dashboard"}]
        service.put_subscriber("hanako", {"home": "b-related", "language": "ja", "channels": dash})
        service.put_subscriber("john", {"home": "b-surveyed", "language": "en", "channels": dash})
        service.put_subscriber("dry", {"home": "b-outside", "language": "en", "channels": dash})
        alert = zone_alert("flood-1", {"zone": "zone-1"})
        publish(town, alert)
        assert service.wait_idle(10)
        raised = {r["subscriberId"]: r for r in service.list_deliveries(alert_id="flood-1")}
        assert set(raised) == {"hanako", "john"}
        assert raised["hanako"]["subject"] == "【危険】下香貫地区で氾濫の危険"
        assert raised["hanako"]["text"].splitlines() == [
            "下香貫地区で氾濫の危険。避難してください。",
            "狩野川が氾濫危険水位に達しました。",
            "お住まいの場所の想定浸水深: 1.2 m",
        ]
        assert raised["john"]["text"].splitlines() == [
            "Flood danger at 下香貫地区: evacuate.",
            "The Kano River has reached the flood danger level.",
            "Planned inundation depth at your place: 1.5 m",
        ]

        # someone moves in after the warning: the all-clear goes to those who were warned, no one else
        service.put_subscriber("late", {"home": "b-unjoined", "language": "ja", "channels": dash})
        alert.state = "resolved"
        publish(town, alert, "resolved")
        assert service.wait_idle(10)
        cleared = {
            r["subscriberId"]: r for r in service.list_deliveries(alert_id="flood-1") if r["event"] == "alert.resolved"
        }
        assert set(cleared) == {"hanako", "john"}
        assert cleared["hanako"]["text"].splitlines()[0] == "下香貫地区の氾濫警報は解除されました。"
        assert cleared["john"]["subject"] == "[All clear] Flood alert for 下香貫地区"
    finally:
        service.close()
