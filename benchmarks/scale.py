"""``futago bench scale``: ingestion workers over NATS JetStream into PostgreSQL, all started on this machine.

For 1, 2 and 4 `futago worker` processes: MESSAGES rain-gauge messages (one reading each) are put in the ingestion
log first, the workers are started, and the rate is timed from the moment every worker is consuming to the moment
the last reading is in the store (what was stored before that moment is subtracted). After a warm-up run, each
worker count runs twice, in the order 1, 2, 4, 4, 2, 1 so that drift over the bench evens out, and the better run
counts (this machine's noise only ever slows a run down). Each run has readings of its own, compared one by one
with what was published: ``lost`` is published but not stored, ``duplicates`` is stored more than once (summed
over every run, the kill test's included).

The kill test: two workers; once a third of the readings are stored, worker 0 gets SIGKILL in the middle of its
work and is started again, as a supervisor would. Its unacknowledged batch is delivered again (``redelivered``) and,
appends being idempotent, stored once. ``kill_test_ok``: nothing lost, nothing twice, and a redelivery happened.

The fan-out to dashboards: SSE_CLIENTS event-stream clients on one `futago serve` process (on this machine too,
so they take CPU from it), and SSE_EVENTS readings posted one at a time; ``sse_fanout_p95_ms`` is the time from a
post until the last client has the event, for the 95th-percentile event. docs/scale.md turns it into servers for
100,000 users.

Peer in the same run: the 1-worker rate; ``scaling_efficiency_2`` = rate(2) / (2 × rate(1)). This machine has two
cores for the workers, PostgreSQL, NATS and this script together, so 4 workers cannot scale here: see
docs/scale.md for the arithmetic beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from typing import Any

import httpx
import orjson
from rich.console import Console

from futago.core.telemetry import parse_timestamp
from futago.scenarios.scale import ScaleRig, futago_command, running
from futago.testing.local import free_port

WORKERS = [1, 2, 4]
MESSAGES = 50_000
GAUGES = 1_000
KILL_MESSAGES = 20_000
SSE_CLIENTS = 500
SSE_EVENTS = 30
T0_MS = 1_800_000_000_000  # 2027-01-15: each run takes the next hour of readings
RUN_SPAN_MS = 3_600_000


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    if db is not None:
        raise SystemExit("bench scale starts its own PostgreSQL and NATS; it takes no --db")
    console = Console(stderr=True, quiet=not progress)
    best: dict[int, float] = {}
    cpu_of: dict[int, dict[str, float]] = {}
    lost = duplicates = 0
    console.print("starting PostgreSQL, NATS and a store of rain gauges")
    order = [1, *WORKERS, *reversed(WORKERS)]  # the first run warms PostgreSQL, NATS and the page cache up
    with ScaleRig(GAUGES) as rig:
        for run_index, count in enumerate(order):
            t0 = T0_MS + run_index * RUN_SPAN_MS
            with console.status(f"run {run_index + 1} of {len(order)}: {count} worker(s), {MESSAGES:,} messages"):
                rate, run_lost, run_duplicates, cpu = _timed_run(rig, count, t0)
            if run_index > 0 and rate > best.get(count, 0.0):
                best[count] = rate
                cpu_of[count] = cpu
            lost += run_lost
            duplicates += run_duplicates
        with console.status("kill test: SIGKILL a worker mid-run, start it again"):
            kill = _kill_test(rig, T0_MS + len(order) * RUN_SPAN_MS)
        lost += kill["lost"]
        duplicates += kill["duplicates"]
        with console.status(f"fan-out: {SSE_CLIENTS} SSE clients on one API process"):
            fanout = _sse_fanout(rig)
    rates = [round(best[count], 1) for count in WORKERS]
    return {
        "workers": WORKERS,
        "msgs_per_s": rates,
        "scaling_efficiency_2": round(rates[1] / (2 * rates[0]), 3),
        "scaling_efficiency_2_target": 0.7,
        "lost": lost,
        "duplicates": duplicates,
        "kill_test_ok": kill["ok"],
        "kill_test_redelivered": kill["redelivered"],
        "cpu_us_per_msg": cpu_of[1],  # of the better 1-worker run: the arithmetic of docs/scale.md starts here
        "sse_clients": SSE_CLIENTS,
        "sse_fanout_p50_ms": fanout[0],
        "sse_fanout_p95_ms": fanout[1],
        "messages_per_run": MESSAGES,
        "partitions": rig.partitions,
        "cpu_cores": os.cpu_count(),
    }


def _check(rig: ScaleRig, t0: int, count: int) -> tuple[int, int]:
    """(lost, duplicates) of the readings published from t0."""
    rows, distinct = rig.stored(t0, count)
    return count - distinct, rows - distinct


def _cpu_seconds() -> dict[str, float]:
    """CPU time so far of the workers, PostgreSQL and NATS processes on this machine."""
    import psutil

    spent: dict[str, float] = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        with contextlib.suppress(psutil.Error, TypeError):
            role = "worker" if " worker " in " ".join(process.info["cmdline"] or []) + " " else process.info["name"]
            times = process.info["cpu_times"]
            spent[role] = spent.get(role, 0.0) + times.user + times.system
    return spent


def _timed_run(rig: ScaleRig, count: int, t0: int) -> tuple[float, int, int, dict[str, float]]:
    """Rate, lost, duplicates, and the CPU µs each reading cost the workers, PostgreSQL and NATS."""
    rig.publish(MESSAGES, t0)
    with running(rig.start_workers(count)) as workers:
        cpu_before = _cpu_seconds()
        ready_at, stored_at_ready = time.monotonic(), rig.stored(t0, MESSAGES, distinct=False)[0]
        done_at = rig.wait_stored(t0, MESSAGES, timeout_s=300)
        cpu_after = _cpu_seconds()
        rig.stop_workers(workers)
    lost, duplicates = _check(rig, t0, MESSAGES)
    done = MESSAGES - stored_at_ready
    cpu = {
        name: round((cpu_after.get(role, 0.0) - cpu_before.get(role, 0.0)) * 1e6 / done, 1)
        for name, role in (("worker", "worker"), ("postgres", "postgres"), ("nats", "nats-server"))
    }
    return done / (done_at - ready_at), lost, duplicates, cpu


def _kill_test(rig: ScaleRig, t0: int) -> dict[str, Any]:
    rig.publish(KILL_MESSAGES, t0)
    with running(rig.start_workers(2, ack_wait_s=3.0)) as workers:
        rig.wait_stored(t0, KILL_MESSAGES, timeout_s=300, at_least=KILL_MESSAGES // 3)
        victim = workers[0]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(timeout=10)
        stored_at_kill = rig.stored(t0, KILL_MESSAGES, distinct=False)[0]
        restarted = rig.start_worker(0, 2, ack_wait_s=3.0)
        workers.append(restarted)
        rig.wait_ready(restarted)
        rig.wait_stored(t0, KILL_MESSAGES, timeout_s=300)
        summaries = rig.stop_workers([workers[1], restarted])
    lost, duplicates = _check(rig, t0, KILL_MESSAGES)
    redelivered = sum(s.get("redelivered", 0) for s in summaries)
    return {
        "ok": lost == 0 and duplicates == 0 and redelivered > 0 and stored_at_kill < KILL_MESSAGES,
        "lost": lost,
        "duplicates": duplicates,
        "redelivered": redelivered,
    }


def _sse_fanout(rig: ScaleRig) -> tuple[float, float]:
    """(p50, p95) ms from posting a reading until the last of SSE_CLIENTS clients has its event."""
    port = free_port()
    server = subprocess.Popen([*futago_command(), "serve", "--port", str(port)], cwd=rig.folder, env=rig.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("futago serve did not start for the fan-out test")
            time.sleep(0.2)
        latencies = asyncio.run(_fanout(base))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    latencies.sort()
    return round(latencies[len(latencies) // 2], 1), round(latencies[int(len(latencies) * 0.95)], 1)


async def _fanout(base: str) -> list[float]:
    arrivals: dict[int, list[float]] = {k: [] for k in range(SSE_EVENTS)}
    connected = 0
    all_connected = asyncio.Event()
    t0_ms = T0_MS - RUN_SPAN_MS  # readings of their own, before every run's

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal connected
        async with http.stream("GET", f"{base}/events", params={"twinId": "gauge-0"}) as stream:
            async for line in stream.aiter_lines():
                if line.startswith(": connected"):
                    connected += 1
                    if connected == SSE_CLIENTS:
                        all_connected.set()
                elif line.startswith("data:"):
                    ts = orjson.loads(line[5:])["data"].get("latest", {}).get("ts")
                    if ts is not None:
                        k = int(parse_timestamp(ts) // 1000 - t0_ms)
                        arrivals[k].append(time.perf_counter())

    limits = httpx.Limits(max_connections=SSE_CLIENTS + 10, max_keepalive_connections=SSE_CLIENTS + 10)
    async with httpx.AsyncClient(timeout=None, limits=limits) as http:
        tasks = [asyncio.create_task(client(http)) for _ in range(SSE_CLIENTS)]
        await asyncio.wait_for(all_connected.wait(), timeout=120)
        sent: list[float] = []
        for k in range(SSE_EVENTS):
            sent.append(time.perf_counter())
            reading = [{"name": "rainfall", "ts": t0_ms + k, "value": k / 10}]
            (await http.post(f"{base}/twins/gauge-0/telemetry", json=reading)).raise_for_status()
            deadline = time.perf_counter() + 30
            while len(arrivals[k]) < SSE_CLIENTS and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [(max(arrivals[k]) - sent[k]) * 1000 for k in range(SSE_EVENTS) if len(arrivals[k]) == SSE_CLIENTS]
