"""Static (`--index/--of`) and leased workers do not mix on one cluster: the cluster settings record the mode in use,
and a worker of the other mode refuses to start while workers of that one are alive, naming it (issue 20)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from futago.core.errors import InvalidInput
from futago.protocols.nats.link import NatsLink
from futago.scale.assignment import BUCKET as WORKERS
from futago.scale.cluster_settings import BUCKET, WorkerMode, agree, read
from futago.testing.local import futago_command

LEASED = WorkerMode()


@pytest.fixture
def link(nats_url: str) -> Iterator[NatsLink]:
    """A link to the module's NATS, with no cluster settings and no worker present (each test starts bare)."""
    opened = NatsLink(nats_url, "test-worker-modes")
    for bucket in (BUCKET, WORKERS):
        with contextlib.suppress(Exception):  # not made yet
            opened.call(opened.js.delete_key_value(bucket))
    yield opened
    opened.close()


def present(link: NatsLink) -> set[str]:
    async def keys() -> set[str]:
        try:
            return set(await (await link.js.key_value(WORKERS)).keys())
        except Exception:  # no keys (or no bucket)
            return set()

    return link.call(keys())


def test_the_first_worker_records_its_mode_and_the_other_mode_waits_until_none_of_it_is_alive(
    link: NatsLink,
) -> None:
    agree(link, 4)  # a server first: it records no mode
    assert (stored := read(link)) is not None and stored.workers is None
    settings, wrote = agree(link, 4, workers=LEASED, worker="w1")
    assert wrote and settings.workers == LEASED and read(link) == settings
    assert "member.w1" in present(link)  # written before the check, as its leases will renew it

    with pytest.raises(InvalidInput) as refused:
        agree(link, 4, workers=WorkerMode(2), worker="0")
    detail = refused.value.problems[0]
    assert detail.pointer == "/scale/workers"
    assert "run in leased mode" in detail.message and "1 such worker(s) are alive" in detail.message
    assert "static mode with --of 2" in detail.message  # what it would have been
    assert "static.2.0" not in present(link)  # refused: it does not hold the mode against the next one
    agree(link, 4)  # a server's start changes nothing of it
    assert (stored := read(link)) is not None and stored.workers == LEASED

    kv = link.call(link.js.key_value(WORKERS))
    link.call(kv.delete("member.w1"))  # the leased worker stopped: the mode is free
    settings, _ = agree(link, 4, workers=WorkerMode(2), worker="0")
    assert settings.workers == WorkerMode(2) and (settings.partitions, settings.batch) == (4, 500)

    with pytest.raises(InvalidInput, match=r"run in static mode with --of 2 .*a worker in leased mode"):
        agree(link, 4, workers=LEASED, worker="w2")
    with pytest.raises(InvalidInput, match="static mode with --of 2"):  # another share would overlap as well
        agree(link, 4, workers=WorkerMode(3), worker="1")
    assert agree(link, 4, workers=WorkerMode(2), worker="1")[0].workers == WorkerMode(2)  # its partner joins


def _worker(url: str, folder: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "FUTAGO_NATS": url, "FUTAGO_DB": str(folder / "futago.db"), "FUTAGO_PARTITIONS": "4"}
    env.pop("FUTAGO_CONFIG", None)
    command = [*futago_command(), "worker", "--ack-wait", "2", *args]
    return subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _started(process: subprocess.Popen[str], timeout_s: float = 60.0) -> str:
    """Wait for a worker's start line (on stderr); the lines so far."""
    assert process.stderr is not None
    lines: list[str] = []
    done = threading.Event()

    def follow() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "futago worker" in line:
                done.set()
                return
        done.set()

    threading.Thread(target=follow, daemon=True).start()
    assert done.wait(timeout_s) and any("futago worker" in line for line in lines), "".join(lines)
    return "".join(lines)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.timeout(180)
def test_a_leased_worker_refuses_to_start_beside_a_static_one(link: NatsLink, nats_url: str, tmp_path: Path) -> None:
    static = _worker(nats_url, tmp_path, "--index", "0", "--of", "2")
    try:
        _started(static)
        time.sleep(8)  # past the presence's 6 s: only its renewal keeps it
        assert "static.2.0" in present(link)
        leased = _worker(nats_url, tmp_path)
        try:
            _, err = leased.communicate(timeout=90)
        finally:
            _stop(leased)
        assert leased.returncode != 0
        assert "the cluster's workers run in static mode with --of 2" in " ".join(err.split()), err
    finally:
        _stop(static)
    assert "static.2.0" not in present(link)  # a clean stop frees the mode at once
    leased = _worker(nats_url, tmp_path)
    try:
        _started(leased)  # starts now: no static worker is alive
        assert (stored := read(link)) is not None and stored.workers == LEASED
    finally:
        _stop(leased)
