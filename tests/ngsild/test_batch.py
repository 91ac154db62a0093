"""Batch operations (/entityOperations/*): per-entity success and error lists, on the bulk write path."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from futago.app import App
from futago.services.ngsild.batch import MAX_BATCH
from tests.ngsild import test_tenants_and_security
from tests.ngsild.conftest import BASE, CORE
from tests.ngsild.test_tenants_and_security import key

OPS = f"{BASE}/entityOperations"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"
LD = {"Content-Type": "application/ld+json"}
secured = test_tenants_and_security.secured  # a fixture shared with the security tests


def water(number: int, flow: float = 1.5, **extra: Any) -> dict[str, Any]:
    """A Smart Data Models WaterObserved (dataModel.Environment), trimmed to what the tests look at."""
    return {
        "id": f"urn:ngsi-ld:WaterObserved:{number:03d}",
        "type": "WaterObserved",
        "flow": {"type": "Property", "value": flow, "unitCode": "G51", "observedAt": "2026-06-01T09:00:00Z"},
        "height": {"type": "Property", "value": 0.9 + number / 10, "unitCode": "MTR"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [139.79, 35.71 + number / 1000]}},
        **extra,
    }


def ids(answer: list[dict[str, Any]]) -> list[str]:
    return [e["id"] for e in answer]


def errors(body: dict[str, Any]) -> dict[str, str]:
    """entityId -> the ProblemDetails type of each error of a BatchOperationResult."""
    return {e["entityId"]: e["error"]["type"] for e in body["errors"]}


def test_create_answers_201_with_the_ids_and_writes_twins(client: TestClient) -> None:
    sent = [water(1), water(2), water(3)]
    answer = client.post(f"{OPS}/create", json=sent)
    assert answer.status_code == 201
    assert answer.json() == [e["id"] for e in sent]
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:002").json()
    assert got["flow"] == sent[1]["flow"] and got["location"] == sent[1]["location"]
    twin = client.get("/twins/urn:ngsi-ld:WaterObserved:003").json()  # the other door sees the same graph
    assert twin["flow"] == 1.5 and twin["height"] == 1.2 and twin["geometry"]["type"] == "Point"
    listed = client.get(f"{BASE}/entities", params={"type": "WaterObserved", "count": "true"})
    assert listed.headers["ngsild-results-count"] == "3"


def test_create_reports_each_failure_and_writes_the_rest(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=water(1)).status_code == 201
    no_type = {"id": "urn:ngsi-ld:WaterObserved:009", "flow": {"type": "Property", "value": 1}}
    bad_attribute = water(8, flow=None)  # type: ignore[arg-type]
    answer = client.post(f"{OPS}/create", json=[water(1), water(2), no_type, bad_attribute, "not an entity"])
    assert answer.status_code == 207
    body = answer.json()
    assert body["success"] == ["urn:ngsi-ld:WaterObserved:002"]
    assert errors(body) == {
        "urn:ngsi-ld:WaterObserved:001": ERR + "AlreadyExists",
        "urn:ngsi-ld:WaterObserved:009": ERR + "BadRequestData",
        "urn:ngsi-ld:WaterObserved:008": ERR + "BadRequestData",
        "": ERR + "BadRequestData",
    }
    first = next(e["error"] for e in body["errors"] if e["entityId"].endswith("001"))
    assert first["status"] == 409 and "already exists" in first["detail"]
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:008").status_code == 404
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()["flow"]["value"] == 1.5


def test_upsert_replaces_by_default_and_keeps_creation_times(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=water(1, note={"type": "Property", "value": "old"})).status_code == 201
    before = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001", params={"options": "sysAttrs"}).json()
    answer = client.post(f"{OPS}/upsert", json=[water(1, flow=2.5), water(2)])
    assert answer.status_code == 201 and answer.json() == ["urn:ngsi-ld:WaterObserved:002"]  # only the created
    after = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001", params={"options": "sysAttrs"}).json()
    assert "note" not in after  # replaced: an attribute not sent is gone
    assert after["flow"]["value"] == 2.5
    assert after["createdAt"] == before["createdAt"]
    assert after["flow"]["createdAt"] == before["flow"]["createdAt"]
    assert after["flow"]["modifiedAt"] > before["flow"]["modifiedAt"]
    again = client.post(f"{OPS}/upsert", params={"options": "replace"}, json=[water(1), water(2)])
    assert again.status_code == 204  # every entity existed: updated


def test_upsert_update_keeps_the_attributes_not_sent(client: TestClient) -> None:
    assert client.post(f"{BASE}/entities", json=water(1, note={"type": "Property", "value": "kept"})).status_code == 201
    change = {"id": "urn:ngsi-ld:WaterObserved:001", "type": "WaterObserved", "flow": {"type": "Property", "value": 7}}
    answer = client.post(f"{OPS}/upsert", params={"options": "update"}, json=[change])
    assert answer.status_code == 204
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()
    assert got["note"]["value"] == "kept" and got["flow"] == {"type": "Property", "value": 7}
    refused = client.post(f"{OPS}/upsert", params={"options": "update,replace"}, json=[change])
    assert refused.status_code == 400 and refused.json()["type"] == ERR + "BadRequestData"


def test_update_appends_overwrites_and_reports_missing_entities(client: TestClient) -> None:
    assert client.post(f"{OPS}/create", json=[water(1), water(2)]).status_code == 201
    fragment = {
        "id": "urn:ngsi-ld:WaterObserved:001",
        "type": "WaterObserved",
        "flow": {"type": "Property", "value": 4.0},
        "pH": {"type": "Property", "value": 7.2},
    }
    missing = {**fragment, "id": "urn:ngsi-ld:WaterObserved:404"}
    answer = client.post(f"{OPS}/update", json=[fragment, missing])
    assert answer.status_code == 207
    assert answer.json()["success"] == ["urn:ngsi-ld:WaterObserved:001"]
    assert errors(answer.json()) == {"urn:ngsi-ld:WaterObserved:404": ERR + "ResourceNotFound"}
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()
    assert got["flow"]["value"] == 4.0 and got["pH"]["value"] == 7.2 and got["height"]["value"] == 1.0
    keep = {**fragment, "id": "urn:ngsi-ld:WaterObserved:002", "flow": {"type": "Property", "value": 99.0}}
    assert client.post(f"{OPS}/update", params={"options": "noOverwrite"}, json=[keep]).status_code == 204
    other = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:002").json()
    assert other["flow"]["value"] == 1.5 and other["pH"]["value"] == 7.2  # kept, and the new one added


def test_merge_patches_members_and_deletes_with_null(client: TestClient) -> None:
    assert client.post(f"{OPS}/create", json=[water(1, note={"type": "Property", "value": "x"})]).status_code == 201
    patch = {"id": "urn:ngsi-ld:WaterObserved:001", "flow": {"value": 3.3}, "note": "urn:ngsi-ld:null"}
    answer = client.post(f"{OPS}/merge", json=[patch, {"id": "urn:ngsi-ld:WaterObserved:404", "flow": 1}])
    assert answer.status_code == 207
    assert errors(answer.json()) == {"urn:ngsi-ld:WaterObserved:404": ERR + "ResourceNotFound"}
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()
    assert got["flow"]["value"] == 3.3 and got["flow"]["unitCode"] == "G51"  # members not sent are kept
    assert "note" not in got
    assert client.post(f"{OPS}/merge", json=[patch]).status_code == 204


def test_delete_reports_entities_that_do_not_exist(client: TestClient) -> None:
    assert client.post(f"{OPS}/create", json=[water(1), water(2)]).status_code == 201
    answer = client.post(f"{OPS}/delete", json=["urn:ngsi-ld:WaterObserved:001", "urn:ngsi-ld:WaterObserved:404", 7])
    assert answer.status_code == 207
    assert answer.json()["success"] == ["urn:ngsi-ld:WaterObserved:001"]
    assert errors(answer.json()) == {
        "urn:ngsi-ld:WaterObserved:404": ERR + "ResourceNotFound",
        "": ERR + "BadRequestData",
    }
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").status_code == 404
    assert client.post(f"{OPS}/delete", json=["urn:ngsi-ld:WaterObserved:002"]).status_code == 204
    assert client.get("/twins/urn:ngsi-ld:WaterObserved:002").status_code == 404


def test_a_model_refusing_one_entity_fails_only_that_one(app: App, client: TestClient) -> None:
    gauge = {
        "@context": "dtmi:dtdl:context;3",
        "@id": "dtmi:example:RiverGauge;1",
        "@type": "Interface",
        "contents": [{"@type": "Property", "name": "height", "schema": "double", "writable": True}],
    }
    app.models.add([gauge])
    good = {"id": "urn:ngsi-ld:RiverGauge:1", "type": "dtmi:example:RiverGauge;1", "height": 2.5}
    wrong = {"id": "urn:ngsi-ld:RiverGauge:2", "type": "dtmi:example:RiverGauge;1", "height": "high"}
    answer = client.post(f"{OPS}/upsert", json=[good, wrong])
    assert answer.status_code == 207
    assert answer.json()["success"] == ["urn:ngsi-ld:RiverGauge:1"]
    error = answer.json()["errors"][0]
    assert error["entityId"] == "urn:ngsi-ld:RiverGauge:2" and error["error"]["type"] == ERR + "BadRequestData"
    assert error["error"]["pointer"] == "/height"  # inside the entity, as a single write points
    assert client.get("/twins/urn:ngsi-ld:RiverGauge:1").json()["height"] == 2.5
    assert client.get("/twins/urn:ngsi-ld:RiverGauge:2").status_code == 404
    app.models.set_decommissioned("dtmi:example:RiverGauge;1", True)  # existing twins only: none created
    later = client.post(f"{OPS}/upsert", json=[{**good, "height": 3.0}, {**good, "id": "urn:ngsi-ld:RiverGauge:3"}])
    assert later.status_code == 207 and later.json()["success"] == ["urn:ngsi-ld:RiverGauge:1"]
    assert "decommissioned" in later.json()["errors"][0]["error"]["detail"]


def test_an_entity_named_twice_is_written_in_order(client: TestClient) -> None:
    answer = client.post(f"{OPS}/upsert", json=[water(1, flow=1.0), water(2), water(1, flow=2.0)])
    assert answer.status_code == 201
    assert sorted(answer.json()) == ["urn:ngsi-ld:WaterObserved:001", "urn:ngsi-ld:WaterObserved:002"]
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()["flow"]["value"] == 2.0
    twice = client.post(f"{OPS}/create", json=[water(3), water(3)])
    assert twice.status_code == 207 and errors(twice.json()) == {"urn:ngsi-ld:WaterObserved:003": ERR + "AlreadyExists"}


def test_relationships_between_entities_of_one_batch_become_twin_relationships(client: TestClient) -> None:
    station = {"id": "urn:ngsi-ld:Building:pump-station", "type": "Building", "name": "Sumida pump station"}
    observed = water(1, refBuilding={"type": "Relationship", "object": station["id"]})
    assert client.post(f"{OPS}/create", json=[observed, station]).status_code == 201
    rels = client.get("/twins/urn:ngsi-ld:WaterObserved:001/relationships").json()["value"]
    assert [(r["$relationshipName"], r["$targetId"]) for r in rels] == [("refBuilding", station["id"])]
    replaced = water(1)  # replaced without the relationship: it goes
    assert client.post(f"{OPS}/upsert", json=[replaced]).status_code == 204
    assert client.get("/twins/urn:ngsi-ld:WaterObserved:001/relationships").json()["value"] == []


def test_json_ld_bodies_carry_a_context_per_entity(client: TestClient) -> None:
    context = [{"flowRate": "https://smartdatamodels.org/dataModel.Environment/flow"}, CORE]
    sent = [{"@context": context, **water(1)}, water(2)]  # the second one has no @context
    sent[0]["flowRate"] = sent[0].pop("flow")
    answer = client.post(f"{OPS}/create", json=sent, headers=LD)
    assert answer.status_code == 207
    assert answer.json()["success"] == ["urn:ngsi-ld:WaterObserved:001"]
    assert errors(answer.json()) == {"urn:ngsi-ld:WaterObserved:002": ERR + "BadRequestData"}
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").json()
    assert got["https://smartdatamodels.org/dataModel.Environment/flow"]["value"] == 1.5


def test_bad_batch_bodies_are_ngsi_ld_problems(client: TestClient) -> None:
    not_array = client.post(f"{OPS}/create", json=water(1))
    assert not_array.status_code == 400 and not_array.json()["type"] == ERR + "BadRequestData"
    too_many = client.post(f"{OPS}/delete", json=[f"urn:ngsi-ld:X:{i}" for i in range(MAX_BATCH + 1)])
    assert too_many.status_code == 400 and str(MAX_BATCH) in too_many.json()["detail"]
    broken = client.post(f"{OPS}/upsert", content=b"[{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.json()["type"] == ERR + "InvalidRequest"
    text = client.post(f"{OPS}/update", content=b"[]", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json()["type"] == ERR + "UnsupportedMediaType"
    options = client.post(f"{OPS}/update", params={"options": "replace"}, json=[])
    assert options.status_code == 400
    empty = client.post(f"{OPS}/create", json=[])  # 5.6.7.4: an empty array is bad data, not nothing to do
    assert empty.status_code == 400 and empty.json()["type"] == ERR + "BadRequestData"
    deep: dict[str, Any] = {"type": "Property", "value": 1}
    for _ in range(200):
        deep = {"type": "Property", "value": 1, "sub": deep}
    nested = client.post(f"{OPS}/create", json=[water(1, calibration=deep), water(2)])
    assert nested.status_code == 207 and nested.json()["success"] == ["urn:ngsi-ld:WaterObserved:002"]
    assert "deeper" in nested.json()["errors"][0]["error"]["detail"]
    tenant = client.post(f"{OPS}/create", json=[water(1)], headers={"NGSILD-Tenant": "a/b"})
    assert tenant.status_code == 400


def test_tenants_keep_their_batches_apart(client: TestClient) -> None:
    osaka = {"NGSILD-Tenant": "osaka"}
    assert client.post(f"{OPS}/create", json=[water(1)], headers=osaka).status_code == 201
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001").status_code == 404
    assert client.get(f"{BASE}/entities/urn:ngsi-ld:WaterObserved:001", headers=osaka).status_code == 200
    gone = client.post(f"{OPS}/delete", json=["urn:ngsi-ld:WaterObserved:001"])
    assert gone.status_code == 207  # not in the default tenant
    assert client.post(f"{OPS}/delete", json=["urn:ngsi-ld:WaterObserved:001"], headers=osaka).status_code == 204


def test_each_entity_needs_write_on_its_twin(app: App, secured: TestClient) -> None:
    writer = key(app, "user:field", ("twins/urn:ngsi-ld:WaterObserved:00*", ["READ", "WRITE"]))
    answer = secured.post(f"{OPS}/upsert", json=[water(1), water(12)], headers=writer)
    assert answer.status_code == 207
    assert answer.json()["success"] == ["urn:ngsi-ld:WaterObserved:001"]
    error = answer.json()["errors"][0]
    assert error["entityId"] == "urn:ngsi-ld:WaterObserved:012" and error["error"]["status"] == 403
    assert secured.post(f"{OPS}/upsert", json=[water(1)]).status_code == 401
    assert secured.post(f"{OPS}/delete", json=["urn:ngsi-ld:WaterObserved:012"], headers=writer).status_code == 207


def test_query_with_a_query_body(client: TestClient) -> None:
    station = {"id": "urn:ngsi-ld:Building:pump-station", "type": "Building", "name": "Sumida pump station"}
    assert client.post(f"{OPS}/create", json=[water(1), water(2, flow=4.0), water(3), station]).status_code == 201
    union = {
        "type": "Query",
        "entities": [{"type": "Building"}, {"type": "WaterObserved", "idPattern": "00[23]$"}],
        "attrs": ["flow", "name"],
    }
    answer = client.post(f"{OPS}/query", json=union, params={"count": "true"})
    assert answer.status_code == 200
    assert ids(answer.json()) == [station["id"], "urn:ngsi-ld:WaterObserved:002", "urn:ngsi-ld:WaterObserved:003"]
    assert answer.headers["ngsild-results-count"] == "3"
    assert set(answer.json()[1]) == {"id", "type", "flow"}  # attrs picks what is answered
    paged = client.post(f"{OPS}/query", json=union, params={"limit": "1", "offset": "1"})
    assert ids(paged.json()) == ["urn:ngsi-ld:WaterObserved:002"]
    filtered = {
        "type": "Query",
        "entities": [{"type": "WaterObserved"}],
        "q": "flow>2",
        "geoQ": {"georel": "near;maxDistance==5000", "geometry": "Point", "coordinates": [139.79, 35.71]},
    }
    assert ids(client.post(f"{OPS}/query", json=filtered).json()) == ["urn:ngsi-ld:WaterObserved:002"]
    values = client.post(f"{OPS}/query", json=filtered, params={"format": "keyValues"}).json()
    assert values[0]["flow"] == 4.0
    for bad in ({"entities": []}, {"type": "Query"}, {"type": "Query", "temporalQ": {}}, {"type": "Query", "q": "("}):
        refused = client.post(f"{OPS}/query", json=bad)
        assert refused.status_code == 400 and refused.json()["type"] == ERR + "BadRequestData", bad
    for limit in ("1001", "-1"):  # the same paging parameters as GET /entities, refused the same way
        refused = client.post(f"{OPS}/query", json=union, params={"limit": limit})
        assert refused.status_code == 400 and refused.json()["type"] == ERR + "BadRequestData", limit
        assert refused.json()["detail"].startswith("/limit"), limit


def test_batches_on_every_adapter(adapter_client: TestClient) -> None:
    client = adapter_client
    station = {"id": "urn:ngsi-ld:Building:pump-station", "type": "Building", "name": "Sumida pump station"}
    linked = water(1, refBuilding={"type": "Relationship", "object": station["id"]})
    assert client.post(f"{OPS}/create", json=[linked, water(2), station]).status_code == 201
    upsert = client.post(f"{OPS}/upsert", json=[water(2, flow=5.0), water(3)])
    assert upsert.status_code == 201 and upsert.json() == ["urn:ngsi-ld:WaterObserved:003"]
    update = client.post(f"{OPS}/update", json=[{"id": linked["id"], "pH": 7.1}, {"id": "urn:ngsi-ld:X:1", "pH": 7}])
    assert update.status_code == 207 and update.json()["success"] == [linked["id"]]
    assert client.post(f"{OPS}/merge", json=[{"id": linked["id"], "flow": {"value": 0.5}}]).status_code == 204
    got = client.get(f"{BASE}/entities/{linked['id']}").json()
    assert (got["flow"]["value"], got["flow"]["unitCode"], got["pH"]["value"]) == (0.5, "G51", 7.1)
    assert got["refBuilding"]["object"] == station["id"]
    query = {"type": "Query", "entities": [{"type": "WaterObserved"}], "q": "flow>1"}
    assert ids(client.post(f"{OPS}/query", json=query).json()) == [
        "urn:ngsi-ld:WaterObserved:002",
        "urn:ngsi-ld:WaterObserved:003",
    ]
    deleted = client.post(f"{OPS}/delete", json=[station["id"], "urn:ngsi-ld:WaterObserved:003"])
    assert deleted.status_code == 204
    assert client.get(f"/twins/{linked['id']}/relationships").json()["value"] == []
