"""``futago scenario flood``: the whole loop against a real Mosquitto, checked from outside.

Who should be told is recomputed here from the generator's own truth (the planned flood bands and the
buildings' footprints), not from the twin graph the notification service reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from click.testing import CliRunner

from futago.city.generator import DistrictSpec, generate_district
from futago.cli import main
from futago.scenarios import flood
from futago.store.sqlite.store import SQLiteStore
from futago.testing.mosquitto import MOSQUITTO

KEYS = {"alerts", "notified_residents", "false_notifications", "commands", "resolved",
        "reading_to_notification_p99_ms", "forecast_ms"}  # fmt: skip


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:  # type: ignore[type-arg]
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed: run scripts/install-system-deps.sh (make test does)")
    folder = tmp_path_factory.mktemp("flood")
    db = folder / "flood.db"
    result = CliRunner().invoke(main, ["scenario", "flood", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output), db


def test_every_figure_is_printed(outcome: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    figures, _ = outcome
    assert set(figures) >= KEYS
    assert figures["mqtt"] is True
    assert figures["reading_to_notification_p99_ms"] > 0 and figures["forecast_ms"] > 0  # measured, not asserted


def test_the_alert_is_raised_and_resolves_when_the_storm_passes(outcome: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    figures, _ = outcome
    (alert,) = figures["alerts"]
    assert alert["rule"] == "flood-danger" and alert["severity"] == "critical"
    assert alert["state"] == "resolved" and figures["resolved"] is True
    states = [h["state"] for h in alert["history"] if "state" in h]
    assert states == ["raised", "resolved"]
    assert alert["raisedAt"] < alert["resolvedAt"]


def test_exactly_the_residents_of_affected_buildings_are_notified(outcome: tuple[dict, Path], tmp_path: Path) -> None:  # type: ignore[type-arg]
    figures, db = outcome
    district = generate_district(DistrictSpec(buildings=400, seed=7), tmp_path / "district.zip")
    deep = shapely.union_all(
        [shapely.Polygon(ring) for z in district.flood_zones if z.scale == "L1" and z.depth_range[0] >= 0.5
         for ring in z.polygons]
    )  # fmt: skip
    store = SQLiteStore(db)
    try:
        residents = {s.id: s for s in store.list_subscribers()}
        expected = set()
        for resident, subscriber in residents.items():
            assert subscriber.home is not None
            home = store.get_twin(subscriber.home)
            assert home is not None and home.geometry is not None
            if deep.covers(shapely.geometry.shape(home.geometry).centroid):
                expected.add(resident)
        (alert,) = figures["alerts"]
        deliveries = store.list_deliveries(alert_id=alert["id"], limit=10_000)
        raised = [d for d in deliveries if d.event == "alert.raised"]
        notified = {d.subscriber_id for d in raised}
        languages = {d.subscriber_id: d.language for d in raised}
    finally:
        store.close()
    assert len(residents) == 200 and 0 < len(expected) < 200
    assert notified == expected
    assert figures["notified_residents"] == len(expected) and figures["false_notifications"] == 0
    assert {languages[r] for r in notified} == {"ja", "en"}
    assert all(languages[r] == residents[r].language for r in notified)


def test_the_gate_closes_after_the_operator_approves(outcome: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    figures, _ = outcome
    (command,) = figures["commands"]
    assert command["command"] == "closeGate" and command["twinId"] == flood.GATE
    assert command["proposedBy"] == "rule:flood-danger" and command["approvedBy"]
    assert command["state"] == "completed" and command["resultState"] == {"position": 0.0}


def test_flood_zone_links_carry_the_depth_of_their_own_scale(outcome: tuple[dict, Path]) -> None:  # type: ignore[type-arg]
    """A building's L1 (planned) link carries its L1 depth, never the deeper L2 (largest assumed) one."""
    _, db = outcome
    store = SQLiteStore(db)
    try:
        checked = 0
        for building in store.scan_twins(flood_buildings()):
            own = {(r["description"], r["scale"]): r["depth"] for r in building.properties.get("risks", [])
                   if r.get("depth") is not None}  # fmt: skip
            for link in store.list_relationships(building.id, "inFloodZone"):
                zone = store.get_twin(link.target_id)
                assert zone is not None
                key = (zone.properties.get("description"), zone.properties.get("scale"))
                if key in own and "depth" in link.properties:
                    assert link.properties["depth"] == own[key]
                    checked += 1
    finally:
        store.close()
    assert checked > 100


def flood_buildings():  # type: ignore[no-untyped-def]
    from futago.core.twins import TwinScan

    return TwinScan(model_ids=frozenset({"dtmi:futago:city:Building;1"}))
