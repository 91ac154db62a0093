"""A command binding stored through a process that does not lead reaches the leader at once (not at its next start):
on PostgreSQL with NATS, two Apps stand for two API processes; B leads, the operator's PUT and DELETE land on A. The
leader's envelope reads the new mode at once (a rule's proposal is approved by itself in autonomous mode), and a
binding changed while no notice could reach B is read again when B takes the lead."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from futago import samples
from futago.act.model import Proposal
from futago.api.server import create_api
from futago.app import App, build, leadership_for
from futago.config import Settings
from futago.core.errors import NotFound
from futago.core.fence import acting
from futago.scale.lease import PostgresLease
from futago.scenarios.field import FLOODGATE, gate_connection
from tests.conftest import Broker

TRANSPORT = {"type": "mqtt", "connection": "gates", "topic": "gates/{twin}/cmd/{command}", "timeout": "5s"}


@pytest.fixture
def hosts(postgres_url: str, nats_url: str, tmp_path: Path, broker: Broker) -> Iterator[tuple[App, App]]:
    """(A, B): two processes of one cluster, without any binding; B leads."""
    settings = Settings(
        db=postgres_url, data_root=str(tmp_path), nats=nats_url,
        connections={"gates": gate_connection(broker.host, broker.port)},
    )  # fmt: skip
    b = build(settings)
    b.models.add(samples.demo_models())
    b.twins.put("gate-1", {"$metadata": {"$model": FLOODGATE}})
    a = build(settings)
    a.connections.runs_connectors = False  # as a server that does not lead knows them (App.start)
    a.connections.load(settings.connections, start=False)
    try:
        assert b.scale is not None
        lead = b.scale.leadership = leadership_for(b, PostgresLease(postgres_url, ttl_s=1.5))
        lead.start()
        assert b.fence.holds()
        yield a, b
    finally:
        a.close()
        b.close()


def soon(check: Callable[[], bool], timeout_s: float = 5.0) -> float:
    """Seconds until ``check`` held."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "not within the time allowed"
        time.sleep(0.02)
    return time.monotonic() - started


def mode_on(app: App) -> str | None:
    try:
        return app.commands.binding("gate-1", "closeGate").mode
    except NotFound:
        return None


def test_a_binding_put_on_another_process_reaches_the_leader_at_once(hosts: tuple[App, App]) -> None:
    a, b = hosts
    with TestClient(create_api(a), raise_server_exceptions=False) as on_a:
        put = on_a.put("/command-bindings/gate-1/closeGate", json={"mode": "recommend", "transport": TRANSPORT})
        assert put.status_code in (200, 201), put.text
        assert soon(lambda: mode_on(b) == "recommend") < 2.0

        changed = {"mode": "autonomous", "transport": TRANSPORT}
        assert on_a.put("/command-bindings/gate-1/closeGate", json=changed).status_code == 200
        soon(lambda: mode_on(b) == "autonomous")
        with acting(b.fence.token):  # the leader's rule engine recommends: autonomous now, approved by itself
            proposed = b.commands.propose(Proposal("gate-1", "closeGate", None, "rule:flood-danger", {}, None))
        assert proposed["state"] != "proposed" and proposed["mode"] == "autonomous"

        assert on_a.delete("/command-bindings/gate-1/closeGate").status_code == 204
        soon(lambda: mode_on(b) is None)


def test_a_binding_missed_while_away_is_read_when_the_process_takes_the_lead(
    hosts: tuple[App, App], postgres_url: str
) -> None:
    a, b = hosts
    # Stored without a notice (as if B's link had been down): A reads it when it takes the lead.
    b.store.put_command_binding("gate-1", "closeGate", {"mode": "recommend", "transport": TRANSPORT})
    assert mode_on(a) is None
    assert b.scale is not None and b.scale.leadership is not None and a.scale is not None
    b.scale.leadership.close()  # B goes: its lease is given back
    lead_a = a.scale.leadership = leadership_for(a, PostgresLease(postgres_url, ttl_s=1.5))
    lead_a.start()
    soon(lambda: a.fence.holds(), 10.0)
    assert mode_on(a) == "recommend"
