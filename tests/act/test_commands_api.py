"""The commands API: the flood scenario's approval path end to end (a real Mosquitto and gate device), and every
client mistake answered as RFC 9457 problem+json, never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from futago.act.commands import CommandService
from futago.act.model import Proposal
from futago.api.commands import router
from futago.api.server import create_api
from futago.app import App
from tests.act.gate_device import FLOODGATE, attach_commands, gate_connection, running_gate
from tests.conftest import Broker

TRANSPORT = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}", "timeout": "5s"}
BINDING = {
    "mode": "recommend",
    "transport": TRANSPORT,
    "envelope": {"interlocks": [{"telemetry": "flow", "above": 5, "max_age": "1h"}]},
}


@pytest.fixture
def gates(app: App) -> App:
    app.twins.put("gate-1", {"$metadata": {"$model": FLOODGATE}})
    return app


@pytest.fixture
def service(gates: App) -> Iterator[CommandService]:
    service = attach_commands(gates)
    yield service
    service.close()


def client_for(app: App) -> TestClient:
    api = create_api(app)
    if not any(getattr(route, "path", None) == "/commands" for route in api.routes):  # until server.py has it
        api.include_router(router)
    return TestClient(api, raise_server_exceptions=False)


@pytest.fixture
def client(gates: App, service: CommandService) -> Iterator[TestClient]:
    with client_for(gates) as test_client:
        yield test_client


def assert_problem(response: httpx.Response, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body["errors"]], body
    return body


@pytest.mark.timeout(60)
def test_an_operator_approves_a_recommendation_and_the_gate_closes(
    gates: App, service: CommandService, client: TestClient, broker: Broker
) -> None:
    gates.connections.put("gates", gate_connection(broker.host, broker.port), persist=False)
    with running_gate(broker.host, broker.port) as device:
        created = client.put("/command-bindings/gate-1/closeGate", json=BINDING)
        assert created.status_code == 201 and created.headers["location"] == "/command-bindings/gate-1/closeGate"
        assert client.put("/command-bindings/gate-1/closeGate", json=BINDING).status_code == 200
        assert client.get("/command-bindings?twin=gate-1").json()["value"][0]["source"] == "api"

        # The gate reports its flow over MQTT; the interlock reads it from the twin.
        device.publish_flow("gate-1", 1.5)
        deadline = time.monotonic() + 10
        while "flow" not in gates.store.latest("gate-1"):
            assert time.monotonic() < deadline, "the flow reading did not arrive"
            time.sleep(0.05)

        # A rule recommends closing the gate (what the flood scenario's rule engine does through propose()).
        evidence = {"waterLevel": 4.6, "dangerLevel": 4.5}
        proposed = service.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger", evidence, "alert-1"))
        pending = client.get("/commands", params={"state": "proposed", "twin": "gate-1"}).json()["value"]
        assert [p["id"] for p in pending] == [proposed["id"]] and pending[0]["evidence"] == evidence
        assert device.requests == []

        answer = client.post(f"/commands/{proposed['id']}/approve", json={"note": "river camera confirms"})
        assert answer.status_code == 200, answer.text
        done = answer.json()
        assert done["state"] == "completed" and done["approvedBy"] == "local-admin"
        assert done["note"] == "river camera confirms" and done["resultState"] == {"position": 0.0}
        assert device.requests[0]["correlationId"] == done["id"] and device.position == {"gate-1": 0.0}
        assert client.get(f"/commands/{done['id']}").json() == done

        # A person's own request goes through the same mode: it waits for approval, then can be rejected.
        requested = client.post("/twins/gate-1/commands/closeGate", json={"payload": None, "note": "test"})
        assert requested.status_code == 201 and requested.json()["state"] == "proposed"
        assert requested.headers["location"] == f"/commands/{requested.json()['id']}"
        assert requested.json()["proposedBy"] == "local-admin"
        rejected = client.post(f"/commands/{requested.json()['id']}/reject", json={"reason": "already closed"})
        assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
        assert_problem(client.post(f"/commands/{requested.json()['id']}/approve"), 409)

        # The flow rises: approval is refused by the interlock, and the gate hears nothing.
        device.publish_flow("gate-1", 9.0)
        while gates.store.latest("gate-1")["flow"].value != 9.0:
            assert time.monotonic() < deadline + 10, "the second flow reading did not arrive"
            time.sleep(0.05)
        again = client.post("/twins/gate-1/commands/closeGate", json={}).json()
        refused = client.post(f"/commands/{again['id']}/approve").json()
        assert refused["state"] == "refused" and refused["reasons"][0]["check"] == "interlock"
        assert len(device.requests) == 1


def test_autonomous_requests_answer_with_the_outcome(gates: App, client: TestClient) -> None:
    binding = {**BINDING, "mode": "autonomous", "envelope": {"field": "percent", "min": 0, "max": 100}}
    binding["transport"] = {**TRANSPORT, "timeout": "200ms"}
    gates.connections.put("gates", gate_connection("127.0.0.1", 1), persist=False)  # no broker: nothing answers
    assert client.put("/command-bindings/gate-1/setOpening", json=binding).status_code == 201
    outside = client.post("/twins/gate-1/commands/setOpening", json={"payload": {"percent": 150}})
    assert outside.status_code == 201 and outside.json()["state"] == "refused"
    inside = client.post("/twins/gate-1/commands/setOpening?wait=0", json={"payload": {"percent": 50}})
    assert inside.status_code == 202 and inside.json()["state"] in ("approved", "sent")
    failed = client.get(f"/commands/{inside.json()['id']}").json()
    deadline = time.monotonic() + 5
    while failed["state"] not in ("failed", "completed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        failed = client.get(f"/commands/{inside.json()['id']}").json()
    assert failed["state"] == "failed" and "cannot reach the broker" in failed["error"]


def test_mistakes_are_problems_with_pointers(gates: App, client: TestClient) -> None:
    gates.connections.put("gates", gate_connection("127.0.0.1", 1), persist=False)
    assert client.put("/command-bindings/gate-1/setOpening", json=BINDING).status_code == 201
    post = client.post

    assert_problem(
        post("/twins/gate-1/commands/setOpening", json={"payload": {"percent": "half"}}), 422, "/payload/percent"
    )
    assert_problem(post("/twins/gate-1/commands/setOpening", json={"payload": {"tilt": 1}}), 422, "/payload/tilt")
    assert_problem(post("/twins/gate-1/commands/setOpening", json={}), 422, "/payload")
    assert_problem(post("/twins/gate-1/commands/closeGate", json={"payload": 3}), 422, "/payload")
    assert_problem(post("/twins/gate-1/commands/closeGate", json={"payload": None, "urgency": 1}), 422, "/urgency")
    assert_problem(post("/twins/gate-1/commands/closeGate", json={"note": 5}), 422, "/note")
    assert_problem(post("/twins/gate-1/commands/closeGate", json=[1, 2]), 422)
    assert_problem(post("/twins/gate-1/commands/closeGate", content=b"{not json"), 422)
    assert_problem(post("/twins/gate-1/commands/closeGate?wait=-1", json={}), 422, "/wait")
    assert_problem(post("/twins/gate-1/commands/closeGate?wait=nan", json={}), 422, "/wait")
    assert_problem(post("/twins/gate-9/commands/closeGate", json={}), 404)
    assert_problem(post("/twins/gate-1/commands/openSesame", json={}), 404)
    assert_problem(post("/commands/nope/approve"), 404)
    assert_problem(post("/commands/nope/reject", json={"reason": 7}), 422, "/reason")
    assert_problem(client.get("/commands/nope"), 404)
    assert_problem(client.get("/commands?state=lost"), 422, "/state")
    assert_problem(client.get("/commands?limit=0"), 422, "/limit")

    put = client.put
    bad_envelope = {**BINDING, "envelope": {"min": "low"}}
    assert_problem(put("/command-bindings/gate-1/setOpening", json=bad_envelope), 422, "/envelope/min")
    no_connection = {**BINDING, "transport": {**TRANSPORT, "connection": "gone"}}
    assert_problem(put("/command-bindings/gate-1/setOpening", json=no_connection), 422, "/transport/connection")
    assert_problem(put("/command-bindings/gate-1/setOpening", json={**BINDING, "mode": "yolo"}), 422, "/mode")
    assert_problem(put("/command-bindings/gate-1/setOpening", json="x"), 422)
    assert_problem(put("/command-bindings/gate-9/closeGate", json=BINDING), 404)
    assert_problem(put("/command-bindings/gate-1/openSesame", json=BINDING), 404)
    assert_problem(client.get("/command-bindings/gate-1/closeGate"), 404)
    assert_problem(client.delete("/command-bindings/gate-1/closeGate"), 404)
    assert client.delete("/command-bindings/gate-1/setOpening").status_code == 204


def test_without_a_command_service_the_routes_answer_503(gates: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gates, "commands", None, raising=False)
    with client_for(gates) as client:
        assert_problem(client.get("/commands"), 503)
        assert_problem(client.post("/twins/gate-1/commands/closeGate", json={}), 503)
