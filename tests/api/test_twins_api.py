"""The twin graph through the REST API: validation, ETags, relationships, problem+json."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import M, building


def assert_problem(response, status: int, pointer: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert any(e["pointer"] == pointer for e in body["errors"]), body
    return body


def test_create_read_replace_delete_with_etags(client: TestClient) -> None:
    created = client.put("/twins/b1", json=building(12.5, storeys=4))
    assert created.status_code == 201
    etag = created.headers["ETag"]
    assert created.json()["$etag"] == etag

    got = client.get("/twins/b1")
    assert got.status_code == 200
    assert got.json()["height"] == 12.5 and got.json()["$metadata"]["$model"] == M + "Building;1"

    replaced = client.put("/twins/b1", json=building(13.0), headers={"If-Match": etag})
    assert replaced.status_code == 200 and replaced.headers["ETag"] != etag
    stale = client.put("/twins/b1", json=building(14.0), headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.get("/twins/b1").json()["height"] == 13.0

    assert client.put("/twins/b1", json=building(), headers={"If-None-Match": "*"}).status_code == 412
    assert client.delete("/twins/b1", headers={"If-Match": etag}).status_code == 412
    assert client.delete("/twins/b1").status_code == 204
    assert_problem_404 = client.get("/twins/b1")
    assert assert_problem_404.status_code == 404
    assert assert_problem_404.headers["content-type"].startswith("application/problem+json")


def test_property_validation_points_at_the_field(client: TestClient) -> None:
    assert_problem(client.put("/twins/b2", json=building("tall")), 422, "/height")  # type: ignore[arg-type]
    assert_problem(client.put("/twins/b2", json=building(colour="red")), 422, "/colour")
    assert_problem(client.put("/twins/b2", json=building(usage="castle")), 422, "/usage")
    assert_problem(client.put("/twins/b2", json=building(storeys=2.5)), 422, "/storeys")
    no_model = client.put("/twins/b2", json={"name": "x"})
    assert_problem(no_model, 422, "/$metadata/$model")
    unknown = client.put("/twins/b2", json={"$metadata": {"$model": "dtmi:nope:X;1"}})
    assert_problem(unknown, 422, "/$metadata/$model")
    bad_geometry = building(geometry={"type": "Point", "coordinates": [35.1, 138.8]})
    assert_problem(client.put("/twins/b2", json=bad_geometry), 422, "/geometry/coordinates/1")
    assert client.get("/twins/b2").status_code == 404  # nothing was stored


def test_non_writable_property_cannot_be_set(client: TestClient) -> None:
    sensor = {"$metadata": {"$model": M + "RainGauge;1"}, "serialNumber": "R1", "firmware": "1.0"}
    body = assert_problem(client.put("/twins/rg", json=sensor), 422, "/firmware")
    assert "not writable" in body["errors"][0]["detail"]


def test_json_patch(client: TestClient) -> None:
    client.put("/twins/b3", json=building(10.0))
    patched = client.patch(
        "/twins/b3",
        json=[
            {"op": "replace", "path": "/height", "value": 20.0},
            {"op": "add", "path": "/storeys", "value": 6},
        ],
    )
    assert patched.status_code == 200, patched.text
    assert client.get("/twins/b3").json()["storeys"] == 6
    assert_problem(client.patch("/twins/b3", json=[{"op": "replace", "path": "/height", "value": "x"}]), 422, "/height")
    assert_problem(client.patch("/twins/b3", json=[{"op": "remove", "path": "/nothing"}]), 422, "/0")
    assert_problem(client.patch("/twins/b3", json=[{"op": "jump", "path": "/height"}]), 422, "/0/op")
    stale = client.patch(
        "/twins/b3",
        json=[{"op": "replace", "path": "/height", "value": 1.0}],
        headers={"If-Match": 'W/"old"'},
    )
    assert stale.status_code == 412
    assert client.get("/twins/b3").json()["height"] == 20.0


def test_relationships_follow_the_model(client: TestClient, district: str) -> None:
    client.put("/twins/b4", json=building())
    client.put("/twins/b5", json=building())
    ok = client.put("/twins/b4/relationships/r1", json={"$relationshipName": "locatedIn", "$targetId": district})
    assert ok.status_code == 201, ok.text
    # maxMultiplicity 1
    second = client.put("/twins/b4/relationships/r2", json={"$relationshipName": "locatedIn", "$targetId": district})
    assert_problem(second, 422, "/$relationshipName")
    # target must be a District
    wrong = client.put("/twins/b5/relationships/r1", json={"$relationshipName": "locatedIn", "$targetId": "b4"})
    assert_problem(wrong, 422, "/$targetId")
    undeclared = client.put("/twins/b5/relationships/r1", json={"$relationshipName": "owns", "$targetId": "b4"})
    assert_problem(undeclared, 422, "/$relationshipName")
    missing = client.put("/twins/b5/relationships/r1", json={"$relationshipName": "locatedIn", "$targetId": "zz"})
    assert_problem(missing, 422, "/$targetId")

    listed = client.get("/twins/b4/relationships").json()["value"]
    assert [(r["$relationshipId"], r["$targetId"]) for r in listed] == [("r1", district)]
    incoming = client.get(f"/twins/{district}/incomingrelationships").json()["value"]
    assert [(r["$sourceId"], r["$relationshipId"]) for r in incoming] == [("b4", "r1")]

    # a twin with relationships cannot be deleted
    assert client.delete("/twins/b4").status_code == 409
    assert client.delete("/twins/b4/relationships/r1").status_code == 204
    assert client.delete("/twins/b4").status_code == 204


def test_relationship_properties_are_validated(client: TestClient, district: str) -> None:
    client.put("/twins/rg1", json={"$metadata": {"$model": M + "RainGauge;1"}})
    rel = {"$relationshipName": "monitors", "$targetId": district, "since": "not a date"}
    assert_problem(client.put("/twins/rg1/relationships/m", json=rel), 422, "/since")
    rel["since"] = "2024-04-01"
    assert client.put("/twins/rg1/relationships/m", json=rel).status_code == 201
    patched = client.patch(
        "/twins/rg1/relationships/m", json=[{"op": "replace", "path": "/since", "value": "2025-01-01"}]
    )
    assert patched.status_code == 200 and patched.json()["since"] == "2025-01-01"


def test_models_api(client: TestClient) -> None:
    listed = client.get("/models").json()["value"]
    assert M + "Building;1" in {m["id"] for m in listed}
    duplicate = client.post(
        "/models", json={"@context": "dtmi:dtdl:context;3", "@id": M + "Building;1", "@type": "Interface"}
    )
    assert duplicate.status_code == 409
    invalid = client.post(
        "/models",
        json={
            "@context": "dtmi:dtdl:context;3",
            "@id": "dtmi:x:Bad;1",
            "@type": "Interface",
            "contents": [{"@type": "Property", "name": "1x", "schema": "double"}],
        },
    )
    body = assert_problem(invalid, 422, "/contents/0/name")
    assert body["errors"][0]["id"] == "dtmi:x:Bad;1"
    new = {
        "@context": "dtmi:dtdl:context;3",
        "@id": "dtmi:x:Tank;1",
        "@type": "Interface",
        "contents": [{"@type": "Property", "name": "volume", "schema": "double", "writable": True}],
    }
    assert client.post("/models", json=[new]).status_code == 201
    assert client.get("/models/dtmi:x:Tank;1").json()["model"]["@id"] == "dtmi:x:Tank;1"
    client.put("/twins/t1", json={"$metadata": {"$model": "dtmi:x:Tank;1"}, "volume": 3.0})
    assert client.delete("/models/dtmi:x:Tank;1").status_code == 409  # in use
    decommission = [{"op": "replace", "path": "/decommissioned", "value": True}]
    assert client.patch("/models/dtmi:x:Tank;1", json=decommission).status_code == 204
    refused = client.put("/twins/t2", json={"$metadata": {"$model": "dtmi:x:Tank;1"}})
    assert_problem(refused, 422, "/$metadata/$model")
    assert client.delete("/twins/t1").status_code == 204
    assert client.delete("/models/dtmi:x:Tank;1").status_code == 204


def test_errors_are_problems_never_500(client: TestClient) -> None:
    not_json = client.put("/twins/x", content=b"{nope", headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and not_json.headers["content-type"].startswith("application/problem+json")
    array = client.put("/twins/x", json=[1, 2])
    assert array.status_code == 422
    unknown_route = client.get("/nowhere")
    assert unknown_route.status_code == 404 and unknown_route.json()["status"] == 404
    wrong_method = client.post("/health")
    assert wrong_method.status_code == 405
    bad_limit = client.get("/twins", params={"limit": 0})
    assert_problem(bad_limit, 422, "/limit")


def test_list_twins_by_model_includes_sub_models(client: TestClient) -> None:
    client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}})
    client.put("/twins/rg", json={"$metadata": {"$model": M + "RainGauge;1"}})
    client.put("/twins/bb", json=building())
    sensors = client.get("/twins", params={"model": M + "Sensor;1"}).json()["value"]
    assert sorted(t["$dtId"] for t in sensors) == ["rg", "rs"]


def test_components_are_validated_against_their_interface(client: TestClient) -> None:
    documents = [
        {
            "@context": "dtmi:dtdl:context;3",
            "@id": "dtmi:x:Motor;1",
            "@type": "Interface",
            "contents": [{"@type": "Property", "name": "rpm", "schema": "integer", "writable": True}],
        },
        {
            "@context": "dtmi:dtdl:context;3",
            "@id": "dtmi:x:Fan;1",
            "@type": "Interface",
            "contents": [
                {"@type": "Component", "name": "motor", "schema": "dtmi:x:Motor;1"},
                {"@type": "Property", "name": "label", "schema": "string", "writable": True},
            ],
        },
    ]
    assert client.post("/models", json=documents).status_code == 201
    good = {"$metadata": {"$model": "dtmi:x:Fan;1"}, "label": "F1", "motor": {"$metadata": {}, "rpm": 1200}}
    assert client.put("/twins/fan", json=good).status_code == 201
    assert client.get("/twins/fan").json()["motor"]["rpm"] == 1200
    bad = {**good, "motor": {"$metadata": {}, "rpm": "fast"}}
    assert_problem(client.put("/twins/fan", json=bad), 422, "/motor/rpm")
    unknown = {**good, "motor": {"$metadata": {}, "torque": 3}}
    assert_problem(client.put("/twins/fan", json=unknown), 422, "/motor/torque")
    rows = client.post("/query", json={"query": "SELECT T.motor.rpm FROM DIGITALTWINS T WHERE T.motor.rpm > 1000"})
    assert rows.json()["value"] == [{"rpm": 1200}]
