"""q, geo-queries and type expressions on each storage adapter: what the store narrows, it must never lose."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE
from tests.ngsild.test_query import GAUGES, gauge


def _ids(client: TestClient, **params: str) -> list[str]:
    response = client.get(f"{BASE}/entities", params=params)
    assert response.status_code == 200, response.text
    return sorted(e["id"].rsplit(":", 1)[1] for e in response.json())


def test_queries_on_every_adapter(adapter_client: TestClient) -> None:
    client = adapter_client
    for row in GAUGES:
        assert client.post(f"{BASE}/entities", json=gauge(*row)).status_code == 201
    near = {"georel": "near;maxDistance==2500", "geometry": "Point", "coordinates": "[139.7931,35.6934]"}
    assert _ids(client, type="WaterObserved", q="height>2", **near) == ["eitai", "kototoi", "ryogoku"]
    assert _ids(client, type="WaterObserved", q="height>=2.31;height<3", **near) == ["eitai", "ryogoku"]
    assert _ids(client, type="WaterObserved", q='name=="Kameari Bridge"') == ["kameari"]
    assert _ids(client, type="WaterObserved", q='name>"L"') == ["maruko", "ryogoku"]
    assert _ids(client, type="WaterObserved", q="height==1..2.1") == ["kameari", "kototoi"]
    assert _ids(client, type="WaterObserved|Building", q="address[river]==\"Sumida\";height<2.5") == [
        "kototoi", "ryogoku"
    ]  # fmt: skip
    box = "[[[139.6,35.55],[139.7,35.55],[139.7,35.6],[139.6,35.6],[139.6,35.55]]]"
    assert _ids(client, type="WaterObserved", georel="within", geometry="Polygon", coordinates=box) == ["maruko"]
    tenant = {"NGSILD-Tenant": "tama"}
    assert client.post(f"{BASE}/entities", json=gauge(*GAUGES[4]), headers=tenant).status_code == 201
    found = client.get(f"{BASE}/entities", params={"q": "height>3", "count": "true"}, headers=tenant)
    assert found.headers["NGSILD-Results-Count"] == "1"
    assert client.get(f"{BASE}/types", headers=tenant).json()["typeList"] == ["WaterObserved"]
