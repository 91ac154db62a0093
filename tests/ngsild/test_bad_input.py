"""Bad input never crashes an NGSI-LD route: random bodies, parameters and headers get 4xx problems, never 5xx."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_no_server_errors import assert_contract, headers, json_bodies, nasty_text, raw_bodies
from tests.ngsild.conftest import BASE

ROUTES = [
    ("POST", "/entities"),
    ("GET", "/entities"),
    ("GET", "/entities/{id}"),
    ("PUT", "/entities/{id}"),
    ("PATCH", "/entities/{id}"),
    ("DELETE", "/entities/{id}"),
    ("POST", "/entities/{id}/attrs"),
    ("PATCH", "/entities/{id}/attrs"),
    ("PATCH", "/entities/{id}/attrs/{attr}"),
    ("PUT", "/entities/{id}/attrs/{attr}"),
    ("DELETE", "/entities/{id}/attrs/{attr}"),
    ("POST", "/entityOperations/upsert"),
    ("POST", "/temporal/entities"),
    ("GET", "/temporal/entities/{id}"),
    ("POST", "/temporal/entities/{id}/attrs"),
    ("PATCH", "/temporal/entities/{id}/attrs/{attr}/{instance}"),
    ("DELETE", "/temporal/entities/{id}/attrs/{attr}/{instance}"),
]
PARAMS = [
    "type",
    "id",
    "idPattern",
    "attrs",
    "pick",
    "omit",
    "options",
    "format",
    "lang",
    "limit",
    "offset",
    "count",
    "datasetId",
    "deleteAll",
]
ATTRIBUTE = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                [
                    "Property",
                    "Relationship",
                    "GeoProperty",
                    "LanguageProperty",
                    "JsonProperty",
                    "ListProperty",
                    "VocabProperty",
                    "Nope",
                ]
            )
            # any JSON may stand where a kind is named (a dict there once crashed the instance parser)
            | st.dictionaries(nasty_text, st.integers(), max_size=2)
            | st.lists(st.integers(), max_size=2)
        },
        optional={
            "value": st.none() | st.integers() | nasty_text | st.lists(st.integers()),
            "object": nasty_text,
            "languageMap": st.dictionaries(nasty_text, nasty_text),
            "json": st.none() | nasty_text,
            "valueList": st.integers() | st.lists(nasty_text),
            "vocab": st.integers() | nasty_text,
            "datasetId": st.integers() | nasty_text,
            "observedAt": st.integers() | nasty_text,
        },
    ),
    nasty_text,
    st.integers(),
)


@st.composite
def entity_bodies(draw: st.DrawFn) -> bytes:
    body: dict[str, Any] = {"id": draw(st.sampled_from(["urn:ngsi-ld:T:1", "urn:x"]) | nasty_text)}
    if draw(st.booleans()):
        body["type"] = draw(st.sampled_from(["T", "dtmi:futago:demo:Building;1", "dtmi:x:Y;1"]) | nasty_text)
    body.update(
        draw(st.dictionaries(st.sampled_from(["a", "location", "@context", "x:y"]) | nasty_text, ATTRIBUTE, max_size=4))
    )
    return json.dumps(body).encode()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_random_requests_get_problems_not_server_errors(client: TestClient, data: st.DataObject) -> None:
    client.post(f"{BASE}/entities", json={"id": "urn:ngsi-ld:T:1", "type": "T", "a": {"type": "Property", "value": 1}})
    method, path = data.draw(st.sampled_from(ROUTES), label="route")
    entity = data.draw(st.sampled_from(["urn:ngsi-ld:T:1", "urn:x"]) | nasty_text)
    attr = data.draw(st.sampled_from(["a", "location"]) | nasty_text.filter(bool))
    instance = data.draw(st.sampled_from(["urn:ngsi-ld:Instance:1"]) | nasty_text.filter(bool), label="instance")
    url = BASE + path.replace("{id}", quote(entity or "x", safe=":")).replace("{attr}", quote(attr, safe=""))
    url = url.replace("{instance}", quote(instance, safe=":"))
    params = data.draw(st.lists(st.tuples(st.sampled_from(PARAMS), nasty_text), max_size=4), label="params")
    sent = data.draw(headers(), label="headers")
    sent.update(
        data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "Content-Type": st.sampled_from([b"application/json", b"application/ld+json", b"text/plain"]),
                    "Accept": st.sampled_from(
                        [b"application/geo+json", b"application/ld+json", b"text/html", b"*/*;q=x"]
                    ),
                    "Link": st.sampled_from(
                        [b'<urn:x>; rel="http://www.w3.org/ns/json-ld#context"', b"<>", b"garbage"]
                    ),
                    "NGSILD-Tenant": st.sampled_from([b"t1", b"~", b"a b"]),
                },
            ),
            label="ngsi-ld headers",
        )
    )
    body = data.draw(st.one_of(entity_bodies(), json_bodies(), raw_bodies), label="body")
    response = client.request(method, url, params=params, headers=sent, content=body)
    assert_contract(response)


def test_an_attribute_kind_that_is_no_string_is_a_bad_request(client: TestClient) -> None:
    """A kind written as an object or a list (valid JSON, unhashable in Python) is a 400 on every door."""
    entity = {
        "id": "urn:ngsi-ld:T:2",
        "type": "T",
        "a": {"type": "Property", "value": 1, "observedAt": "2026-12-07T00:00:00Z"},
    }
    assert client.post(f"{BASE}/temporal/entities", json=entity).status_code == 201
    instance = client.get(f"{BASE}/temporal/entities/urn:ngsi-ld:T:2").json()["a"]
    instance_id = (instance[0] if isinstance(instance, list) else instance)["instanceId"]
    for kind in ({"a": 1}, [1]):
        fragment = {"a": {"type": kind, "value": 2}}
        answers = [
            client.post(f"{BASE}/entities", json={"id": "urn:ngsi-ld:T:3", "type": "T", **fragment}),
            client.post(f"{BASE}/temporal/entities/urn:ngsi-ld:T:2/attrs", json=fragment),
            client.patch(f"{BASE}/temporal/entities/urn:ngsi-ld:T:2/attrs/a/{instance_id}", json=fragment),
        ]
        for answer in answers:
            assert answer.status_code == 400, answer.text
            assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
