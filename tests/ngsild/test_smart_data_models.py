"""A Smart Data Models entity (WaterObserved, dataModel.Environment) through futago, also driven by the
published NGSI-LD client ``ngsildclient`` against a real local server.

The entity follows the normalized NGSI-LD example of the model's published specification; its @context is an
offline copy (no network in tests) holding the model's terms as its context.jsonld maps them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.app import App
from futago.services.ngsild import ContextResolver, ContextSettings
from tests.conftest import LiveServer
from tests.ngsild.conftest import BASE, CORE, LD

SDM_CONTEXT = "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
ENV = "https://smartdatamodels.org/dataModel.Environment/"
TERMS = ["WaterObserved", "flow", "height", "measurand", "dateObserved", "width", "temperature"]
ID = "urn:ngsi-ld:WaterObserved:waterflow-631-FPyES"


def water_observed() -> dict[str, Any]:
    return {
        "id": ID,
        "type": "WaterObserved",
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": "2017-03-24T11:49:50.00Z"}},
        "flow": {"type": "Property", "value": 20.5, "unitCode": "G51"},
        "height": {"type": "Property", "value": 1.79, "unitCode": "MTR"},
        "width": {"type": "Property", "value": 18.24, "unitCode": "MTR"},
        "temperature": {"type": "Property", "value": 13.4, "unitCode": "CEL"},
        "measurand": {"type": "Property", "value": ["flow, 20.5, G51, water flow", "height, 1.79, MTR, water height"]},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-3.712247222, 40.423852777]}},
    }


@pytest.fixture
def sdm(app: App, tmp_path: Path) -> App:
    copy = tmp_path / "environment-context.jsonld"
    terms = {"@context": {term: ENV + term for term in TERMS}}
    copy.write_text(json.dumps(terms))
    assert app.ngsild is not None
    app.ngsild.contexts = ContextResolver(ContextSettings(offline={SDM_CONTEXT: str(copy)}))
    return app


def test_water_observed_round_trips_with_its_context(sdm: App, client: TestClient) -> None:
    body = {"@context": [SDM_CONTEXT, CORE], **water_observed()}
    assert client.post(f"{BASE}/entities", json=body, headers=LD).status_code == 201
    link = {"Link": f'<{SDM_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"', "Accept": "application/ld+json"}
    got = client.get(f"{BASE}/entities/{ID}", headers=link).json()
    assert got["@context"] == SDM_CONTEXT
    for name, attribute in water_observed().items():
        assert got[name] == attribute, name
    twin = client.get(f"/twins/{ID}").json()
    assert twin["flow"] == 20.5 and twin["measurand"][0].startswith("flow")
    assert "dateObserved" not in twin  # {"@type", "@value"} is no DTDL value: kept for NGSI-LD only
    assert sdm.models.models.documents[twin["$metadata"]["$model"]]["displayName"] == ENV + "WaterObserved"
    found = client.get(f"{BASE}/entities", params={"type": "WaterObserved", "attrs": "flow"}, headers=link).json()
    assert [(e["id"], e["flow"]["value"]) for e in found] == [(ID, 20.5)]


def test_ngsildclient_drives_the_broker(sdm: App, live_server: LiveServer) -> None:
    ngsildclient = pytest.importorskip("ngsildclient")
    host, port = live_server.url.removeprefix("http://").split(":")
    client = ngsildclient.Client(hostname=host, port=int(port), verbose=False)
    entity = ngsildclient.Entity.from_dict({"@context": [CORE], **water_observed()})
    client.create(entity)
    assert client.exists(ID)
    fetched = client.get(ID)
    assert fetched["flow"]["value"] == 20.5 and fetched["location"]["value"]["coordinates"][0] == -3.712247222
    fetched.prop("flow", 21.0)
    client.update(fetched)
    assert client.get(ID)["flow"]["value"] == 21.0
    listed = client.query(type="WaterObserved")
    assert [e.id for e in listed] == [ID]
    client.delete(fetched)  # one Entity: DELETE /entities/{id} (a list would go through the batch operations)
    assert not client.exists(ID)
