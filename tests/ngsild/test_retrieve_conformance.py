"""Retrieving one entity as GS CIM 009 V1.8 says: the `lang` filter ranks by quality value and matches language
tags as RFC 4647 lookup does (4.15); `pick`/`omit` take `|` for "or" and need `join` to reach a linked entity
(4.21, 5.7.1.4); `?type=` selects (4.17); `geometryProperty` needs a GeoJSON answer and a non-geometry gives a
null geometry (4.5.16.1); the simplified form keeps LanguageProperty, JsonProperty and VocabProperty recognisable
and maps a multi-attribute's instances by datasetId (4.5.4); a remote @context that arrives but is no context is
BadRequestData, not LdContextNotAvailable (5.5.6)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago.services.ngsild.context import ContextResolver, ContextSettings
from futago.services.ngsild.errors import BadRequestData
from tests.ngsild.conftest import BASE

BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
# the Asakusa gate of Senso-ji, named in four languages, with two position fixes: a survey and a phone's GPS
GATE = "urn:ngsi-ld:PointOfInterest:kaminarimon"
GPS = "urn:ngsi-ld:Dataset:phone-gps"


def _gate() -> dict[str, Any]:
    return {
        "id": GATE,
        "type": "PointOfInterest",
        "name": {"type": "LanguageProperty", "languageMap": {"ja": "雷門", "en-GB": "Thunder Gate", "zh-Hant": "雷門"}},
        "category": {"type": "VocabProperty", "vocab": "temple"},
        "opening": {"type": "JsonProperty", "json": {"daily": "06:00-17:00"}},
        "lanterns": {"type": "ListProperty", "valueList": [3.9, 700]},
        "nearStations": {
            "type": "ListRelationship",
            "objectList": [{"object": "urn:ngsi-ld:Station:asakusa"}, {"object": "urn:ngsi-ld:Station:tawaramachi"}],
        },
        "visitors": [
            {"type": "Property", "value": 30000},
            {"type": "Property", "value": 29500, "datasetId": GPS},
        ],
        "location": [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7966, 35.7111]}},
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.7970, 35.7109]}, "datasetId": GPS},
        ],
    }


@pytest.fixture
def gate(client: TestClient) -> TestClient:
    assert client.post(f"{BASE}/entities", json=_gate()).status_code == 201
    return client


def _name(client: TestClient, lang: str) -> dict[str, Any]:
    answer = client.get(f"{BASE}/entities/{GATE}", params={"lang": lang, "attrs": "name"})
    assert answer.status_code == 200, answer.text
    return answer.json()["name"]


def test_lang_ranks_by_quality_and_matches_tags_as_rfc_4647_lookup(gate: TestClient) -> None:
    assert _name(gate, "ja;q=0.2,en;q=0.9") == {"type": "Property", "value": "Thunder Gate", "lang": "en-GB"}
    assert _name(gate, "JA")["lang"] == "ja"  # tags compare without case
    assert _name(gate, "ja-JP")["lang"] == "ja"  # a longer range cut back to a tag the map has
    assert _name(gate, "zh")["lang"] == "zh-Hant"  # a shorter range finds the longer tag
    assert _name(gate, "fr,ja;q=0")["lang"] in ("ja", "en-GB", "zh-Hant")  # nothing matches: some language, named


def test_pick_takes_a_pipe_and_a_linked_projection_needs_join(gate: TestClient) -> None:
    comma = gate.get(f"{BASE}/entities/{GATE}", params={"pick": "id,category"}).json()
    assert gate.get(f"{BASE}/entities/{GATE}", params={"pick": "id|category"}).json() == comma
    assert sorted(comma) == ["category", "id"]
    for params in ({"pick": "id||category"}, {"pick": "nearStations{name}"}, {"omit": "nearStations{name}"}):
        answer = gate.get(f"{BASE}/entities/{GATE}", params=params)
        assert answer.status_code == 400 and answer.json()["type"] == BAD, params


def test_type_selects_and_geometry_property_needs_geojson(gate: TestClient) -> None:
    wrong = gate.get(f"{BASE}/entities/{GATE}", params={"type": "Building"})
    assert wrong.status_code == 404 and wrong.json()["type"].endswith("/ResourceNotFound")
    assert gate.get(f"{BASE}/entities/{GATE}", params={"type": "PointOfInterest"}).status_code == 200
    plain = gate.get(f"{BASE}/entities/{GATE}", params={"geometryProperty": "location"})
    assert plain.status_code == 400 and plain.json()["type"] == BAD
    geo = {"Accept": "application/geo+json"}
    feature = gate.get(f"{BASE}/entities/{GATE}", headers=geo).json()
    assert feature["geometry"] == {"type": "Point", "coordinates": [139.7966, 35.7111]}  # the default instance
    not_a_place = gate.get(f"{BASE}/entities/{GATE}", params={"geometryProperty": "visitors"}, headers=geo)
    assert not_a_place.status_code == 200 and not_a_place.json()["geometry"] is None


def test_simplified_form_keeps_each_kind_recognisable(gate: TestClient) -> None:
    body = gate.get(f"{BASE}/entities/{GATE}", params={"options": "keyValues"}).json()
    assert body["name"] == {"languageMap": {"ja": "雷門", "en-GB": "Thunder Gate", "zh-Hant": "雷門"}}
    assert body["category"] == {"vocab": "temple"}
    assert body["opening"] == {"json": {"daily": "06:00-17:00"}}
    assert body["lanterns"] == [3.9, 700]
    assert body["nearStations"] == ["urn:ngsi-ld:Station:asakusa", "urn:ngsi-ld:Station:tawaramachi"]
    assert body["visitors"] == {"dataset": {"@none": 30000, GPS: 29500}}
    geo = gate.get(
        f"{BASE}/entities/{GATE}", params={"options": "keyValues"}, headers={"Accept": "application/geo+json"}
    ).json()
    assert geo["geometry"] == {"type": "Point", "coordinates": [139.7966, 35.7111]}
    assert sorted(geo["properties"]["location"]["dataset"]) == ["@none", GPS]


@pytest.fixture
def documents() -> Iterator[str]:
    """A real HTTP server answering 200 with documents that are not JSON-LD contexts."""
    bodies = {"/no-context.jsonld": json.dumps({"note": "a JSON document"}).encode(), "/not-json.jsonld": b"{oops"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path, b"")
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_remote_document_that_is_no_context_is_bad_request_data(documents: str, client: TestClient) -> None:
    resolver = ContextResolver(ContextSettings())
    for path in ("/no-context.jsonld", "/not-json.jsonld"):
        with pytest.raises(BadRequestData):
            resolver.resolve(documents + path)
    entity = {"id": "urn:ngsi-ld:Shrine:asakusa", "type": "Shrine", "@context": documents + "/no-context.jsonld"}
    refused = client.post(
        f"{BASE}/entities", content=json.dumps(entity), headers={"Content-Type": "application/ld+json"}
    )
    assert refused.status_code == 400 and refused.json()["type"] == BAD
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:Shrine:asakusa").status_code == 404
