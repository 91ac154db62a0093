"""A command approved through a process that does not lead is approved by the leader and sent once, by it (issue 20).

On PostgreSQL with NATS, two Apps stand for two API processes behind a load balancer: B leads, the operator's
requests land on A. A real Mosquitto broker carries the command to the scenarios' gate device. Without a leader
nothing is approved on A (503): the command stays proposed for a second try, instead of becoming an approval that no
dispatcher sends."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from futago import samples
from futago.act.model import Proposal
from futago.api.server import create_api
from futago.app import App, build, leadership_for
from futago.config import Settings
from futago.core.fence import acting
from futago.scale.lease import PostgresLease
from futago.scenarios.field import FLOODGATE, gate_connection, running_gate
from tests.conftest import Broker

TRANSPORT = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}", "timeout": "5s"}


def token_of(app: App, command_id: str) -> Any:
    row = app.store.db.read().execute("SELECT fence_token FROM commands WHERE id = ?", (command_id,)).fetchone()  # type: ignore[attr-defined]
    return row[0]


@pytest.fixture
def hosts(postgres_url: str, nats_url: str, tmp_path: Path, broker: Broker) -> Iterator[tuple[App, App]]:
    """(A, B): two processes of one cluster with the gate's binding configured (recommend mode); none leads yet."""
    binding = {"mode": "recommend", "transport": TRANSPORT}
    settings = Settings(
        db=postgres_url, data_root=str(tmp_path), nats=nats_url,
        connections={"gates": gate_connection(broker.host, broker.port)}, commands={"gate-1": {"closeGate": binding}},
    )  # fmt: skip
    b = build(settings)
    b.models.add(samples.demo_models())
    b.twins.put("gate-1", {"$metadata": {"$model": FLOODGATE}})
    a = build(settings)  # after the model and twin exist: it reads them at its start
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_an_approval_on_a_process_that_does_not_lead_is_sent_once_by_the_leader(
    hosts: tuple[App, App], postgres_url: str, broker: Broker
) -> None:
    a, b = hosts
    assert a.scale is not None and b.scale is not None
    with acting(None):  # a rule's recommendation, as the leader's rule engine would make it
        proposed = b.commands.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger", {}, None))
    command_id = proposed["id"]

    with TestClient(create_api(a), raise_server_exceptions=False) as on_a:
        # Nobody leads (the lead is moving): nothing is approved on A, the command waits for a second try.
        refused = on_a.post(f"/commands/{command_id}/approve", params={"wait": 0})
        assert refused.status_code == 503, refused.text
        assert "no process leads now" in refused.json()["detail"]
        assert a.commands.get(command_id)["state"] == "proposed"

        lead_b = b.scale.leadership = leadership_for(b, PostgresLease(postgres_url, ttl_s=1.5))
        lead_b.start()
        tb = lead_b.token
        assert tb is not None and b.fence.holds()
        lead_a = a.scale.leadership = leadership_for(a, PostgresLease(postgres_url, ttl_s=1.5))
        lead_a.start()  # stands by
        assert not lead_a.leading and not a.fence.holds()

        with running_gate(broker.host, broker.port) as device:
            answer = on_a.post(f"/commands/{command_id}/approve", json={"note": "camera checked"}, params={"wait": 15})
            assert answer.status_code == 200, answer.text
            done = answer.json()
            assert done["state"] == "completed" and done["approvedBy"] == "local-admin"
            assert done["note"] == "camera checked"
            assert [h["state"] for h in done["history"]] == ["proposed", "approved", "sent", "completed"]
            assert token_of(a, command_id) == tb  # every move after the approval written under B's lead
            time.sleep(1.0)  # a second send, from anywhere, would have reached the device by now
            assert [r["correlationId"] for r in device.requests] == [command_id]
            assert device.position == {"gate-1": 0.0}

            # The leader's own refusal comes back with its status, and sends nothing.
            again = on_a.post(f"/commands/{command_id}/approve")
            assert again.status_code == 409 and "is completed" in again.json()["detail"]

            # A person's request made on A is the leader's too: in recommend mode, a proposal carrying B's token.
            requested = on_a.post("/twins/gate-1/commands/closeGate", json={"payload": None, "note": "again"})
            assert requested.status_code == 201, requested.text
            assert requested.json()["state"] == "proposed" and requested.json()["proposedBy"] == "local-admin"
            assert token_of(a, requested.json()["id"]) == tb
            bad = on_a.post("/twins/gate-1/commands/closeGate", json={"payload": {"percent": 5}})
            assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/payload"  # checked on A
            assert len(device.requests) == 1
