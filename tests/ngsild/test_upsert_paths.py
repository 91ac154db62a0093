"""The bulk write's short ways (the usual flat Property parsed directly, new attributes stamped directly, one time
per batch) give what the general ways give, and the audit still keeps one entry per twin with its content."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from futago.core.events import TWIN_CREATED, TWIN_UPDATED, Event
from futago.services.ngsild.attributes import parse_attribute, parse_instance, stamp
from futago.services.ngsild.context import ContextResolver
from futago.services.ngsild.errors import BadRequestData
from tests.ngsild.conftest import BASE

TERMS = ContextResolver().resolve(None)
FLAT: list[dict[str, Any]] = [
    {"type": "Property", "value": 21.5},
    {"type": "Property", "value": "station 7"},
    {"unitCode": "CEL", "value": 21.5, "type": "Property", "observedAt": "2026-01-01T00:00:00Z"},
    {"type": "Property", "value": {"type": "Point", "coordinates": [139.7, 35.6]}},  # typed: stays a Property
    {"type": "Property", "value": [1, 2, 3], "observedAt": "2026-01-01T00:00:00Z"},
    {"type": "Property", "value": False},
]


@pytest.mark.parametrize("data", FLAT)
def test_a_flat_property_parses_as_the_general_walk_parses_it(data: dict[str, Any]) -> None:
    [short] = parse_attribute("temperature", data, TERMS, "/temperature")
    general = parse_instance("temperature", data, TERMS, "/temperature")
    assert list(short.items()) == list(general.items())  # the same members, in the same order


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "Property", "value": None}, "attribute 'temperature' of type Property needs 'value'"),
        ({"type": "Property"}, "attribute 'temperature' of type Property needs 'value'"),
        ({"type": "Property", "value": 1, "observedAt": ""}, "'observedAt' of attribute 'temperature' must be"),
        ({"type": "Property", "value": 1, "unitCode": 5}, "'unitCode' of attribute 'temperature' must be"),
        ({"type": "Property", "value": 1, "observedAt": None}, "'observedAt' of attribute 'temperature' must be"),
    ],
)
def test_a_flat_property_is_refused_as_the_general_walk_refuses_it(data: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequestData, match=message):
        parse_attribute("temperature", data, TERMS, "/temperature")
    with pytest.raises(BadRequestData, match=message):
        parse_instance("temperature", data, TERMS, "/temperature")


def test_new_attributes_are_stamped_as_before_and_kept_ones_keep_their_creation() -> None:
    sub = {"https://example.org/accuracy": [{"type": "Property", "value": 0.1}]}
    fresh = stamp([{"type": "Property", "value": 1, "sub": sub}], "T2")
    assert fresh[0]["createdAt"] == fresh[0]["modifiedAt"] == "T2"
    assert sub["https://example.org/accuracy"][0] == {"type": "Property", "value": 0.1, "createdAt": "T2",
                                                      "modifiedAt": "T2"}  # fmt: skip
    again = stamp([{"type": "Property", "value": 2}], "T3", [{"type": "Property", "createdAt": "T1"}])
    assert (again[0]["createdAt"], again[0]["modifiedAt"]) == ("T1", "T3")


def _station(i: int, temperature: float) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WeatherObserved:{i:03d}",
        "type": "WeatherObserved",
        "temperature": {"type": "Property", "value": temperature, "unitCode": "CEL"},
        "name": {"type": "Property", "value": f"station {i}"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7 + i / 1000, 35.6]}},
    }


def test_a_batch_is_one_instant_and_the_audit_keeps_each_twin(app: App, client: TestClient) -> None:
    heard: list[Event] = []
    app.bus.subscribe(heard.append)
    created = client.post(f"{BASE}/entityOperations/upsert", json=[_station(i, 20.0 + i) for i in range(30)])
    assert created.status_code == 201
    again = client.post(f"{BASE}/entityOperations/upsert", json=[_station(i, 30.0) for i in range(5)])
    assert again.status_code == 204
    twins = [e for e in heard if e.type in (TWIN_CREATED, TWIN_UPDATED)]
    assert [e.type for e in twins] == [TWIN_CREATED] * 30 + [TWIN_UPDATED] * 5
    assert len({e.time for e in twins[:30]}) == 1 and len({e.time for e in twins[30:]}) == 1
    assert twins[0].time < twins[30].time
    audited = [entry for _, entry in app.audit.page(limit=1000) if entry.action.startswith("twin.")]
    assert [e.action for e in audited] == [TWIN_CREATED] * 30 + [TWIN_UPDATED] * 5
    assert [e.resource for e in audited[:30]] == [f"twins/urn:ngsi-ld:WeatherObserved:{i:03d}" for i in range(30)]
    third = app.twins.get("urn:ngsi-ld:WeatherObserved:003")  # rewritten since: its first content is audited
    recorded = audited[3].detail["data"]["twin"]
    assert recorded["temperature"] == 23.0 and recorded["name"] == "station 3" and third.properties["temperature"] == 30
    assert recorded["geometry"] == {"type": "Point", "coordinates": [139.7 + 3 / 1000, 35.6]}
    assert audited[3].ts >= audited[0].ts and len(audited[3].ts) == len("2026-01-01T00:00:00.000000Z")
    assert app.audit.verify().ok
