"""Inputs that used to be answered with a 500, found by test_no_server_errors; now 422 with a pointer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import M, building
from tests.api.test_twins_api import assert_problem

JSON = {"content-type": "application/json"}
BUILDING = '{"$metadata": {"$model": "' + M + 'Building;1"}, '


@pytest.mark.parametrize(
    "member",
    [
        '"height": NaN',
        '"height": -Infinity',
        '"height": 1e999',
        '"name": "\\ud800"',  # a lone surrogate: Python's json accepts it, orjson cannot write it
    ],
)
def test_json_that_cannot_be_stored_is_refused_while_parsing(client: TestClient, member: str) -> None:
    body = assert_problem(client.put("/twins/b1", content=BUILDING + member + "}", headers=JSON), 422, "")
    assert "not valid JSON" in body["detail"]
    assert client.get("/twins/b1").status_code == 404


def test_integers_beyond_64_bits_are_numbers_not_server_errors(client: TestClient) -> None:
    """-2**63 - 1 used to reach the store, whose JSON writer refused it."""
    created = client.put("/twins/b1", content=BUILDING + '"height": -9223372036854775809}', headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["height"] == -9.223372036854776e18
    too_big = client.put("/twins/b2", content=BUILDING + '"storeys": 99999999999999999999999}', headers=JSON)
    assert_problem(too_big, 422, "/storeys")


def test_other_json_bodies_are_parsed_the_same_way(client: TestClient) -> None:
    query = '{"query": "SELECT T FROM DIGITALTWINS T", "continuationToken": "\\udc00"}'
    assert_problem(client.post("/query", content=query, headers=JSON), 422, "")
    model = '{"@id": "dtmi:x:Y;1", "@type": "Interface", "@context": "dtmi:dtdl:context;3", "x": NaN}'
    assert_problem(client.post("/models", content=model, headers=JSON), 422, "")


@pytest.mark.parametrize("op", [[], {}, ["add"], {"add": 1}])
def test_patch_operation_with_an_unhashable_op(client: TestClient, district: str, op: object) -> None:
    """{"op": []} used to fail a set lookup with TypeError."""
    assert client.put("/twins/b1", json=building()).status_code == 201
    rel = {"$relationshipName": "locatedIn", "$targetId": district}
    assert client.put("/twins/b1/relationships/r1", json=rel).status_code == 201
    patch = [{"op": op, "path": "/height", "value": 1.0}]
    assert_problem(client.patch("/twins/b1", json=patch), 422, "/0/op")
    assert_problem(client.patch("/twins/b1/relationships/r1", json=patch), 422, "/0/op")


@pytest.mark.parametrize("model_id", [[], {"a": 1}, ["dtmi:x:Y;1"]])
def test_model_with_an_unhashable_id(client: TestClient, model_id: object) -> None:
    """An @id that is a list or an object used to fail the "already exists" lookup with TypeError."""
    model = {"@id": model_id, "@type": "Interface", "@context": "dtmi:dtdl:context;3", "contents": []}
    assert_problem(client.post("/models", json=model), 422, "/@id")


@pytest.mark.parametrize(
    "ts",
    [
        1.797693134862316e305,  # times 1000 overflows to infinity
        "0001-01-01T00:00:00+01:00",  # the year 0 in UTC: storable, but not writable back
        "10000-01-01T00:00:00Z",
        253402300800000,  # 10000-01-01 in epoch milliseconds
        "²",  # isdigit() but not int()
        "--5",
    ],
)
def test_telemetry_timestamp_outside_the_writable_years(client: TestClient, ts: object) -> None:
    client.put("/twins/p1", json={"$metadata": {"$model": M + "Pump;1"}, "name": "P"})
    reading = [{"name": "flow", "ts": ts, "value": 1.0}]
    assert_problem(client.post("/twins/p1/telemetry", json=reading), 422, "/0/ts")
    assert client.get("/twins/p1/telemetry").json()["value"] == []  # nothing was stored


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"from": "99999999999999999999999"}, "/from"),
        ({"to": "0001-01-01T00:00:00+01:00"}, "/to"),
        ({"bucket": "999999999999999999h"}, "/bucket"),
        ({"bucket": "P" + "9" * 400 + "D"}, "/bucket"),
        ({"bucket": "²"}, "/bucket"),
        ({"bucket": "365d"}, "/bucket"),  # the first window would start before the year 1
    ],
)
def test_telemetry_history_parameters_out_of_range(client: TestClient, params: dict[str, str], pointer: str) -> None:
    client.put("/twins/p1", json={"$metadata": {"$model": M + "Pump;1"}, "name": "P"})
    early = [{"name": "flow", "ts": "0001-01-01T00:00:01Z", "value": 1.0}]
    assert client.post("/twins/p1/telemetry", json=early).status_code == 202
    assert_problem(client.get("/twins/p1/telemetry", params={"name": "flow", **params}), 422, pointer)


def test_the_last_writable_microsecond_pages_on(client: TestClient) -> None:
    """A reading at the newest accepted instant still gets a writable 'next' page marker."""
    client.put("/twins/p1", json={"$metadata": {"$model": M + "Pump;1"}, "name": "P"})
    late = [{"name": "flow", "ts": "9999-12-31T23:59:59.999998Z", "value": 1.0}]
    assert client.post("/twins/p1/telemetry", json=late).status_code == 202
    page = client.get("/twins/p1/telemetry", params={"name": "flow", "limit": 1})
    assert page.status_code == 200 and page.json()["next"] == "9999-12-31T23:59:59.999999Z"


def test_a_long_chain_of_conditions_is_answered(client: TestClient) -> None:
    """Every condition used to be pushed down to SQLite, which refuses a WHERE deeper than 1000."""
    client.put("/twins/b1", json=building(25.0))
    where = " AND ".join(["T.height > 1"] * 1500)
    response = client.post("/query", json={"query": f"SELECT T.$dtId FROM DIGITALTWINS T WHERE {where}"})
    assert response.status_code == 200, response.text
    assert response.json()["value"] == [{"$dtId": "b1"}]


@pytest.mark.parametrize("field", ["groups", "scopes"])
def test_a_key_with_groups_or_scopes_that_are_not_strings(client: TestClient, field: str) -> None:
    """Found by schemathesis once /openapi.json described the body of POST /keys: the service sorted them."""
    body = {"subject": "user:sato", field: [{}]}
    problem = assert_problem(client.post("/keys", json=body), 422, f"/{field}")
    assert problem["detail"] == f"/{field}: give a list of strings"
