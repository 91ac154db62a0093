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

Peer in the same run: the 1-worker rate; ``scaling_efficiency_2`` = rate(2) / (2 × rate(1)). This machine has two
cores for the workers, PostgreSQL, NATS and this script together, so 4 workers cannot scale here: see
docs/scale.md for the arithmetic beyond it.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from rich.console import Console

from futago.scenarios.scale import ScaleRig, running

WORKERS = [1, 2, 4]
MESSAGES = 50_000
GAUGES = 1_000
KILL_MESSAGES = 20_000
T0_MS = 1_800_000_000_000  # 2027-01-15: each run takes the next hour of readings
RUN_SPAN_MS = 3_600_000


def run(db: str | None = None, progress: bool = True) -> dict[str, Any]:
    if db is not None:
        raise SystemExit("bench scale starts its own PostgreSQL and NATS; it takes no --db")
    console = Console(stderr=True, quiet=not progress)
    best: dict[int, float] = {}
    lost = duplicates = 0
    console.print("starting PostgreSQL, NATS and a store of rain gauges")
    order = [1, *WORKERS, *reversed(WORKERS)]  # the first run warms PostgreSQL, NATS and the page cache up
    with ScaleRig(GAUGES) as rig:
        for run_index, count in enumerate(order):
            t0 = T0_MS + run_index * RUN_SPAN_MS
            with console.status(f"run {run_index + 1} of {len(order)}: {count} worker(s), {MESSAGES:,} messages"):
                rate, run_lost, run_duplicates = _timed_run(rig, count, t0)
            if run_index > 0:
                best[count] = max(best.get(count, 0.0), rate)
            lost += run_lost
            duplicates += run_duplicates
        with console.status("kill test: SIGKILL a worker mid-run, start it again"):
            kill = _kill_test(rig, T0_MS + len(order) * RUN_SPAN_MS)
        lost += kill["lost"]
        duplicates += kill["duplicates"]
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
        "messages_per_run": MESSAGES,
        "partitions": rig.partitions,
        "cpu_cores": os.cpu_count(),
    }


def _check(rig: ScaleRig, t0: int, count: int) -> tuple[int, int]:
    """(lost, duplicates) of the readings published from t0."""
    rows, distinct = rig.stored(t0, count)
    return count - distinct, rows - distinct


def _timed_run(rig: ScaleRig, count: int, t0: int) -> tuple[float, int, int]:
    rig.publish(MESSAGES, t0)
    with running(rig.start_workers(count)) as workers:
        ready_at, stored_at_ready = time.monotonic(), rig.stored(t0, MESSAGES, distinct=False)[0]
        done_at = rig.wait_stored(t0, MESSAGES, timeout_s=300)
        rig.stop_workers(workers)
    lost, duplicates = _check(rig, t0, MESSAGES)
    return (MESSAGES - stored_at_ready) / (done_at - ready_at), lost, duplicates


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
