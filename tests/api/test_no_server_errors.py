"""Bad input never becomes a 500: property-based fuzzing of every route of the OpenAPI document.

Every client error must be RFC 9457 problem+json with ``status``, ``title`` and ``detail``;
a 422 must also carry ``pointer`` and ``errors[].pointer`` naming the offending field.
"""

from __future__ import annotations

import json
import os
import string
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import M, building

FUZZ = settings(
    max_examples=int(os.environ.get("FUTAGO_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
STREAMING = {"/events"}
MODELS = [M + n for n in ("District;1", "Building;1", "Sensor;1", "RiverStation;1", "RainGauge;1", "Pump;1")]


def assert_contract(response: httpx.Response) -> None:
    """The error contract: no 5xx, 4xx as problem+json, 422 with pointers."""
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request} -> {response.status_code}: {response.text[:500]}"
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), f"{request}: {content_type}"
    body = response.json()
    assert body["status"] == response.status_code, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if response.status_code == 422:
        assert isinstance(body.get("pointer"), str), f"{request}: {body}"
        assert body["errors"] and all(isinstance(e.get("pointer"), str) for e in body["errors"]), body


# --- strategies ------------------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            ".",
            "..",
            "...",
            "%",
            "%zz",
            "%ff%fe",
            "%00",
            "%2F",
            "a%2Fb",
            "~",
            "~1",
            "$",
            "$dtId",
            "'",
            '"',
            "\\",
            "\x00",
            "\ud7ff",
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-0",
            "*",
            'W/"x"',
            "双子",
            "🦆" * 3,
            "b-" + "x" * 5000,
            "dtmi:futago:demo:Building;1",
            "river-1",
        ]
    ),
)
ids = st.one_of(st.sampled_from(["fz-b", "fz-d", "fz-r", "fz-p", "fz-missing"]), nasty_text)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) + 2),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 10**30, 10**400, 1e308, -1e308, 5e-324, 2**64, 2**53 + 1]),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, nasty_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(nasty_text, st.just("$metadata")), inner, max_size=4),
    ),
    max_leaves=12,
)


def dumps(value: Any) -> bytes:
    """JSON text of a value, big integers and NaN included (orjson refuses them; clients send them)."""
    return json.dumps(value).encode()


raw_bodies = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"",
            b"{",
            b"[",
            b"\xff\xfe{}",
            b'{"a": "\xc3\x28"}',
            b"[" * 5000 + b"]" * 5000,
            b'{"a":' * 3000 + b"1" + b"}" * 3000,
            b"NaN",
            b"[NaN, Infinity, -Infinity]",
            b'{"height": NaN}',
            b"1e999999",
            b"-" + b"9" * 5000,
            b"9" * 5000,
            b"null",
            b'"text"',
            b'{"a": 1}\n{bad}\n',
            b'{"name": "flow", "ts": 0, "value": 1}\n\n\xff\n',
            b"\x00\x00",
        ]
    ),
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    return dumps(draw(json_values))


@st.composite
def ndjson_bodies(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(json_bodies(), telemetry_record().map(dumps), raw_bodies), max_size=5))
    return b"\n".join(line.replace(b"\n", b" ") for line in lines)


header_text = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40),
    st.sampled_from(["*", 'W/"nope"', '"x"', "0", "-1", "99999999999999999999", "1e3", "NaN", " 5 ", ""]),
)
content_types = st.one_of(
    header_text,
    st.sampled_from(
        [
            "application/json",
            "application/x-ndjson",
            "application/ndjson; charset=latin-1",
            "text/json",
            "text/plain",
            "application/json; charset=utf-16",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
        ]
    ),
)


@st.composite
def headers(draw: st.DrawFn) -> dict[str, bytes]:
    names = draw(st.sets(st.sampled_from(["If-Match", "If-None-Match", "max-items-per-page", "content-type"])))
    return {name: draw(content_types if name == "content-type" else header_text).encode("latin-1") for name in names}


def segment(value: str, raw: bool) -> str:
    """A path segment: percent-encoded, or as given (raw % escapes and dots reach the router)."""
    if raw:
        return quote(value, safe="%.~$:;'*@!")
    return quote(value, safe="")


geometries = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["Point", "LineString", "Polygon", "MultiPoint", "Nope", ""]),
            "coordinates": json_values,
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("Point"),
            "coordinates": st.lists(st.one_of(numbers, st.floats(), nasty_text), max_size=4),
        }
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["LineString", "Polygon", "MultiPolygon"]),
            "coordinates": st.recursive(
                st.lists(st.floats(min_value=-200, max_value=200), min_size=0, max_size=3),
                lambda inner: st.lists(inner, max_size=4),
                max_leaves=10,
            ),
        }
    ),
)


@st.composite
def twin_document(draw: st.DrawFn) -> Any:
    doc: dict[str, Any] = building(draw(st.one_of(numbers, st.floats(), json_values)))
    if draw(st.booleans()):
        doc["$metadata"] = draw(
            st.one_of(
                json_values,
                st.fixed_dictionaries({"$model": st.one_of(st.sampled_from(MODELS), json_values)}),
            )
        )
    for key in draw(st.lists(st.sampled_from(["name", "storeys", "usage", "population", "$dtId", "$etag", "x"]))):
        doc[key] = draw(json_values)
    if draw(st.booleans()):
        doc["geometry"] = draw(geometries)
    if draw(st.booleans()):  # a component-ish or nested member
        doc[draw(nasty_text)] = {"$metadata": draw(json_values), "a": draw(json_values)}
    return draw(st.one_of(st.just(doc), json_values)) if draw(st.integers(0, 9)) == 0 else doc


@st.composite
def relationship_document(draw: st.DrawFn) -> Any:
    doc: dict[str, Any] = {
        "$relationshipName": draw(st.one_of(st.sampled_from(["locatedIn", "monitors", "drains"]), json_values)),
        "$targetId": draw(st.one_of(st.sampled_from(["fz-d", "fz-b", "fz-missing"]), json_values)),
    }
    for key in draw(st.lists(st.one_of(st.sampled_from(["$relationshipId", "$sourceId", "$etag"]), nasty_text))):
        doc[key] = draw(json_values)
    return doc


@st.composite
def json_patch(draw: st.DrawFn) -> Any:
    op = st.fixed_dictionaries(
        {
            "op": st.one_of(st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), json_values),
            "path": st.one_of(
                st.sampled_from(["", "/", "/height", "/name", "/geometry", "/geometry/coordinates/0", "/-", "/~2"]),
                nasty_text.map(lambda t: "/" + t),
                json_values,
            ),
        },
        optional={
            "value": json_values,
            "from": st.one_of(st.sampled_from(["/height", "/name", ""]), json_values),
        },
    )
    return draw(st.one_of(st.lists(op, max_size=4), json_values))


schemas = st.one_of(
    st.sampled_from(["double", "integer", "string", "boolean", "date", "duration", "nope", "dtmi:x:Y;1"]),
    json_values,
    st.fixed_dictionaries(
        {
            "@type": st.sampled_from(["Enum", "Object", "Map", "Array", "Nope"]),
            "valueSchema": st.one_of(st.sampled_from(["string", "integer"]), json_values),
            "enumValues": json_values,
            "fields": json_values,
            "elementSchema": json_values,
            "mapKey": json_values,
            "mapValue": json_values,
        }
    ),
)


@st.composite
def dtdl_document(draw: st.DrawFn) -> Any:
    n = draw(st.integers(0, 10**6))
    content = st.fixed_dictionaries(
        {
            "@type": st.one_of(
                st.sampled_from(["Property", "Telemetry", "Relationship", "Component", "Command", "Nope"]),
                st.lists(st.sampled_from(["Telemetry", "Length", "Temperature", "Property"]), max_size=3),
                json_values,
            ),
            "name": st.one_of(st.sampled_from(["a", "b", "$x", "x" * 100]), json_values),
        },
        optional={
            "schema": schemas,
            "target": st.one_of(st.sampled_from(MODELS), json_values),
            "writable": json_values,
            "unit": json_values,
            "maxMultiplicity": json_values,
            "minMultiplicity": json_values,
            "@id": json_values,
            "request": json_values,
            "properties": json_values,
        },
    )
    doc: dict[str, Any] = {
        "@id": draw(st.one_of(st.just(f"dtmi:fuzz:M{n};1"), nasty_text, json_values)),
        "@type": draw(st.one_of(st.just("Interface"), json_values)),
        "@context": draw(
            st.one_of(
                st.sampled_from(["dtmi:dtdl:context;3", "dtmi:dtdl:context;2", "dtmi:dtdl:context;4"]),
                st.lists(st.sampled_from(["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"])),
                json_values,
            )
        ),
        "contents": draw(st.one_of(st.lists(content, max_size=4), json_values)),
    }
    if draw(st.booleans()):
        doc["extends"] = draw(st.one_of(st.sampled_from(MODELS), st.lists(st.sampled_from(MODELS)), json_values))
    if draw(st.booleans()):
        doc["displayName"] = draw(json_values)
    return draw(st.one_of(st.just(doc), st.lists(st.just(doc), max_size=2), json_values))


@st.composite
def telemetry_record(draw: st.DrawFn) -> Any:
    record: dict[str, Any] = {}
    for key, values in (
        ("twinId", st.one_of(st.sampled_from(["fz-r", "fz-p", "fz-b", "fz-missing"]), json_values)),
        (
            "name",
            st.one_of(st.sampled_from(["waterLevel", "flow", "running", "energyUse", "nope"]), json_values),
        ),
        (
            "ts",
            st.one_of(
                numbers,
                st.floats(),
                st.sampled_from(["2026-01-01T00:00:00Z", "2026-13-45T99:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01"]),
                nasty_text,
                json_values,
            ),
        ),
        ("value", st.one_of(numbers, st.floats(), json_values)),
        ("quality", st.one_of(st.sampled_from([1, 2, 3, 4, 9]), json_values)),
        (
            "values",
            st.one_of(st.dictionaries(st.sampled_from(["flow", "running", "nope"]), json_values), json_values),
        ),
        ("timestamp", json_values),
    ):
        if draw(st.booleans()):
            record[key] = draw(values)
    return record


query_fragments = st.sampled_from(
    [
        "SELECT",
        "T",
        "T.$dtId",
        "*",
        "TOP(",
        "TOP(5)",
        "COUNT()",
        "FROM",
        "DIGITALTWINS",
        "RELATIONSHIPS",
        "JOIN",
        "RELATED",
        "T.locatedIn",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IS_OF_MODEL(T, 'dtmi:futago:demo:Sensor;1')",
        "IS_OF_MODEL(",
        "ST_DISTANCE(T.geometry, [138.864, 35.101])",
        "ST_DISTANCE(T.geometry, [1e400, 'x'])",
        "ST_WITHIN(T.geometry, [])",
        "IS_DEFINED(T.height)",
        "STARTSWITH(T.name, 'B')",
        "T.height",
        "T.$metadata.$model",
        "=",
        "!=",
        "<",
        ">=",
        "IN",
        "['a', 1, null]",
        "[",
        "]",
        "(",
        ")",
        ",",
        ".",
        "'",
        "'unterminated",
        "''",
        "1e400",
        "99999999999999999999999",
        "-",
        "NaN",
        "true",
        "null",
        "ORDER BY",
        "B",
        "D",
        "$dtId",
    ]
)


@st.composite
def query_text(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:  # long chains: deep parse trees and big pushdowns
        condition = draw(st.sampled_from(["T.height > 1", "T.$dtId = 'fz-b'", "NOT T.name = 'x'", "(1 = 1)"]))
        joiner = draw(st.sampled_from([" AND ", " OR "]))
        return "SELECT T FROM DIGITALTWINS T WHERE " + joiner.join([condition] * draw(st.integers(1, 3000)))
    if draw(st.booleans()):
        base = "SELECT T FROM DIGITALTWINS T WHERE "
        return base + " ".join(draw(st.lists(st.one_of(query_fragments, nasty_text), max_size=8)))
    return " ".join(draw(st.lists(st.one_of(query_fragments, nasty_text), min_size=1, max_size=12)))


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    """A few twins, a relationship and readings, so that routes find something to work on."""
    twins = {
        "fz-d": {"$metadata": {"$model": M + "District;1"}, "name": "D", "population": 10},
        "fz-b": building(20.0, geometry={"type": "Point", "coordinates": [138.86, 35.1]}),
        "fz-r": {
            "$metadata": {"$model": M + "RiverStation;1"},
            "serialNumber": "R",
            "floodWarningLevel": 3.0,
        },
        "fz-p": {"$metadata": {"$model": M + "Pump;1"}, "name": "P", "setpoint": 1.0},
    }
    for twin_id, doc in twins.items():
        assert client.put(f"/twins/{twin_id}", json=doc).status_code == 201
    rel = {"$relationshipName": "locatedIn", "$targetId": "fz-d"}
    assert client.put("/twins/fz-b/relationships/r1", json=rel).status_code == 201
    readings = [{"name": "waterLevel", "ts": 1_700_000_000_000 + i * 60_000, "value": i / 10} for i in range(5)]
    assert client.post("/twins/fz-r/telemetry", json=readings).status_code == 202
    return client


def openapi_routes(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    document = client.get("/openapi.json").json()
    return [
        (path, method.upper(), operation)
        for path, item in document["paths"].items()
        if path not in STREAMING
        for method, operation in item.items()
    ]


# --- the random walk over the OpenAPI document ---------------------------------------------------


def test_openapi_lists_the_routes_that_the_fuzzing_covers(client: TestClient) -> None:
    paths = {path for path, _, _ in openapi_routes(client)}
    assert {"/twins/{twin_id}", "/models", "/query", "/telemetry", "/twins/{twin_id}/telemetry"} <= paths


@FUZZ
@given(data=st.data())
def test_every_route_answers_random_input_without_server_errors(seeded: TestClient, data: st.DataObject) -> None:
    routes = openapi_routes(seeded)
    path, method, operation = data.draw(st.sampled_from(routes), label="route")
    url = path
    for name in [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]:
        value = data.draw(ids, label=name)
        url = url.replace("{" + name + "}", segment(value, data.draw(st.booleans())) or "x")
    declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    params = data.draw(
        st.lists(st.tuples(st.one_of(st.sampled_from(declared or ["x"]), nasty_text), nasty_text), max_size=5),
        label="query",
    )
    sent_headers = data.draw(headers(), label="headers")
    body: bytes | None = None
    if method in ("POST", "PUT", "PATCH") or data.draw(st.booleans()):
        body = data.draw(
            st.one_of(
                json_bodies(),
                raw_bodies,
                ndjson_bodies(),
                twin_document().map(dumps),
                json_patch().map(dumps),
                telemetry_record().map(lambda r: dumps([r])),
                query_text().map(lambda q: dumps({"query": q})),
            ),
            label="body",
        )
    response = seeded.request(method, url, params=params, headers=sent_headers, content=body)
    assert_contract(response)


# --- structured but wrong documents, route by route ------------------------------------------------


@FUZZ
@given(twin_id=ids, document=twin_document(), extra=headers())
def test_put_twin(seeded: TestClient, twin_id: str, document: Any, extra: dict[str, bytes]) -> None:
    extra.pop("content-type", None)
    url = "/twins/" + quote(twin_id, safe="")
    assert_contract(seeded.put(url, content=dumps(document), headers={**extra, "content-type": "application/json"}))


@FUZZ
@given(twin_id=ids, operations=json_patch(), if_match=st.one_of(st.none(), header_text))
def test_patch_twin(seeded: TestClient, twin_id: str, operations: Any, if_match: str | None) -> None:
    extra = {"If-Match": if_match.encode("latin-1")} if if_match is not None else {}
    response = seeded.patch(
        "/twins/" + quote(twin_id, safe=""),
        content=dumps(operations),
        headers={**extra, "content-type": "application/json"},
    )
    assert_contract(response)


@FUZZ
@given(source=ids, rel_id=ids, document=relationship_document(), operations=json_patch())
def test_relationships(seeded: TestClient, source: str, rel_id: str, document: Any, operations: Any) -> None:
    url = f"/twins/{quote(source, safe='')}/relationships/{quote(rel_id, safe='') or 'x'}"
    json_type = {"content-type": "application/json"}
    assert_contract(seeded.put(url, content=dumps(document), headers=json_type))
    assert_contract(seeded.patch(url, content=dumps(operations), headers=json_type))
    assert_contract(seeded.get(url))
    assert_contract(seeded.patch("/twins/fz-b/relationships/r1", content=dumps(operations), headers=json_type))


@FUZZ
@given(document=dtdl_document(), model_id=ids, operations=json_patch())
def test_models(seeded: TestClient, document: Any, model_id: str, operations: Any) -> None:
    json_type = {"content-type": "application/json"}
    assert_contract(seeded.post("/models", content=dumps(document), headers=json_type))
    url = "/models/" + quote(model_id, safe="")
    assert_contract(seeded.get(url))
    assert_contract(seeded.patch(url, content=dumps(operations), headers=json_type))
    assert_contract(seeded.get("/models", params={"includeModelDefinition": model_id}))


@FUZZ
@given(
    records=st.lists(telemetry_record(), max_size=5),
    twin_id=ids,
    ndjson=st.booleans(),
    garbage=st.one_of(st.none(), raw_bodies),
)
def test_post_telemetry(
    seeded: TestClient, records: list[Any], twin_id: str, ndjson: bool, garbage: bytes | None
) -> None:
    if ndjson:
        lines = [dumps(r) for r in records] + ([garbage.replace(b"\n", b" ")] if garbage is not None else [])
        body, content_type = b"\n".join(lines), "application/x-ndjson"
    else:
        body, content_type = dumps(records), "application/json"
    headers = {"content-type": content_type}
    assert_contract(seeded.post("/telemetry", content=body, headers=headers))
    assert_contract(seeded.post("/twins/fz-r/telemetry", content=body, headers=headers))
    assert_contract(seeded.post(f"/twins/{quote(twin_id, safe='')}/telemetry", content=body, headers=headers))


history_values = st.one_of(
    st.none(),
    nasty_text,
    st.sampled_from(
        ["1m", "15min", "1h", "PT5M", "0", "-1m", "1us", "P1Y", "1e400", "999999999999999999999h", "avg,min"]
    ),
    numbers.map(str),
)


@FUZZ
@given(
    name=st.one_of(st.none(), st.sampled_from(["waterLevel", "nope"]), nasty_text),
    start=history_values,
    end=history_values,
    bucket=history_values,
    agg=st.one_of(st.none(), st.sampled_from(["avg", "avg,min,max", "sum,count,first,last", ",,", "nope"]), nasty_text),
    limit=st.one_of(st.none(), numbers.map(str), nasty_text),
    twin_id=st.sampled_from(["fz-r", "fz-b", "fz-missing"]),
)
def test_telemetry_history(
    seeded: TestClient,
    name: str | None,
    start: str | None,
    end: str | None,
    bucket: str | None,
    agg: str | None,
    limit: str | None,
    twin_id: str,
) -> None:
    params = {
        k: v
        for k, v in {
            "name": name,
            "from": start,
            "to": end,
            "bucket": bucket,
            "agg": agg,
            "limit": limit,
        }.items()
        if v is not None
    }
    assert_contract(seeded.get(f"/twins/{twin_id}/telemetry", params=params))


@FUZZ
@given(
    text=st.one_of(query_text(), nasty_text),
    token=st.one_of(st.none(), nasty_text, json_values),
    page=st.one_of(st.none(), header_text),
)
def test_query(seeded: TestClient, text: str, token: Any, page: str | None) -> None:
    headers = {"content-type": "application/json"}
    if page is not None:
        headers["max-items-per-page"] = page
    body: dict[str, Any] = {"query": text}
    if token is not None:
        body["continuationToken"] = token
    response = seeded.post("/query", content=dumps(body), headers={k: v.encode("latin-1") for k, v in headers.items()})
    assert_contract(response)
    if response.status_code == 200 and response.json()["continuationToken"]:
        again = {
            "query": text,
            "continuationToken": response.json()["continuationToken"] + token_suffix(text),
        }
        assert_contract(seeded.post("/query", content=dumps(again), headers={"content-type": "application/json"}))


def token_suffix(text: str) -> str:
    """A tampered continuation token."""
    return text[:3]


@FUZZ
@given(model=st.one_of(st.none(), nasty_text), after=st.one_of(st.none(), nasty_text), limit=history_values)
def test_list_twins(seeded: TestClient, model: str | None, after: str | None, limit: str | None) -> None:
    params = {k: v for k, v in {"model": model, "after": after, "limit": limit}.items() if v is not None}
    assert_contract(seeded.get("/twins", params=params))


def test_events_with_bad_query_parameters(seeded: TestClient, live_server: Any) -> None:
    """/events streams for ever, so it is sent bad parameters once, on a real server."""
    assert_contract(seeded.post("/events"))
    params = [("twinId", "%ff"), ("twinId", ""), ("type", "nope"), ("model", "\x00双子"), ("model", ",,,")]
    with (
        httpx.Client(base_url=live_server.url, timeout=5) as http,
        http.stream("GET", "/events", params=params) as response,
    ):
        if response.status_code >= 400:
            response.read()
        assert_contract(response)
        if response.status_code == 200:
            assert next(response.iter_bytes()).startswith(b"retry:")
