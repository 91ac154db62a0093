"""An EntitySelector of a Query body (GS CIM 009 5.2.33): when it names an id, its idPattern is ignored rather
than a second filter, so a selector naming one bus and a pattern for another still finds the bus named."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

BUSES = ["urn:ngsi-ld:Bus:toei-01", "urn:ngsi-ld:Bus:toei-02"]


def test_id_takes_precedence_over_id_pattern(client: TestClient) -> None:
    for bus in BUSES:
        entity = {"id": bus, "type": "Bus", "route": {"type": "Property", "value": "都01"}}
        assert client.post(f"{BASE}/entities", json=entity).status_code == 201
    selector = {"type": "Bus", "id": BUSES[0], "idPattern": "toei-02$"}
    found = client.post(f"{BASE}/entityOperations/query", json={"type": "Query", "entities": [selector]})
    assert found.status_code == 200, found.text
    assert [e["id"] for e in found.json()] == [BUSES[0]]
    patterned = {"type": "Query", "entities": [{"type": "Bus", "idPattern": "toei-02$"}]}
    assert [e["id"] for e in client.post(f"{BASE}/entityOperations/query", json=patterned).json()] == [BUSES[1]]
    malformed = {"type": "Query", "entities": [{"type": "Bus", "id": BUSES[0], "idPattern": 7}]}
    assert client.post(f"{BASE}/entityOperations/query", json=malformed).status_code == 400
