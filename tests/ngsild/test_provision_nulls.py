"""NGSI-LD Null in writes and the ``type`` selector of writes to one entity (GS CIM 009 4.5, 4.17, 5.6)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ngsild.conftest import BASE

NULL = "urn:ngsi-ld:null"
PUMP = "urn:ngsi-ld:PumpStation:kanda-3"


def _create(client: TestClient, **attrs: Any) -> None:
    response = client.post(f"{BASE}/entities", json={"id": PUMP, "type": "PumpStation", **attrs})
    assert response.status_code == 201, response.text


def _get(client: TestClient) -> dict[str, Any]:
    response = client.get(f"{BASE}/entities/{PUMP}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


BAD = "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


@pytest.mark.parametrize(
    "attrs",
    [
        {"settings": {"type": "Property", "value": NULL}},
        {"operator": {"type": "Relationship", "object": NULL}},
        {"settings": {"type": "Property", "value": {"mode": "auto", "limits": {"low": 0.4, "high": NULL}}}},
        {"label": {"type": "LanguageProperty", "languageMap": {"@none": NULL}}},
        {"flow": {"type": "Property", "value": 31.5, "accuracy": {"type": "Property", "value": NULL}}},
        {"scope": NULL},
    ],
)
def test_the_null_is_refused_on_create(client: TestClient, attrs: dict[str, Any]) -> None:
    """5.2.1: only a merge or an update may carry the NGSI-LD Null; anywhere else it is invalid, not dropped."""
    response = client.post(f"{BASE}/entities", json={"id": PUMP, "type": "PumpStation", **attrs})
    assert response.status_code == 400 and response.json()["type"] == BAD, response.text
    assert client.get(f"{BASE}/entities/{PUMP}").status_code == 404


def test_a_json_property_may_hold_the_null_string(client: TestClient) -> None:
    """A JsonProperty's json is a JSON literal, never expanded: the string is data there."""
    _create(client, raw={"type": "JsonProperty", "json": {"reset": NULL}})
    assert _get(client)["raw"]["json"] == {"reset": NULL}


def test_a_null_inside_a_value_is_refused_by_a_partial_update(client: TestClient) -> None:
    _create(client, settings={"type": "Property", "value": {"mode": "auto", "rpm": 1450}})
    response = client.patch(f"{BASE}/entities/{PUMP}/attrs/settings", json={"value": {"mode": "manual", "rpm": NULL}})
    assert response.status_code == 400 and response.json()["type"] == BAD, response.text
    assert _get(client)["settings"]["value"] == {"mode": "auto", "rpm": 1450}  # left as it was


def test_a_partial_update_deletes_a_sub_attribute_given_null(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5, "accuracy": {"type": "Property", "value": 0.2}})
    response = client.patch(f"{BASE}/entities/{PUMP}/attrs/flow", json={"value": 30.1, "accuracy": NULL})
    assert response.status_code == 204, response.text
    assert _get(client)["flow"] == {"type": "Property", "value": 30.1}


def test_merge_patches_an_object_value_and_null_removes_a_member(client: TestClient) -> None:
    _create(
        client,
        settings={"type": "Property", "value": {"mode": "auto", "rpm": 1450, "limits": {"low": 0.4, "high": 2.5}}},
        flow={"type": "Property", "value": 31.5, "unitCode": "G51"},
        operator={"type": "Relationship", "object": "urn:ngsi-ld:Company:tokyo-water"},
    )
    patch = {
        "settings": {"type": "Property", "value": {"rpm": NULL, "limits": {"high": NULL, "max": 3.0}}},
        "flow": {"type": "Property", "value": NULL},
        "operator": {"type": "Relationship", "object": NULL},
    }
    response = client.patch(f"{BASE}/entities/{PUMP}", json=patch)
    assert response.status_code == 204, response.text
    got = _get(client)
    assert got["settings"]["value"] == {"mode": "auto", "limits": {"low": 0.4, "max": 3.0}}
    assert "flow" not in got and "operator" not in got
    assert NULL not in str(got)


def test_merge_with_null_deletes_a_sub_attribute_only(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5, "accuracy": {"type": "Property", "value": 0.2}})
    response = client.patch(f"{BASE}/entities/{PUMP}", json={"flow": {"value": 29.0, "accuracy": NULL}})
    assert response.status_code == 204, response.text
    assert _get(client)["flow"] == {"type": "Property", "value": 29.0}


def test_batch_merge_and_create_treat_null_as_the_single_entity_routes_do(client: TestClient) -> None:
    _create(client, settings={"type": "Property", "value": {"mode": "auto", "rpm": 1450}}, label="Kanda 3")
    merged = client.post(
        f"{BASE}/entityOperations/merge",
        json=[{"id": PUMP, "type": "PumpStation", "settings": {"value": {"rpm": NULL}}, "label": NULL}],
    )
    assert merged.status_code == 204, merged.text
    got = _get(client)
    assert got["settings"]["value"] == {"mode": "auto"} and "label" not in got
    other = "urn:ngsi-ld:PumpStation:kanda-4"
    created = client.post(
        f"{BASE}/entityOperations/create",
        json=[{"id": other, "type": "PumpStation", "settings": {"type": "Property", "value": {"a": 1, "b": NULL}}}],
    )
    assert created.status_code == 207, created.text  # that entity fails alone, as on POST /entities
    assert created.json()["errors"][0]["error"]["type"] == BAD
    assert client.get(f"{BASE}/entities/{other}").status_code == 404


def test_a_null_item_or_an_empty_array_fails_the_whole_batch(client: TestClient) -> None:
    for operation in ("create", "upsert", "merge", "delete"):
        for body in ([{"id": PUMP, "type": "PumpStation"}, None], []):
            response = client.post(f"{BASE}/entityOperations/{operation}", json=body)
            assert response.status_code == 400, (operation, body)
            assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert client.get(f"{BASE}/entities/{PUMP}").status_code == 404


def test_delete_with_a_type_selector_spares_an_entity_of_another_type(client: TestClient) -> None:
    _create(client)
    refused = client.delete(f"{BASE}/entities/{PUMP}", params={"type": "Reservoir"})
    assert refused.status_code == 404
    assert refused.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
    assert client.get(f"{BASE}/entities/{PUMP}").status_code == 200
    assert client.delete(f"{BASE}/entities/{PUMP}", params={"type": "PumpStation"}).status_code == 204
    assert client.get(f"{BASE}/entities/{PUMP}").status_code == 404


def test_attribute_writes_honour_the_type_selector(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5})
    url = f"{BASE}/entities/{PUMP}/attrs/flow"
    assert client.patch(url, params={"type": "Reservoir"}, json={"value": 1.0}).status_code == 404
    assert client.delete(url, params={"type": "Reservoir"}).status_code == 404
    assert _get(client)["flow"]["value"] == 31.5
    assert client.patch(url, params={"type": "PumpStation"}, json={"value": 30.0}).status_code == 204
    assert _get(client)["flow"]["value"] == 30.0


def test_scope_is_no_attribute_to_update_partially(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5})
    response = client.patch(f"{BASE}/entities/{PUMP}/attrs/scope", json={"value": "/Tokyo"})
    assert response.status_code == 400
    assert response.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


def test_update_attributes_with_a_null_value_deletes_the_attribute(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5, "unitCode": "G51"}, label="Kanda 3")
    response = client.patch(f"{BASE}/entities/{PUMP}/attrs", json={"flow": {"type": "Property", "value": NULL}})
    assert response.status_code == 204, response.text
    got = _get(client)
    assert "flow" not in got and got["label"]["value"] == "Kanda 3"


def test_a_partial_update_of_members_keeps_the_value(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5, "unitCode": "G51"})
    url = f"{BASE}/entities/{PUMP}/attrs/flow"
    assert client.patch(url, json={"unitCode": "MQH"}).status_code == 204
    assert _get(client)["flow"] == {"type": "Property", "value": 31.5, "unitCode": "MQH"}
    refused = client.patch(url, json={"datasetId": NULL})
    assert refused.status_code == 400
    assert _get(client)["flow"]["value"] == 31.5


def test_batch_update_deletes_an_attribute_given_null(client: TestClient) -> None:
    _create(client, flow={"type": "Property", "value": 31.5}, label="Kanda 3")
    body = [{"id": PUMP, "type": "PumpStation", "flow": {"type": "Property", "value": NULL}, "head": 12.5}]
    response = client.post(f"{BASE}/entityOperations/update", json=body)
    assert response.status_code == 204, response.text
    got = _get(client)
    assert "flow" not in got and got["head"]["value"] == 12.5 and got["label"]["value"] == "Kanda 3"
