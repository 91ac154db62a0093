"""/openapi.json describes the answers: at least 90 % of the operations declare a JSON schema for their success
answer (issue 16). An operation whose only success is 204 No Content declares exactly that: it has no body to
describe, so it counts as described; every other operation needs a schema."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _has_schema(response: dict[str, Any]) -> bool:
    return any(media.get("schema") for media in (response.get("content") or {}).values())


def _declares_its_answer(operation: dict[str, Any]) -> bool:
    successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
    return any(_has_schema(answer) for answer in successes.values()) or set(successes) == {"204"}


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
