"""Events routed by subject: a process receives the other processes' events only for what it follows, what its
SSE clients ask for, and everything while it leads; dashboards get per-type roll-ups."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest

from futago.core.events import EVENT_TYPES, TELEMETRY_APPENDED, TWIN_UPDATED, Event, EventBus
from futago.core.twins import now_iso
from futago.protocols.nats.link import NatsLink
from futago.scale.node import ScaleOut
from futago.scale.relay import STRUCTURE_EVENTS, EventRelay, event_subject, scope_of


class Process:
    """A bus and its relay, as one futago process holds them."""

    def __init__(self, url: str, name: str, follow: tuple[str, ...]) -> None:
        self.bus = EventBus()
        self.link = NatsLink(url, name)
        self.relay = EventRelay(self.bus, self.link, follow)
        self.seen: list[Event] = []
        self.bus.subscribe(lambda e: self.seen.append(e) if e.origin is not None else None)

    def close(self) -> None:
        self.relay.close()
        self.link.close()


@pytest.fixture
def pair(nats_url: str) -> Iterator[tuple[Process, Process]]:
    worker = Process(nats_url, "worker", STRUCTURE_EVENTS)
    api = Process(nats_url, "api", STRUCTURE_EVENTS)  # a server that does not lead
    try:
        yield worker, api
    finally:
        worker.close()
        api.close()


def reading(twin: str, value: float) -> Event:
    return Event(TELEMETRY_APPENDED, now_iso(), twin_id=twin, data={"name": "rainfall", "value": value})


def settle(*processes: Process, seconds: float = 0.3) -> None:
    for process in processes:
        process.relay.settle()
    time.sleep(seconds)  # NATS applies a subscription as it reads it; the publisher's flush comes after


def wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_process_without_clients_gets_no_events_of_a_type_nobody_watches(pair: tuple[Process, Process]) -> None:
    worker, api = pair
    worker.bus.publish(reading("gauge-1", 1.0))
    worker.bus.publish(Event(TWIN_UPDATED, now_iso(), twin_id="gauge-1", data={"x": 1}))
    wait_for(lambda: any(e.type == TWIN_UPDATED for e in api.seen))  # structure events keep its caches right
    time.sleep(0.3)
    assert [e.type for e in api.seen] == [TWIN_UPDATED]
    assert api.relay.received == 1

    release = api.relay.route({"telemetry"}, set())  # an SSE client of ?type=telemetry
    settle(api)
    worker.bus.publish(reading("gauge-2", 2.0))
    wait_for(lambda: any(e.type == TELEMETRY_APPENDED for e in api.seen))
    release()  # the client went
    settle(api)
    assert api.relay.subjects() == {f"futago.events.{t}" for t in STRUCTURE_EVENTS}
    before = len(api.seen)
    worker.bus.publish(reading("gauge-3", 3.0))
    time.sleep(0.5)
    assert len(api.seen) == before


def test_a_twin_filter_subscribes_to_its_shard_and_overlaps_arrive_once(pair: tuple[Process, Process]) -> None:
    worker, api = pair
    other = next(f"gauge-{i}" for i in range(100) if scope_of(f"gauge-{i}") != scope_of("gauge-7"))
    release_twin = api.relay.route(set(), {"gauge-7"})
    settle(api)
    assert api.relay.subjects() - {f"futago.events.{t}" for t in STRUCTURE_EVENTS} == {
        f"futago.events.*.*.{scope_of('gauge-7')}"
    }
    worker.bus.publish(reading(other, 1.0))
    worker.bus.publish(reading("gauge-7", 7.0))
    wait_for(lambda: any(e.twin_id == "gauge-7" for e in api.seen))
    time.sleep(0.3)
    assert [e.twin_id for e in api.seen] == ["gauge-7"]  # the other shard never reached this process

    release_type = api.relay.route({TELEMETRY_APPENDED}, set())  # overlaps the twin's subscription
    settle(api)
    worker.bus.publish(reading("gauge-7", 8.0))
    wait_for(lambda: len(api.seen) == 2)
    time.sleep(0.3)
    assert [e.data["value"] for e in api.seen] == [7.0, 8.0]  # once, not once per subscription
    release_twin()
    release_type()


def test_the_leader_receives_everything_while_it_leads(nats_url: str) -> None:
    worker = Process(nats_url, "worker", STRUCTURE_EVENTS)
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(lambda e: seen.append(e) if e.origin is not None else None)
    server = ScaleOut.connect(nats_url, bus, 8, "server", STRUCTURE_EVENTS)
    try:
        leadership = SimpleNamespace(on_lead=lambda: None, on_lose=None, close=lambda: None)
        server.leadership = leadership  # type: ignore[assignment]  # what app.start hands it
        leadership.on_lead()
        settle(worker, seconds=0.2)
        worker.bus.publish(reading("gauge-1", 1.0))
        wait_for(lambda: len(seen) == 1)
        leadership.on_lose()
        server.relay.settle()
        time.sleep(0.3)
        worker.bus.publish(reading("gauge-1", 2.0))
        time.sleep(0.5)
        assert [e.data["value"] for e in seen] == [1.0]
    finally:
        server.close()
        worker.close()


def test_dashboards_get_one_rollup_a_second_per_type(pair: tuple[Process, Process]) -> None:
    worker, api = pair
    rollups: list[dict] = []
    release = api.relay.watch_rollups({"telemetry"}, rollups.append)
    time.sleep(0.2)
    for i in range(300):
        worker.bus.publish(reading(f"gauge-{i % 30}", float(i)))
    wait_for(lambda: sum(r["count"] for r in rollups) == 300, timeout_s=5)
    release()
    assert {r["type"] for r in rollups} == {TELEMETRY_APPENDED}
    assert len(rollups) <= 3  # a second's events in one message, not 300
    assert max(r["twins"] for r in rollups) <= 30


def test_every_event_type_has_two_subject_tokens() -> None:
    # the twin-filter subscription futago.events.*.*.<scope> relies on it
    assert all(len(t.split(".")) == 2 for t in EVENT_TYPES)
    assert event_subject(TELEMETRY_APPENDED, None) == "futago.events.telemetry.appended._"
