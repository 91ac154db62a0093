"""Linked entity retrieval (GS CIM 009 4.5.23: join=inline|flat, joinLevel) with pick/omit reaching into linked
entities (4.21), and the retrieval and query points around it: option values that are not supported
(InvalidRequest, 6.3.20), ids that are not URIs, type=* and local=true, geometryProperty outside GeoJSON, and
discovery of a type or attribute named by its expanded IRI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
INVALID = "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
STATION = "urn:ngsi-ld:RailwayStation:umeda"
WARD = "urn:ngsi-ld:Ward:kita"
PREFECTURE = "urn:ngsi-ld:Prefecture:osaka"


def _rel(target: str) -> dict[str, Any]:
    return {"type": "Relationship", "object": target}


def _prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


@pytest.fixture
def osaka(client: TestClient) -> TestClient:
    """Umeda station lies in Kita ward, which is part of Osaka prefecture."""
    for entity in (
        {"id": STATION, "type": "RailwayStation", "name": _prop("Umeda"), "dailyPassengers": _prop(2_300_000),
         "locatedIn": _rel(WARD)},
        {"id": WARD, "type": "Ward", "name": _prop("Kita-ku"), "population": _prop(141_000),
         "partOf": _rel(PREFECTURE)},
        {"id": PREFECTURE, "type": "Prefecture", "name": _prop("Osaka-fu"), "population": _prop(8_760_000)},
    ):  # fmt: skip
        answer = client.post(f"{BASE}/entities", json=entity)
        assert answer.status_code == 201, answer.text
    return client


def _get(client: TestClient, path: str, **params: Any) -> Any:
    answer = client.get(f"{BASE}/{path}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _problem(answer: Any, kind: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"] == kind


def test_inline_puts_each_linked_entity_into_its_relationship_up_to_join_level(osaka: TestClient) -> None:
    one = _get(osaka, f"entities/{STATION}", join="inline")
    ward = one["locatedIn"]["entity"]
    assert one["locatedIn"]["object"] == WARD
    assert ward["id"] == WARD and ward["name"]["value"] == "Kita-ku"
    assert "entity" not in ward["partOf"]  # joinLevel defaults to one hop

    two = _get(osaka, f"entities/{STATION}", join="inline", joinLevel=2)
    assert two["locatedIn"]["entity"]["partOf"]["entity"]["population"]["value"] == 8_760_000

    simple = _get(osaka, f"entities/{STATION}", join="inline", joinLevel=2, options="keyValues")
    assert simple["locatedIn"]["id"] == WARD  # keyValues: the linked entity in place of its id
    assert simple["locatedIn"]["partOf"] == {"id": PREFECTURE, "type": "Prefecture", "name": "Osaka-fu",
                                             "population": 8_760_000}  # fmt: skip

    with_sys = _get(osaka, f"entities/{STATION}", join="inline", options="sysAttrs")
    assert "createdAt" in with_sys["locatedIn"]["entity"]


def test_flat_answers_the_linked_entities_next_to_the_entity(osaka: TestClient) -> None:
    flat = _get(osaka, f"entities/{STATION}", join="flat", joinLevel=2, options="keyValues")
    assert [e["id"] for e in flat] == [STATION, WARD, PREFECTURE]
    assert flat[0]["locatedIn"] == WARD  # the relationship itself is left as it is

    alone = _get(osaka, f"entities/{PREFECTURE}", join="flat")  # links to nothing: the entity, not a list
    assert alone["id"] == PREFECTURE


def test_a_link_to_an_entity_that_is_not_there_is_left_unjoined(osaka: TestClient) -> None:
    body = {"id": "urn:ngsi-ld:RailwayStation:namba", "type": "RailwayStation", "locatedIn": _rel("urn:ngsi-ld:Ward:x")}
    assert osaka.post(f"{BASE}/entities", json=body).status_code == 201
    for join in ("inline", "flat"):
        answer = _get(osaka, "entities/urn:ngsi-ld:RailwayStation:namba", join=join)
        assert answer["locatedIn"] == _rel("urn:ngsi-ld:Ward:x")


def test_pick_and_omit_reach_into_linked_entities(osaka: TestClient) -> None:
    picked = _get(
        osaka, f"entities/{STATION}", join="inline", joinLevel=2, pick="id,locatedIn{name,partOf{population}}"
    )
    assert set(picked) == {"id", "locatedIn"}
    ward = picked["locatedIn"]["entity"]
    assert set(ward) == {"name", "partOf"}
    assert set(ward["partOf"]["entity"]) == {"population"}

    flat = _get(osaka, f"entities/{STATION}", join="flat", joinLevel=2, pick="id,locatedIn{id,name}")
    assert flat == [{"id": STATION, "locatedIn": _rel(WARD)}, {"id": WARD, "name": _prop("Kita-ku")}]  # partOf unpicked

    # omit: a name with braces stays, and its braces name what the linked entity leaves out
    omitted = _get(osaka, f"entities/{STATION}", join="inline", omit="type,locatedIn{population}")
    assert "type" not in omitted and "dailyPassengers" in omitted
    assert set(omitted["locatedIn"]["entity"]) == {"id", "type", "name", "partOf"}


def test_queries_join_every_entity_and_answer_each_linked_one_once(osaka: TestClient) -> None:
    body = {"id": "urn:ngsi-ld:RailwayStation:nakazakicho", "type": "RailwayStation", "locatedIn": _rel(WARD)}
    assert osaka.post(f"{BASE}/entities", json=body).status_code == 201
    flat = _get(osaka, "entities", type="RailwayStation", join="flat")
    assert [e["id"] for e in flat] == ["urn:ngsi-ld:RailwayStation:nakazakicho", STATION, WARD]

    inline = _get(osaka, "entities", type="RailwayStation", join="inline", options="keyValues")
    assert [e["locatedIn"]["name"] for e in inline] == ["Kita-ku", "Kita-ku"]

    query = {"type": "Query", "entities": [{"type": "RailwayStation"}], "join": "inline", "joinLevel": 2}
    posted = osaka.post(f"{BASE}/entityOperations/query", json=query).json()
    assert posted[1]["locatedIn"]["entity"]["partOf"]["entity"]["id"] == PREFECTURE
    query = {**query, "joinLevel": 0}
    _problem(osaka.post(f"{BASE}/entityOperations/query", json=query), BAD)


@pytest.mark.parametrize(
    "params",
    [
        {"pick": "locatedIn{partOf{name}}", "join": "inline", "joinLevel": "1"},  # two hops, one joined
        {"omit": "locatedIn{partOf{name}}", "join": "flat"},
        {"pick": "id,locatedIn{partOf{name}}"},  # two hops without join (joinLevel's default is 1)
        {"join": "inline", "joinLevel": "0"},
        {"join": "sideways"},
        {"pick": "a{" * 20 + "b" + "}" * 20, "join": "inline", "joinLevel": "16"},
    ],
)
def test_joins_and_projections_that_cannot_be_answered_are_bad_requests(osaka: TestClient, params: Any) -> None:
    _problem(osaka.get(f"{BASE}/entities/{STATION}", params=params), BAD)
    _problem(osaka.get(f"{BASE}/entities", params={"type": "RailwayStation", **params}), BAD)


@pytest.mark.parametrize(
    "params",
    [
        {"format": "tabular"},
        {"options": "pretty"},
        {"options": "keyValues,pretty"},
        {"format": "keyValues", "options": "x"},
    ],
)
def test_an_unsupported_option_is_an_invalid_request_even_for_an_unknown_entity(
    client: TestClient, params: Any
) -> None:
    _problem(client.get(f"{BASE}/entities/urn:ngsi-ld:RailwayStation:nowhere", params=params), INVALID)


def test_format_wins_over_options(osaka: TestClient) -> None:
    assert _get(osaka, f"entities/{PREFECTURE}", format="keyValues", options="normalized")["name"] == "Osaka-fu"


def test_retrieving_an_id_that_is_not_a_uri_is_a_bad_request(client: TestClient) -> None:
    _problem(client.get(f"{BASE}/entities/umeda-station"), BAD)


def test_type_wildcard_and_local_select_every_entity(osaka: TestClient) -> None:
    everything = {e["id"] for e in _get(osaka, "entities", type="*")}
    assert everything == {STATION, WARD, PREFECTURE}
    assert {e["id"] for e in _get(osaka, "entities", local="true")} == everything
    _problem(osaka.get(f"{BASE}/entities", params={"type": "*", "local": "false"}), BAD)
    _problem(osaka.get(f"{BASE}/entities", params={"local": "false"}), BAD)  # still no selector at all


def test_geometry_property_asks_for_a_geojson_answer(osaka: TestClient) -> None:
    params = {"type": "Ward", "geometryProperty": "location"}
    _problem(osaka.get(f"{BASE}/entities", params=params), BAD)
    answer = osaka.get(f"{BASE}/entities", params=params, headers={"Accept": "application/geo+json"})
    assert answer.status_code == 200 and answer.json()["type"] == "FeatureCollection"


def test_discovery_takes_expanded_names_in_the_path(osaka: TestClient) -> None:
    vocab = "https://uri.etsi.org/ngsi-ld/default-context/"
    ward = _get(osaka, "types/" + quote(vocab + "Ward", safe=""))
    assert ward["typeName"] == "Ward" and ward["entityCount"] == 1
    population = _get(osaka, "attributes/" + quote(vocab + "population", safe=""))
    assert population["attributeCount"] == 2 and sorted(population["typeNames"]) == ["Prefecture", "Ward"]
    assert _get(osaka, "types/")["typeList"] == ["Prefecture", "RailwayStation", "Ward"]


def _count(client: TestClient, **params: Any) -> int:
    answer = client.get(f"{BASE}/entities", params={"type": "Shrine", "count": "true", **params})
    assert answer.status_code == 200, answer.text
    return int(answer.headers["NGSILD-Results-Count"])


def test_language_wildcards_relationship_ordering_and_zero_distances(client: TestClient) -> None:
    shrines = [
        ("fushimi-inari", {"ja": "伏見稲荷大社", "en": "Fushimi Inari Taisha"}, [135.7727, 34.9671]),
        ("yasaka", {"ja": "八坂神社", "en": "Yasaka Shrine"}, [135.7785, 35.0037]),
    ]
    for name, names, point in shrines:
        body = {"id": f"urn:ngsi-ld:Shrine:{name}", "type": "Shrine",
                "title": {"type": "LanguageProperty", "languageMap": names},
                "nearestStation": _rel(f"urn:ngsi-ld:RailwayStation:{name}"),
                "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": point}}}  # fmt: skip
        assert client.post(f"{BASE}/entities", json=body).status_code == 201
    assert _count(client, q='title[*]=="八坂神社"') == 1  # [*]: any language
    assert _count(client, q='title[*]!="八坂神社"') == 1  # unequal: no language may hold it
    assert _count(client, q='title[en]!="八坂神社"') == 2
    assert _count(client, q='nearestStation>"urn:a"') == 0  # a Relationship is never ordered
    assert _count(client, q='nearestStation=="urn:ngsi-ld:RailwayStation:yasaka"') == 1
    near = {"geometry": "Point", "coordinates": "[135.7785,35.0037]"}
    assert _count(client, georel="near;maxDistance==500", **near) == 1
    for bad in ("near;maxDistance==0", "near;minDistance==0"):  # 4.10: a PositiveNumber
        _problem(client.get(f"{BASE}/entities", params={"type": "Shrine", "georel": bad, **near}), BAD)


def test_a_query_body_takes_pick_and_omit_and_refuses_empty_arrays(osaka: TestClient) -> None:
    query: dict[str, Any] = {"type": "Query", "entities": [{"type": "Ward"}, {"type": "Prefecture"}]}
    picked = osaka.post(f"{BASE}/entityOperations/query", json={**query, "pick": ["id", "population"]}).json()
    assert picked == [{"id": PREFECTURE, "population": _prop(8_760_000)}, {"id": WARD, "population": _prop(141_000)}]
    omitted = osaka.post(f"{BASE}/entityOperations/query", json={**query, "omit": ["name", "partOf"]}).json()
    assert [sorted(e) for e in omitted] == [["id", "population", "type"]] * 2
    for bad in ({"attrs": []}, {"pick": []}, {"pick": ["name"], "omit": ["id"]}, {"attrs": ["name"], "pick": ["id"]}):
        _problem(osaka.post(f"{BASE}/entityOperations/query", json={**query, **bad}), BAD)


def test_a_join_that_would_render_without_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two entities naming each other twice: an inline join renders 2, 4, 8 ... entities a level; past the bound
    the answer is a 400 naming joinLevel, not a request that runs without end."""
    from futago.services.ngsild import joins
    from futago.services.ngsild.errors import BadRequestData
    from futago.services.ngsild.mapping import EntityState

    monkeypatch.setattr(joins, "MAX_JOINED", 100)
    rel = [{"type": "Relationship", "object": "urn:b"}, {"type": "Relationship", "object": "urn:a", "datasetId": "d"}]
    states = {i: EntityState(i, "T", {"link": rel}) for i in ("urn:a", "urn:b")}
    linker = joins.Linker(
        joins.join_of("inline", "16"),  # type: ignore[arg-type]
        states.get,
        lambda state, pick, omit: {"id": state.id, "link": [dict(r) for r in rel]},
        lambda iri: iri,
        key_values=False,
    )
    with pytest.raises(BadRequestData, match="joinLevel: the join reaches more than 100 linked entities"):
        linker.inline(states["urn:a"], {"id": "urn:a", "link": [dict(r) for r in rel]}, None, None)
