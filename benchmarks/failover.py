"""``futago bench failover``: the flood scenario's storm on three simulated hosts, the leading host killed at the
storm's peak, and a fourth worker added later (futago.testing.hosts).

The storm (``Size``: 60 stations, 144 steps by default): each river station, with its rain gauge and floodgate, gets
the flood scenario's readings (a storm hyetograph falling on the true tank-model catchment,
``futago.scenarios.storm``), their storms staggered so that stations reach 氾濫危険水位 one after another through the
run; more rain gauges add load. One 10-minute step of every twin is published to the NATS ingestion log every
``step_wall_s`` seconds, as the connectors would. The rule is the flood scenario's danger rule on the observed
level (above the danger level, cleared below the evacuation level): it notifies the residents (webhooks to a
receiver here) and closes the station's gate (an autonomous command over MQTT to a simulated gate here). A probe
station rises early, falls back (its alert resolves and opens a suppression window) and rises again after the kill:
``suppression_kept`` is true when the window set by the dead leader still holds (no second alert for the probe) and
the row is in the store.

Side effects are attributed to a process by what the receiver and the gate see: the webhook's TCP peer is a port
that one process owns; a command leaves the one process connected to the broker for commands. The lease row is
polled to know each process's fencing token. ``max_simultaneous_leaders``: the most leadership terms (a process
under one token) whose side effects overlapped in time (each term's first to last). ``takeover_s``: from the
SIGKILL to the first side effect of another process. ``rebalance_s``: from the fourth worker's start to the first
new reading stored for the partitions it took (with static partitions it takes the dead worker's; see
``details.static_partitions``).
A notification is one (alert, event, escalation, subscriber) as the receiver reads its body; a command one
correlation id. The output is the Contract's keys (issue 20); what explains them is under ``details``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rich.console import Console

from futago.core.telemetry import format_timestamp, parse_timestamp
from futago.ingest.mapping import Mapper, RawMessage
from futago.protocols.nats.link import NatsLink
from futago.scale.ingest_log import NatsIngestLog, partition_of
from futago.scenarios.field import FLOODGATE, GateDevice
from futago.scenarios.flood import DEMO, FIELD_MAPPINGS, START
from futago.scenarios.storm import LEVELS, STEP_S, Storm, true_levels
from futago.testing.hosts import Host, Hosts
from futago.testing.mosquitto import LocalBroker

PROBE = "st-probe"
RULE_NAME = "flood-danger"


@dataclass(frozen=True)
class Size:
    """How big a run is: the bench's, or a smaller one for the test (tests/scale/test_failover.py)."""

    stations: int = 60
    extra_gauges: int = 240
    steps: int = 144
    kill_step: int = 60  # the storm's peak: most stations are at or above the danger level
    step_wall_s: float = 0.4
    subscribers: int = 4
    add_after_steps: int = (
        15  # the fourth worker joins 6 s after the kill, once the survivors took the dead one's share
    )

    def check(self) -> None:
        # The probe's first alert resolves at step 26 (its window is then set); its second storm starts at the kill.
        if not 30 <= self.kill_step < self.steps - self.add_after_steps or self.stations < 1:
            raise ValueError(f"a failover run needs 30 <= kill_step < steps - add_after_steps and stations: {self}")


BENCH = Size()


@dataclass
class Effect:
    at: float
    kind: str  # notification | command
    key: str  # the delivery id, or the command id
    pid: int | None
    token: int | None = None


@dataclass
class Observed:
    """Every side effect that reached the outside world, and the lease as polled."""

    effects: list[Effect] = field(default_factory=list)
    tokens: dict[int, list[tuple[float, int]]] = field(default_factory=dict)  # pid → (polled at, token) it held
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, effect: Effect) -> None:
        with self.lock:
            self.effects.append(effect)

    def held(self, pid: int, token: int) -> None:
        terms = self.tokens.setdefault(pid, [])
        if not terms or terms[-1][1] != token:
            terms.append((time.monotonic(), token))

    def token_at(self, pid: int, at: float) -> int | None:
        """The token ``pid`` held when it acted at ``at``: the last one polled by then (the lease is polled every
        0.1 s, so a term's first effect may precede its first poll: then the term polled next)."""
        terms = self.tokens.get(pid, [])
        before = [token for polled, token in terms if polled <= at]
        if before:
            return before[-1]
        return terms[0][1] if terms else None


def _owner_of(
    local_port: int | None = None, remote_port: int | None = None, among: set[int] | None = None
) -> int | None:
    """The process with a TCP socket on ``local_port`` (or connected to ``remote_port``), among ``among``."""
    import psutil

    for pid in among or ():
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if local_port is not None and conn.laddr and conn.laddr.port == local_port:
                    return pid
                if remote_port is not None and conn.raddr and conn.raddr.port == remote_port:
                    return pid
    return None


class Receiver:
    """The residents' webhook endpoint: each delivery, when it came and which process sent it. A notification is
    keyed by what it tells whom (alert, event, escalation, subscriber), not by its delivery id: a new leader that
    planned the same alert event again would send it under a new id, and that is a duplicate too."""

    def __init__(self, observed: Observed, pids: Any) -> None:
        receiver = self
        self.observed = observed

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.monotonic()
                pid = _owner_of(local_port=self.client_address[1], among=pids())
                receiver.observed.add(Effect(at, "notification", _told(body), pid))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Gate(GateDevice):
    """The floodgates: each command request, when it came and which process was connected to send it."""

    def __init__(self, broker: LocalBroker, observed: Observed, pids: Any) -> None:
        super().__init__(broker.host, broker.port)
        self.observed, self.pids, self.broker_port = observed, pids, broker.port

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        at = time.monotonic()
        request = orjson.loads(message.payload)
        pid = _owner_of(remote_port=self.broker_port, among=self.pids())
        self.observed.add(Effect(at, "command", str(request.get("correlationId")), pid))
        super()._on_message(client, userdata, message)


def _told(body: bytes) -> str:
    """What a notification tells whom: its alert, event and escalation, and its subscriber."""
    try:
        doc = orjson.loads(body)
        alert = doc["alert"]
        return f"{alert['id']}/{doc['event']}/{alert.get('escalation', 0)}/{doc['subscriberId']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"unreadable:{body[:60]!r}"


def _levels(j: int, size: Size) -> tuple[np.ndarray, np.ndarray]:
    """Rain and river level of station j: the flood scenario's storm, starting later for later stations (spread
    over one and a half times the steps before the kill, so that stations reach the danger level all through)."""
    start = 5 + (j * (3 * size.kill_step // 2)) // size.stations
    rain = Storm(start_step=start, peak_mm_h=35.0 + (j % 5) * 2).rain(size.steps)
    return rain, true_levels(rain, seed=j)


def _probe(size: Size) -> tuple[np.ndarray, np.ndarray]:
    """An early short storm (alert, then resolved at step 26: a suppression window) and a second one after the kill."""
    rain = Storm(0, 18, 60.0).rain(size.steps) + Storm(size.kill_step, 40, 40.0).rain(size.steps)
    return rain, true_levels(rain, seed=99)


def _fill(receiver_url: str, broker: LocalBroker, size: Size) -> Any:
    def fill(app: Any) -> None:
        from futago.core.twins import Twin
        from futago.samples import demo_models

        app.models.add_missing(demo_models())
        stations = [f"st-{j}" for j in range(size.stations)] + [PROBE]
        twins = [Twin(s, DEMO + "RiverStation;1", {"serialNumber": s, **LEVELS}) for s in stations]
        twins += [Twin(f"rg-{s}", DEMO + "RainGauge;1", {"serialNumber": f"rg-{s}"}) for s in stations]
        twins += [Twin(f"{s}-gate", FLOODGATE, {"name": f"{s} gate"}) for s in stations]
        twins += [Twin(f"rg-x{k}", DEMO + "RainGauge;1", {"serialNumber": f"x{k}"}) for k in range(size.extra_gauges)]
        app.store.put_twins(twins)
        options = {"host": broker.host, "port": broker.port, "protocol": "5", "batch_ms": 5, "reconnect_max_s": 1}
        app.connections.put("field", {"type": "mqtt", "autostart": False, "options": options,
                                      "mappings": FIELD_MAPPINGS})  # fmt: skip
        transport = {"type": "mqtt", "connection": "field", "topic": "gates/{twin}/cmd/{command}", "timeout": "10s"}
        for s in stations:
            app.commands.put_binding(f"{s}-gate", "closeGate", {"mode": "autonomous", "transport": transport})
        app.alerts.put_rule(RULE_NAME, {
            "description": "The river at a station above 氾濫危険水位: residents told, the station's gate closed",
            "severity": "critical", "twins": stations,
            "when": {"threshold": {"telemetry": "waterLevel", "above": LEVELS["dangerLevel"],
                                   "clear": LEVELS["evacuationLevel"]}},
            "suppress": "24h", "autoResolve": True,
            "message": {"en": "{twin}: the river is above the flood danger level"},
            "recommend": {"twin": "{twin}-gate", "command": "closeGate", "payload": None},
        })  # fmt: skip
        for k in range(size.subscribers):
            secret = f"resident-secret-{k}"
            channel = {"type": "webhook", "name": "hook", "url": receiver_url, "secret": secret}
            resident = {"name": f"Resident {k}", "language": "en", "rules": [RULE_NAME], "channels": [channel]}
            app.notifications.put_subscriber(f"resident-{k}", resident)

    return fill


class Storm_:
    """The published side: every step's messages, and what the store holds of them."""

    def __init__(self, hosts: Hosts, size: Size) -> None:
        self.hosts, self.size = hosts, size
        self.mapper = Mapper.from_config(FIELD_MAPPINGS)
        self.link = NatsLink(hosts.nats.url, "futago-failover-bench")
        self.log = NatsIngestLog(self.link, hosts.partitions)
        self.series = {f"st-{j}": _levels(j, size) for j in range(size.stations)} | {PROBE: _probe(size)}
        self.extra = Storm(start_step=20, duration_steps=70, peak_mm_h=30.0).rain(size.steps)
        self.start_us = parse_timestamp(START)
        self.published = 0

    def step(self, i: int) -> None:
        when = format_timestamp(self.start_us + int(i * STEP_S * 1e6))
        now_us = time.time_ns() // 1000
        messages = []
        for station, (rain, level) in self.series.items():
            messages.append(
                RawMessage(f"city/rain/rg-{station}", orjson.dumps({"mm_h": float(rain[i]), "time": when}), now_us)
            )
            reading = orjson.dumps({"level": round(float(level[i]), 3), "time": when})
            messages.append(RawMessage(f"city/river/{station}/level", reading, now_us))
        for k in range(self.size.extra_gauges):
            value = float(self.extra[i]) * (0.6 + 0.8 * ((k * 37) % 100) / 100)
            messages.append(
                RawMessage(f"city/rain/rg-x{k}", orjson.dumps({"mm_h": round(value, 2), "time": when}), now_us)
            )
        self.log.publish("field", self.mapper.partition_key, messages)
        self.published += len(messages)

    def stored(self, twins: list[str] | None = None) -> int:
        since = self.start_us
        if twins is None:
            return int(self.hosts.sql("SELECT COUNT(*) FROM readings WHERE ts >= %s", (since,))[0][0])
        query = ("SELECT COUNT(*) FROM readings r JOIN tseries s ON s.id = r.series_id "
                 "WHERE r.ts >= %s AND s.twin_id = ANY(%s)")  # fmt: skip
        return int(self.hosts.sql(query, (since, twins))[0][0])

    def distinct_stored(self) -> int:
        query = "SELECT COUNT(DISTINCT (series_id, ts)) FROM readings WHERE ts >= %s"
        return int(self.hosts.sql(query, (self.start_us,))[0][0])

    def twins_of(self, partitions: set[int]) -> list[str]:
        names = (
            [f"rg-{s}" for s in self.series] + list(self.series) + [f"rg-x{k}" for k in range(self.size.extra_gauges)]
        )
        return [t for t in names if partition_of(t, self.hosts.partitions) in partitions]

    def close(self) -> None:
        self.link.close()


def _poll_lease(hosts: Hosts, observed: Observed, stop: threading.Event) -> None:
    while not stop.wait(0.1):
        with contextlib.suppress(Exception):
            held = hosts.lease()
            if held is not None:
                with observed.lock:
                    observed.held(held[0], held[1])


def run(db: str | None = None, progress: bool = True, size: Size = BENCH) -> dict[str, Any]:
    """The Contract's figures (issue 20), with what explains them under ``details``."""
    if db is not None:
        raise SystemExit("bench failover starts its own PostgreSQL, NATS and hosts; it takes no --db")
    size.check()
    console = Console(stderr=True, quiet=not progress)
    observed = Observed()
    stop = threading.Event()
    console.print("starting PostgreSQL, NATS, Mosquitto and the store of the flood storm")
    with Hosts() as hosts:
        broker = LocalBroker(_folder(hosts.root / "broker"))
        broker.start()
        receiver = Receiver(observed, receiver_pids(hosts))
        gate = Gate(broker, observed, receiver_pids(hosts))
        storm = None
        try:
            gate.start()
            hosts.prepare(_fill(receiver.url, broker, size))
            storm = Storm_(hosts, size)
            return _run(hosts, storm, observed, stop, console)
        finally:
            stop.set()
            if storm is not None:
                storm.close()
            gate.stop()
            receiver.close()
            for host in hosts.hosts.values():
                if host.alive():
                    host.stop()
            broker.stop()


def receiver_pids(hosts: Hosts) -> Any:
    return lambda: {h.processes["serve"].pid for h in hosts.hosts.values() if "serve" in h.processes}


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(hosts: Hosts, storm: Storm_, observed: Observed, stop: threading.Event, console: Console) -> dict[str, Any]:
    with console.status("starting three hosts (serve and a worker each)"):
        started = [hosts.add(name, index=i, of=3) for i, name in enumerate("abc")]
        for host in started:
            hosts.wait_serving(host)
            hosts.wait_worker(host)
        leader = hosts.leader()
    threading.Thread(target=_poll_lease, args=(hosts, observed, stop), daemon=True).start()
    size = storm.size
    kill_step = size.kill_step
    first_at = time.monotonic()
    killed_at = 0.0
    joining = Joining(hosts, storm)
    stored_at_kill = 0
    with console.status("the storm") as status:
        for i in range(size.steps):
            began = time.monotonic()
            storm.step(i)
            if i == kill_step:
                _wait_resolved(hosts, PROBE, timeout_s=30)
                stored_at_kill = storm.stored()
                status.update(f"step {i}: SIGKILL to the leading host {leader.name}")
                leader.kill()
                killed_at = leader.killed_at or time.monotonic()
            if i == kill_step + size.add_after_steps:
                joining.add("abc".index(leader.name))
            joining.watch()
            time.sleep(max(0.0, size.step_wall_s - (time.monotonic() - began)))
    with console.status("waiting for every reading to be stored"):
        deadline = time.monotonic() + 120
        while storm.stored() < storm.published and time.monotonic() < deadline:
            joining.watch()
            time.sleep(0.2)
        done_at = time.monotonic()
        _quiet(observed, 5.0, 60.0)
    rebalance_s = joining.rebalance_s
    return _figures(hosts, storm, observed, leader, first_at, killed_at, done_at, stored_at_kill, rebalance_s)


class Joining:
    """The fourth host: a worker alone, added after the kill; when it first stored readings of its partitions."""

    def __init__(self, hosts: Hosts, storm: Storm_) -> None:
        self.hosts, self.storm = hosts, storm
        self.host: Host | None = None
        self.started_at = 0.0
        self.twins: list[str] = []
        self.stored_when_taken = 0
        self.rebalance_s: float | None = None

    def add(self, dead_index: int) -> None:
        # Static workers: it takes the dead one's share, as a supervisor would restart it on another machine.
        self.host = self.hosts.add("d", serve=False, index=dead_index, of=3)
        self.started_at = time.monotonic()
        if self.hosts.static:
            self._took({p for p in range(self.hosts.partitions) if p % 3 == dead_index})

    def _took(self, partitions: set[int]) -> None:
        self.twins = self.storm.twins_of(partitions)
        self.stored_when_taken = self.storm.stored(self.twins)

    def watch(self) -> None:
        if self.host is None or self.rebalance_s is not None:
            return
        if not self.twins:
            taken = self.hosts.taken(self.host)
            if taken is not None:
                self._took(taken[1])
        elif self.storm.stored(self.twins) > self.stored_when_taken:
            self.rebalance_s = time.monotonic() - self.started_at


def _wait_resolved(hosts: Hosts, twin: str, timeout_s: float) -> None:
    """Until the probe's first alert is resolved: its suppression window is then set, by the leader about to die."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if hosts.sql("SELECT 1 FROM alert_suppressions WHERE twin_id = %s", (twin,)):
            return
        time.sleep(0.1)
    raise RuntimeError(f"the probe's alert was not resolved within {timeout_s:.0f} s: no suppression window")


def _quiet(observed: Observed, for_s: float, timeout_s: float) -> None:
    """Until no side effect has come for ``for_s`` (retries and the last deliveries are done)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with observed.lock:
            last = max((e.at for e in observed.effects), default=0.0)
        if time.monotonic() - last >= for_s:
            return
        time.sleep(0.5)


def _figures(hosts: Hosts, storm: Storm_, observed: Observed, leader: Host, first_at: float, killed_at: float,
             done_at: float, stored_at_kill: int, rebalance_s: float | None) -> dict[str, Any]:  # fmt: skip
    with observed.lock:
        effects = sorted(observed.effects, key=lambda e: e.at)
        for effect in effects:
            effect.token = observed.token_at(effect.pid, effect.at) if effect.pid is not None else None
    # A leader is a term (process, token): a lease that moves away and back (a starved renewal) makes two
    # terms of one process, which follow each other; two leaders at once are two terms whose effects interleave.
    spans: dict[tuple[int | None, int | None], tuple[float, float]] = {}
    for e in effects:
        first, _ = spans.get((e.pid, e.token), (e.at, e.at))
        spans[(e.pid, e.token)] = (first, e.at)
    overlap = max((sum(1 for a, b in spans.values() if a <= at <= b) for at, _ in spans.values()), default=0)
    after = [e for e in effects if e.at > killed_at and e.pid not in leader.pids()]
    counts = Counter((e.kind, e.key) for e in effects)
    probe_alerts = hosts.sql("SELECT COUNT(*) FROM alerts WHERE twin_id = %s", (PROBE,))[0][0]
    window = hosts.sql("SELECT until_us FROM alert_suppressions WHERE twin_id = %s", (PROBE,))
    tokens = [e.token for e in effects if e.token is not None]
    stored = storm.distinct_stored()
    details = {
        "leaders": sorted({h.name for p, _ in spans if p is not None and (h := hosts.host_of(p)) is not None}),
        "terms": len(spans),
        "unattributed_side_effects": sum(1 for e in effects if e.pid is None),
        "tokens_in_order": tokens == sorted(tokens),
        "published": storm.published,
        "duplicate_readings": storm.stored() - stored,
        "notifications": sum(1 for e in effects if e.kind == "notification"),
        "commands": sum(1 for e in effects if e.kind == "command"),
        "alerts": hosts.sql("SELECT COUNT(*) FROM alerts")[0][0],
        "probe_alerts": probe_alerts,
        "deliveries_by_outcome": dict(hosts.sql("SELECT outcome, COUNT(*) FROM notification_deliveries GROUP BY 1")),
        "static_partitions": hosts.static,
        "stations": storm.size.stations,
        "step_wall_s": storm.size.step_wall_s,
    }
    return {
        "hosts": 3,
        "max_simultaneous_leaders": overlap,
        "takeover_s": round(after[0].at - killed_at, 2) if after else None,
        "lost": storm.published - stored,
        "duplicate_notifications": sum(n - 1 for (kind, _), n in counts.items() if kind == "notification"),
        "duplicate_commands": sum(n - 1 for (kind, _), n in counts.items() if kind == "command"),
        "suppression_kept": probe_alerts == 1 and bool(window),
        "rebalance_s": round(rebalance_s, 2) if rebalance_s is not None else None,
        "msgs_per_s": {
            "before": round(stored_at_kill / (killed_at - first_at), 1),
            "after": round((storm.stored() - stored_at_kill) / (done_at - killed_at), 1),
        },
        "details": details,
    }
