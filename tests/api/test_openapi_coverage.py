"""/openapi.json describes the answers: at least 90 % of the operations declare a JSON schema for their success
answer (issue 16), counted literally: an operation counts when one of its 2xx answers has a JSON content schema,
and one that only answers 204 No Content does not. (The deletes answer 200 with the resource under RFC 7240
``Prefer: return=representation``, so they have a schema to declare: api/prefer.py.)"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _has_schema(response: dict[str, Any]) -> bool:
    return any(media.get("schema") for media in (response.get("content") or {}).values())


def _declares_its_answer(operation: dict[str, Any]) -> bool:
    return any(_has_schema(answer) for status, answer in operation["responses"].items() if status.startswith("2"))


def test_at_least_90_percent_of_operations_declare_their_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    undeclared = sorted(name for name, operation in operations.items() if not _declares_its_answer(operation))
    share = 1 - len(undeclared) / len(operations)
    assert share >= 0.9, f"{share:.0%} of {len(operations)} operations declare their answer; not: {undeclared}"


def test_json_answers_name_their_fields(client: TestClient) -> None:
    """A declared JSON schema is a model of the answer (a $ref or a type), not the empty schema."""
    document = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                schema = ((answer.get("content") or {}).get("application/json") or {}).get("schema")
                if status.startswith("2") and schema is not None:
                    assert schema, f"{method.upper()} {path} answers {status} with an empty schema"


# -- request bodies ------------------------------------------------------------------------------------------

#: Bodies that are documents of a standard of their own, described by that standard rather than by a model:
#: DTDL Interfaces, twin and relationship documents (their properties are their model's) and JSON Patches.
#: NDJSON telemetry is a text stream; its JSON alternative is checked like any other body.
_DOCUMENT_BODIES = {
    "POST /models",
    "PATCH /models/{model_id}",
    "PUT /twins/{twin_id}",
    "PATCH /twins/{twin_id}",
    "PUT /twins/{twin_id}/relationships/{rel_id}",
    "PATCH /twins/{twin_id}/relationships/{rel_id}",
}


def _names_its_fields(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A schema with properties: itself, through a $ref, or (for a list of records) its items, in every branch."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        return all(_names_its_fields(branch, components) for branch in schema["anyOf"])
    if schema.get("type") == "array":
        return _names_its_fields(schema.get("items") or {}, components)
    return bool(schema.get("properties"))


def test_every_request_body_names_its_fields(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    components = document.get("components", {}).get("schemas", {})
    bodies = {
        f"{method.upper()} {path}": operation["requestBody"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert set(bodies) >= _DOCUMENT_BODIES, "a document body listed here is gone: update the list"
    unnamed = sorted(
        name
        for name, body in bodies.items()
        if name not in _DOCUMENT_BODIES
        and not _names_its_fields((body["content"].get("application/json") or {}).get("schema") or {}, components)
    )
    assert not unnamed, f"request bodies without a model of their fields: {unnamed}"


def test_a_documented_body_is_still_checked_by_its_parser(client: TestClient) -> None:
    """The models only document: a body of the wrong JSON type is refused as before, at the same pointer, by
    FastAPI for a route that takes an object and by the domain parser for one that takes anything."""
    refused = {
        ("PUT", "/behaviours/b1"): ("", "Input should be a valid dictionary"),
        ("PUT", "/subscribers/s1"): ("", "Input should be a valid dictionary"),
        ("PUT", "/rules/r1"): ("/", "a rule is a JSON object"),
        ("POST", "/policies"): ("/", "a policy entry is an object: subject, resource, permissions"),
        ("POST", "/alerts/a1/acknowledge"): ("", 'the body is empty or {"note": "..."}'),
        ("POST", "/keys"): ("/subject", "give the subject the key acts for, e.g. user:sato"),
    }
    for (method, url), (pointer, message) in refused.items():
        response = client.request(method, url, json=[1])
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"] == [{"pointer": pointer, "detail": message}], url
