"""Ingestion workers over the NATS log: the kill test, per-twin partitions, and bad messages as dead letters."""

from __future__ import annotations

import signal

import orjson
import psycopg

from futago.ingest.mapping import Mapper
from futago.scale.ingest_log import decode, encode, partition_of, subject
from futago.scenarios.scale import GAUGES, ScaleRig, running

T0 = 1_900_000_000_000


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(rig: ScaleRig) -> None:
    count = 20_000
    rig.publish(count, T0)
    with running(rig.start_workers(2, ack_wait_s=2.0)) as workers:
        rig.wait_stored(T0, count, timeout_s=120, at_least=count // 5)
        workers[0].process.send_signal(signal.SIGKILL)
        workers[0].process.wait(timeout=10)
        assert rig.stored(T0, count)[1] < count, "the kill came too late to test anything"
        restarted = rig.start_worker(0, 2, ack_wait_s=2.0)
        workers.append(restarted)
        rig.wait_ready(restarted)
        rig.wait_stored(T0, count, timeout_s=120)
        summaries = rig.stop_workers([workers[1], restarted])
    rows, distinct = rig.stored(T0, count)
    assert (rows, distinct) == (count, count)
    # The batch the killed worker held came again to its successor, which stored it once.
    assert sum(s["redelivered"] for s in summaries) > 0
    with psycopg.connect(rig.postgres.url) as conn:  # every value is the one published for its timestamp
        wrong = conn.execute(
            "SELECT COUNT(*) FROM readings r JOIN tseries s ON s.id = r.series_id "
            "WHERE r.ts >= %s AND r.ts < %s "
            "AND r.num <> ((((r.ts / 1000 - %s) * %s + substring(s.twin_id from 7)::int) %% 97) / 10.0)",
            (T0 * 1000, (T0 + count // rig.gauges) * 1000, T0, rig.gauges),
        ).fetchone()
    assert wrong == (0,)


def test_each_twin_stays_in_one_partition() -> None:
    mapper = Mapper.from_config(GAUGES["mappings"])
    assert mapper.partition_key("gauges/7/rain") == "gauge-7"  # the twin the source names
    senml = Mapper.from_config([{"source": "site/{site}", "format": "senml", "twin": "{bn}"}])
    assert senml.partition_key("site/a") == "site/a"  # the payload names the twins: the source orders them
    spread = {partition_of(f"gauge-{i}", 8) for i in range(100)}
    assert spread == set(range(8))
    assert all(partition_of("gauge-7", 8) == partition_of("gauge-7", 8) for _ in range(3))


def test_the_envelope_keeps_payload_bytes_and_newlines() -> None:
    from futago.ingest.mapping import RawMessage

    message = RawMessage("gauges/1/rain", b'{"v": 1}\n\x00\xff', 123)
    assert decode(encode("gauges", message)) == ("gauges", message)


def test_bad_messages_become_dead_letters_and_the_worker_goes_on(rig: ScaleRig) -> None:
    t0 = T0 + 10_000_000
    key = "gauge-5"
    partition = partition_of(key, rig.partitions)
    log = rig.log
    from futago.ingest.mapping import RawMessage

    def put(data: bytes) -> None:
        log.link.call(log.link.js.publish(subject(partition), data))

    put(b"not an envelope")
    put(encode("nobody", RawMessage("gauges/5/rain", b'{"v": 1, "ts": 1}', 0)))
    put(encode("gauges", RawMessage("gauges/5/rain", b"{broken json", 0)))
    put(encode("gauges", RawMessage("gauges/5/rain", orjson.dumps({"v": 2.5, "ts": t0}), 0)))
    with running(rig.start_workers(1)) as workers:
        rig.wait_stored(t0, 1, timeout_s=60)
        rig.stop_workers(workers)
    with psycopg.connect(rig.postgres.url) as conn:
        letters = conn.execute("SELECT connection, reason FROM dead_letters ORDER BY id").fetchall()
    reasons = {connection: reason for connection, reason in letters}
    assert "not a futago envelope" in reasons["ingest-log"]
    assert "connection 'nobody'" in reasons["nobody"]
    assert any(connection == "gauges" and "JSON" in reason for connection, reason in letters)
