"""The bulk path's economies keep behaviour: compact $ngsild metadata round-trips, older metadata still reads, and
the per-container field check refuses what the exact one refuses."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.testclient import TestClient

from futago.api.deps import MAX_DEPTH
from futago.app import App
from futago.core.twin_rules import NGSILD_META
from tests.ngsild.conftest import BASE

DEFAULT = "https://uri.etsi.org/ngsi-ld/default-context/"
UPSERT = f"{BASE}/entityOperations/upsert"


def station(number: int, temperature: float) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WeatherObserved:{number}",
        "type": "WeatherObserved",
        "temperature": {"type": "Property", "value": temperature, "unitCode": "CEL",
                        "observedAt": "2026-01-01T00:00:00Z"},
        "source": [{"type": "Property", "value": "radar", "datasetId": "urn:ngsi-ld:Dataset:radar"},
                   {"type": "Property", "value": "gauge"}],
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7, 35.68]}},
        "custom:score": {"type": "Property", "value": 0.5},
    }  # fmt: skip


def test_metadata_leaves_out_what_the_twin_or_the_entity_holds(app: App, client: TestClient) -> None:
    assert client.post(UPSERT, json=[station(1, 12.5)]).status_code == 201
    meta = app.twins.get("urn:ngsi-ld:WeatherObserved:1").properties[NGSILD_META]
    temperature = meta["attrs"]["temperature"]
    assert "iri" not in temperature  # the core context's expansion of its name
    [instance] = temperature["instances"]
    assert "value" not in instance and "createdAt" not in instance  # the twin's property, the entity's time
    assert instance["unitCode"] == "CEL" and instance["modifiedAt"] == meta["createdAt"]
    assert "value" not in meta["attrs"]["location"]["instances"][0]  # the twin's geometry
    radar = next(i for i in meta["attrs"]["source"]["instances"] if "datasetId" in i)
    assert radar["value"] == "radar"  # a datasetId instance lives in the metadata only
    assert any(entry.get("iri") == "custom:score" for entry in meta["attrs"].values())

    shown = client.get(f"{BASE}/entities/urn:ngsi-ld:WeatherObserved:1", params={"options": "sysAttrs"}).json()
    assert shown["temperature"]["value"] == 12.5 and shown["temperature"]["unitCode"] == "CEL"
    assert shown["temperature"]["createdAt"] == shown["createdAt"]
    assert shown["location"]["value"] == {"type": "Point", "coordinates": [139.7, 35.68]}
    assert sorted(i["value"] for i in shown["source"]) == ["gauge", "radar"]
    assert shown["custom:score"]["value"] == 0.5


def test_a_replacement_keeps_creation_times_of_compact_metadata(app: App, client: TestClient) -> None:
    assert client.post(UPSERT, json=[station(1, 12.5)]).status_code == 201
    created = client.get(f"{BASE}/entities/urn:ngsi-ld:WeatherObserved:1", params={"options": "sysAttrs"}).json()
    assert client.post(UPSERT, json=[station(1, 13.0)]).status_code == 204
    again = client.get(f"{BASE}/entities/urn:ngsi-ld:WeatherObserved:1", params={"options": "sysAttrs"}).json()
    assert again["temperature"]["value"] == 13.0
    assert again["createdAt"] == created["createdAt"]
    assert again["temperature"]["createdAt"] == created["temperature"]["createdAt"]
    assert again["temperature"]["modifiedAt"] > created["temperature"]["modifiedAt"]


def test_metadata_written_in_full_still_reads(app: App, client: TestClient) -> None:
    """A twin written before the metadata was compact: IRIs, values and instance times all recorded."""
    assert client.post(UPSERT, json=[station(1, 12.5)]).status_code == 201
    twin = app.twins.get("urn:ngsi-ld:WeatherObserved:1")
    meta = twin.properties[NGSILD_META]
    full = orjson.loads(orjson.dumps(meta))
    full["attrs"]["temperature"] = {
        "iri": DEFAULT + "temperature",
        "instances": [{"type": "Property", "value": 12.5, "unitCode": "CEL", "createdAt": "2025-06-01T00:00:00Z",
                       "modifiedAt": "2025-06-02T00:00:00Z"}],
    }  # fmt: skip
    app.twins.import_twins([(twin.id, {"$metadata": {"$model": twin.model}, **twin.properties, NGSILD_META: full,
                                       "geometry": twin.geometry})])  # fmt: skip
    shown = client.get(f"{BASE}/entities/{twin.id}", params={"options": "sysAttrs"}).json()
    assert shown["temperature"]["createdAt"] == "2025-06-01T00:00:00Z" and shown["temperature"]["value"] == 12.5
    assert client.post(UPSERT, json=[station(1, 14.0)]).status_code == 204
    replaced = client.get(f"{BASE}/entities/{twin.id}", params={"options": "sysAttrs"}).json()
    assert replaced["temperature"]["createdAt"] == "2025-06-01T00:00:00Z"  # kept by the replacement
    assert replaced["temperature"]["value"] == 14.0


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = {"v": value}
    return value


def test_the_field_check_refuses_what_check_fields_refuses(client: TestClient) -> None:
    deep = station(2, 1.0) | {"deep": {"type": "Property", "value": _nested(MAX_DEPTH)}}
    fits = station(3, 1.0) | {"nested": {"type": "Property", "value": _nested(MAX_DEPTH - 4)}}
    long = station(4, 1.0) | {"note": {"type": "Property", "value": "x" * 1_000_001}}
    answer = client.post(UPSERT, json=[station(1, 1.0), deep, fits, long])
    assert answer.status_code == 207
    body = answer.json()
    assert sorted(body["success"]) == ["urn:ngsi-ld:WeatherObserved:1", "urn:ngsi-ld:WeatherObserved:3"]
    errors = {e["entityId"]: e["error"] for e in body["errors"]}
    assert "deeper than" in errors["urn:ngsi-ld:WeatherObserved:2"]["detail"]
    assert "longer than" in errors["urn:ngsi-ld:WeatherObserved:4"]["detail"]
