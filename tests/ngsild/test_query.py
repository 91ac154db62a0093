"""GET /ngsi-ld/v1/entities with q, geo-queries and type expressions: each operator and relation, expected ids."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

ERR = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"

# River gauges on Tokyo's rivers (positions of the real bridges they are named after), in the shape of the
# Smart Data Models WaterObserved type.
GAUGES: list[tuple[str, str, float, float, float, str, str]] = [
    # id suffix, name, lon, lat, height (m), observed at, river
    ("ryogoku", "Ryogoku Bridge", 139.7931, 35.6934, 2.31, "2024-06-01T09:00:00Z", "Sumida"),
    ("kototoi", "Kototoi Bridge", 139.8033, 35.7131, 2.05, "2024-06-01T09:10:00Z", "Sumida"),
    ("eitai", "Eitai Bridge", 139.7879, 35.6779, 2.74, "2024-06-01T09:20:00Z", "Sumida"),
    ("kameari", "Kameari Bridge", 139.8480, 35.7620, 1.12, "2024-06-01T09:30:00Z", "Naka"),
    ("maruko", "Maruko Bridge", 139.6653, 35.5817, 3.40, "2024-06-01T09:40:00Z", "Tama"),
]


def gauge(key: str, name: str, lon: float, lat: float, height: float, at: str, river: str) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WaterObserved:{key}",
        "type": "WaterObserved",
        "name": {"type": "Property", "value": name},
        "height": {
            "type": "Property",
            "value": height,
            "unitCode": "MTR",
            "observedAt": at,
            "quality": {"type": "Property", "value": "good" if height < 3 else "suspect"},
        },
        "address": {"type": "Property", "value": {"addressLocality": "Tokyo", "river": river}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "label": {"type": "LanguageProperty", "languageMap": {"en": name, "ja": f"{river}川"}},
        "tags": {"type": "Property", "value": ["river", river.lower()]},
        "refRiver": {"type": "Relationship", "object": f"urn:ngsi-ld:River:{river}"},
    }


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    for row in GAUGES:
        assert client.post(f"{BASE}/entities", json=gauge(*row)).status_code == 201
    building = {
        "id": "urn:ngsi-ld:Building:tokyo-skytree",
        "type": ["Building", "Tower"],
        "name": {"type": "Property", "value": "Tokyo Skytree"},
        "height": {"type": "Property", "value": 634},
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [139.8100, 35.7095],
                        [139.8115, 35.7095],
                        [139.8115, 35.7108],
                        [139.8100, 35.7108],
                        [139.8100, 35.7095],
                    ]
                ],
            },
        },
    }
    assert client.post(f"{BASE}/entities", json=building).status_code == 201
    return client


def ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get(f"{BASE}/entities", params=params)
    assert response.status_code == 200, response.text
    return [e["id"].rsplit(":", 1)[1] for e in response.json()]


def problem(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"{BASE}/entities", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == ERR
    return body


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("height==2.31", ["ryogoku"]),
        ("height!=2.31", ["eitai", "kameari", "kototoi", "maruko", "tokyo-skytree"]),
        ("height>2.31", ["eitai", "maruko", "tokyo-skytree"]),
        ("height>=2.31", ["eitai", "maruko", "ryogoku", "tokyo-skytree"]),
        ("height<2.31", ["kameari", "kototoi"]),
        ("height<=2.31", ["kameari", "kototoi", "ryogoku"]),
        ("height==2..3", ["eitai", "kototoi", "ryogoku"]),
        ("height!=2..3", ["kameari", "maruko", "tokyo-skytree"]),
        ("height==1.12,3.4", ["kameari", "maruko"]),
        ('name=="Eitai Bridge"', ["eitai"]),
        ('name=="Eitai Bridge","Tokyo Skytree"', ["eitai", "tokyo-skytree"]),
        ("name~=^K", ["kameari", "kototoi"]),
        ('name~="(?i)bridge$"', ["eitai", "kameari", "kototoi", "maruko", "ryogoku"]),
        ("name!~=Bridge", ["tokyo-skytree"]),
        ('address[river]=="Sumida"', ["eitai", "kototoi", "ryogoku"]),
        ('address.river=="Tama"', ["maruko"]),
        ('height.quality=="suspect"', ["maruko"]),
        ('height.unitCode=="MTR";height<2', ["kameari"]),
        ("height.observedAt>=2024-06-01T09:25:00Z", ["kameari", "maruko"]),
        ("height.observedAt==2024-06-01T09:00:00Z..2024-06-01T09:15:00Z", ["kototoi", "ryogoku"]),
        ('label=="Naka川"', ["kameari"]),
        ('label[en]=="Maruko Bridge"', ["maruko"]),
        ('tags=="tama"', ["maruko"]),
        ("refRiver==urn:ngsi-ld:River:Naka", ["kameari"]),
        ("refRiver", ["eitai", "kameari", "kototoi", "maruko", "ryogoku"]),
        ("!refRiver", ["tokyo-skytree"]),
        ('height>3|name=="Kototoi Bridge"', ["kototoi", "maruko", "tokyo-skytree"]),
        ("(height>3|height<2);refRiver", ["kameari", "maruko"]),
        ('address[river]=="Sumida";(height<2.1|height>2.5)', ["eitai", "kototoi"]),
        ('height=="2.31"', []),  # a string never equals a number
    ],
)
def test_q_operators(loaded: TestClient, q: str, expected: list[str]) -> None:
    assert sorted(ids(loaded, q=q)) == expected


def test_q_with_a_type_narrows_in_the_store_and_decides_exactly(loaded: TestClient) -> None:
    assert ids(loaded, type="WaterObserved", q="height>=2.31;height<3") == ["eitai", "ryogoku"]
    assert ids(loaded, type="WaterObserved", q="height==2..2.5") == ["kototoi", "ryogoku"]
    assert ids(loaded, type="WaterObserved", q='name=="Maruko Bridge"') == ["maruko"]
    assert ids(loaded, type="WaterObserved", q="height>100") == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Ryogoku Bridge to Eitai Bridge is about 1.8 km; to Kototoi Bridge about 2.4 km
        ({"georel": "near;maxDistance==2000", "coordinates": "[139.7931,35.6934]"}, ["eitai", "ryogoku"]),
        ({"georel": "near;minDistance==2000", "coordinates": "[139.7931,35.6934]"},
         ["kameari", "kototoi", "maruko", "tokyo-skytree"]),
        ({"georel": "near;minDistance==1000;maxDistance==3000", "coordinates": "[139.7931,35.6934]"},
         ["eitai", "kototoi", "tokyo-skytree"]),
    ],
)  # fmt: skip
def test_near(loaded: TestClient, params: dict[str, str], expected: list[str]) -> None:
    assert sorted(ids(loaded, geometry="Point", **params)) == expected


SUMIDA_WARD = "[[[139.78,35.69],[139.83,35.69],[139.83,35.73],[139.78,35.73],[139.78,35.69]]]"
SKYTREE_CORNER = "[[[139.8105,35.7100],[139.8130,35.7100],[139.8130,35.7120],[139.8105,35.7120],[139.8105,35.7100]]]"


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "expected"),
    [
        ("within", "Polygon", SUMIDA_WARD, ["kototoi", "ryogoku", "tokyo-skytree"]),
        ("intersects", "Polygon", SUMIDA_WARD, ["kototoi", "ryogoku", "tokyo-skytree"]),
        ("disjoint", "Polygon", SUMIDA_WARD, ["eitai", "kameari", "maruko"]),
        ("contains", "Point", "[139.8108,35.7101]", ["tokyo-skytree"]),
        ("overlaps", "Polygon", SKYTREE_CORNER, ["tokyo-skytree"]),
        ("equals", "Point", "[139.848,35.762]", ["kameari"]),
        ("intersects", "LineString", "[[139.79,35.70],[139.82,35.70]]", []),
        ("intersects", "LineString", "[[139.80,35.71],[139.82,35.71]]", ["tokyo-skytree"]),
    ],
)
def test_geo_relations(loaded: TestClient, georel: str, geometry: str, coordinates: str, expected: list[str]) -> None:
    found = ids(loaded, georel=georel, geometry=geometry, coordinates=coordinates)
    assert sorted(found) == expected


def test_geo_with_type_and_q_together(loaded: TestClient) -> None:
    params = {"georel": "near;maxDistance==5000", "geometry": "Point", "coordinates": "[139.7931,35.6934]"}
    assert ids(loaded, type="WaterObserved", q="height<2.5", **params) == ["kototoi", "ryogoku"]


def test_other_geoproperty(client: TestClient) -> None:
    area = {
        "id": "urn:ngsi-ld:FloodMonitoring:arakawa",
        "type": "FloodMonitoring",
        "catchment": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.82, 35.74]}},
    }
    assert client.post(f"{BASE}/entities", json=area).status_code == 201
    params = {"georel": "near;maxDistance==1000", "geometry": "Point", "coordinates": "[139.821,35.741]"}
    assert ids(client, geoproperty="catchment", **params) == ["arakawa"]
    assert ids(client, type="FloodMonitoring", **params) == []  # location by default: it has none


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Building", ["tokyo-skytree"]),
        ("Tower", ["tokyo-skytree"]),  # a further type finds its entity too (the index of multi-typed twins)
        ("WaterObserved,Building", ["eitai", "kameari", "kototoi", "maruko", "ryogoku", "tokyo-skytree"]),
        ("WaterObserved|Building", ["eitai", "kameari", "kototoi", "maruko", "ryogoku", "tokyo-skytree"]),
        ("Building;Tower", ["tokyo-skytree"]),
        ("(Building;Tower)|Bridge", ["tokyo-skytree"]),
        ("Building;WaterObserved", []),
        ("dtmi:futago:demo:Building;1|Building", ["tokyo-skytree"]),  # a DTMI's ';' is its version, not an AND
    ],
)
def test_type_expressions(loaded: TestClient, expression: str, expected: list[str]) -> None:
    assert sorted(ids(loaded, type=expression)) == expected


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"q": "height>>2"}, "/q"),
        ({"q": "(height>2"}, "/q"),
        ({"q": "==2"}, "/q"),
        ({"q": "height=="}, "/q"),
        ({"q": 'name=="open'}, "/q"),
        ({"q": "height>1,2"}, "/q"),
        ({"q": "name~=(a+)+b"}, "/q"),
        ({"q": "name~=(a)\\1"}, "/q"),
        ({"q": "name~=[unclosed"}, "/q"),
        ({"q": "height==2024-13-45"}, "/q"),
        ({"type": "Building;;Tower"}, "/type"),
        ({"type": "(Building"}, "/type"),
        ({"georel": "nearby", "geometry": "Point", "coordinates": "[139.8,35.7]"}, "/georel"),
        ({"georel": "near", "geometry": "Point", "coordinates": "[139.8,35.7]"}, "/georel"),
        ({"georel": "near;maxDistance==-5", "geometry": "Point", "coordinates": "[139.8,35.7]"}, "/georel"),
        ({"georel": "within", "coordinates": "[139.8,35.7]"}, "/geometry"),
        ({"georel": "within", "geometry": "Hexagon", "coordinates": "[139.8,35.7]"}, "/geometry"),
        ({"georel": "within", "geometry": "Polygon"}, "/coordinates"),
        ({"georel": "within", "geometry": "Polygon", "coordinates": "139.8,35.7"}, "/coordinates"),
        ({"georel": "within", "geometry": "Polygon", "coordinates": "[[[1,2],[3,4]]]"}, "/coordinates"),
        ({"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": "[200,35]"}, "/coordinates"),
        ({"geometry": "Point", "coordinates": "[139.8,35.7]", "type": "Building"}, "/georel"),
        ({"type": "Building", "limit": "5000"}, "/limit"),
    ],
)
def test_malformed_queries_are_bad_request_data_pointing_at_the_parameter(
    loaded: TestClient, params: dict[str, str], pointer: str
) -> None:
    body = problem(loaded, **params)
    assert [e["pointer"] for e in body["errors"]] == [pointer], body


def test_big_results_page_correctly(client: TestClient) -> None:
    # 1,250 gauges on a grid over the 23 wards: three store pages, paged by 100 in the answer
    for i in range(1250):
        lon, lat = 139.60 + (i % 50) * 0.006, 35.55 + (i // 50) * 0.008
        point = {"type": "Point", "coordinates": [lon, lat]}
        entity = {
            "id": f"urn:ngsi-ld:WaterObserved:g{i:04d}",
            "type": "WaterObserved",
            "height": {"type": "Property", "value": round(i * 0.004, 3)},
            "location": {"type": "GeoProperty", "value": point},
        }
        assert client.post(f"{BASE}/entities", json=entity).status_code == 201
    wanted = [f"g{i:04d}" for i in range(1250) if i * 0.004 >= 1.0]  # from g0250
    seen: list[str] = []
    for offset in range(0, 1100, 100):
        response = client.get(
            f"{BASE}/entities",
            params={"type": "WaterObserved", "q": "height>=1", "limit": 100, "offset": offset, "count": "true"},
        )
        assert response.headers["NGSILD-Results-Count"] == str(len(wanted))
        seen += [e["id"].rsplit(":", 1)[1] for e in response.json()]
    assert seen == wanted
    near = {"georel": "near;maxDistance==1500", "geometry": "Point", "coordinates": "[139.75,35.65]"}
    response = client.get(f"{BASE}/entities", params={"type": "WaterObserved", "count": "true", "limit": 1, **near})
    assert 0 < int(response.headers["NGSILD-Results-Count"]) < 200
