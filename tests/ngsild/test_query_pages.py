"""Paging GET /entities (GS CIM 009 6.3.13): Link headers rel="prev"/"next" beside the @context link, with and
without count, none on a count-only page (limit=0); on each storage adapter, since the next link depends on
knowing whether the store holds one more match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago.api.server import create_api
from futago.app import build
from futago.config import Settings
from tests.ngsild.conftest import BASE
from tests.store.adapters import ADAPTERS, database_url

STATIONS = ["kita-senju", "minami-senju", "ueno", "akihabara"]  # ids sort: akihabara, kita-, minami-, ueno


@pytest.fixture(params=ADAPTERS)
def stations(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    app = build(Settings(db=database_url(request.param, request, tmp_path), data_root=str(tmp_path)))
    try:
        with TestClient(create_api(app), raise_server_exceptions=False) as client:
            for name in STATIONS:
                entity = {"id": f"urn:ngsi-ld:Station:{name}", "type": "Station",
                          "line": {"type": "Property", "value": "Hibiya"}}  # fmt: skip
                assert client.post(f"{BASE}/entities", json=entity).status_code == 201
            yield client
    finally:
        app.close()


def _links(answer: object) -> dict[str, str]:
    """rel → target of the paging links (the @context link left out)."""
    header = answer.headers.get("Link", "")  # type: ignore[attr-defined]
    found = re.findall(r'<([^>]*)>;\s*rel="([^"]*)";\s*type="([^"]*)"', header)
    return {rel: f"{target} {media}" for target, rel, media in found if "json-ld#context" not in rel}


def _page(client: TestClient, **params: str) -> tuple[list[str], dict[str, str]]:
    answer = client.get(f"{BASE}/entities", params={"type": "Station", **params})
    assert answer.status_code == 200, answer.text
    return [e["id"].rsplit(":", 1)[1] for e in answer.json()], _links(answer)


def test_pages_link_forwards_and_backwards(stations: TestClient) -> None:
    path = f"{BASE}/entities"
    first, links = _page(stations, limit="2")
    assert first == ["akihabara", "kita-senju"]
    assert links == {"next": f"{path}?limit=2&offset=2&type=Station application/json"}
    second, links = _page(stations, limit="2", offset="2", q='line=="Hibiya"')
    assert second == ["minami-senju", "ueno"]
    # the query again, parameters in name order, q encoded where it would split the query or the header
    assert links == {"prev": f"{path}?limit=2&offset=0&q=line%3D%3D%22Hibiya%22&type=Station application/json"}
    middle, links = _page(stations, limit="1", offset="1", count="true")
    assert middle == ["kita-senju"]
    assert links["prev"].startswith(f"{path}?count=true&limit=1&offset=0&type=Station")
    assert links["next"].startswith(f"{path}?count=true&limit=1&offset=2&type=Station")
    # following the next link gives the next page
    target = links["next"].split(" ")[0]
    assert [e["id"] for e in stations.get(target).json()] == ["urn:ngsi-ld:Station:minami-senju"]


def test_no_links_past_the_edges_or_on_a_count_only_page(stations: TestClient) -> None:
    everything, links = _page(stations, limit="4")
    assert len(everything) == 4 and links == {}  # exactly the last element: no next
    counted = stations.get(f"{BASE}/entities", params={"type": "Station", "limit": "0", "count": "true"})
    assert counted.json() == [] and counted.headers["NGSILD-Results-Count"] == "4"
    assert _links(counted) == {}
    # the @context link stays first and whole beside the paging links
    paged = stations.get(f"{BASE}/entities", params={"type": "Station", "limit": "1"})
    assert paged.headers["Link"].startswith("<https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context")


def test_a_json_ld_answer_links_its_pages_with_its_own_media_type(stations: TestClient) -> None:
    answer = stations.get(
        f"{BASE}/entities", params={"type": "Station", "limit": "3"}, headers={"Accept": "application/ld+json"}
    )
    assert _links(answer) == {"next": f"{BASE}/entities?limit=3&offset=3&type=Station application/ld+json"}


def test_expand_values_decides_whether_a_bare_term_is_expanded(stations: TestClient) -> None:
    gate = {"id": "urn:ngsi-ld:Station:ueno-gate", "type": "Station",
            "kind": {"type": "VocabProperty", "vocab": "interchange"}}  # fmt: skip
    assert stations.post(f"{BASE}/entities", json=gate).status_code == 201
    found, _ = _page(stations, q="kind==interchange", expandValues="kind")
    assert found == ["ueno-gate"]  # the term expanded by the @context, as the vocab is kept
    found, _ = _page(stations, q="kind==interchange")
    assert found == []  # compared as written: a string, not the vocabulary IRI
    found, _ = _page(stations, q="kind==https://uri.etsi.org/ngsi-ld/default-context/interchange")
    assert found == ["ueno-gate"]


def test_linked_entity_terms_and_malformed_csf_are_bad_requests(stations: TestClient) -> None:
    for params in ({"q": 'line{name}=="x"'}, {"q": 'line{name}=="x"', "join": "inline"}, {"csf": "))bad(("}):
        answer = stations.get(f"{BASE}/entities", params={"type": "Station", **params})
        assert answer.status_code == 400, answer.text
        assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert stations.get(f"{BASE}/entities", params={"type": "Station", "csf": "line==x"}).status_code == 200
