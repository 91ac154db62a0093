"""Several "hosts" on one machine, for the failover tests and ``futago bench failover``.

A host is a process group with its own working directory, data folder and environment, running ``futago serve``
and ``futago worker`` as an operator would on a machine of its own. Hosts share only what machines of a cluster
share: the PostgreSQL store and the NATS server (both started here). ``kill`` sends SIGKILL to the whole group at
once (``os.killpg``), as a host that loses power takes its processes with it; ``add`` starts a host later.

Which host leads is read from the lease row (``leader_lease``: its holder names the process), and ``host_of``
maps any process id back to its host, so that a side effect observed elsewhere (a webhook's TCP peer) can be
attributed to the process, and the host, that caused it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from futago.testing.local import free_port, futago_command
from futago.testing.nats import LocalNats
from futago.testing.postgres import LocalPostgres


def static_partitions() -> bool:
    """Whether ``futago worker`` needs ``--index/--of`` (an older worker that shares partitions statically only);
    one that joins the others through leases names ``--index/--of`` its static mode."""
    shown = subprocess.run([*futago_command(), "worker", "--help"], capture_output=True, text=True, timeout=60)
    return "static mode" not in shown.stdout.lower()


@dataclass
class Host:
    """One simulated machine: a folder of its own (working directory and data root), and its processes, all in
    one process group led by the first one started."""

    name: str
    folder: Path
    env: dict[str, str]
    port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    pgid: int | None = None
    killed_at: float | None = None

    def spawn(self, role: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{role}.log").open("ab")
        # A group of its own (0: led by this first process), which the host's later processes join; one session,
        # since a process may join only a group of its own session.
        process = subprocess.Popen([*futago_command(), *args], cwd=self.folder, env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, process_group=self.pgid or 0)  # fmt: skip
        log.close()  # the child holds its own copy
        if self.pgid is None:
            self.pgid = os.getpgid(process.pid)
        self.processes[role] = process
        return process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> set[int]:
        return {p.pid for p in self.processes.values()}

    def alive(self) -> bool:
        return any(p.poll() is None for p in self.processes.values())

    def log(self, role: str) -> str:
        path = self.folder / f"{role}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """The whole host at once, with no chance to clean up: SIGKILL to its process group."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        self.killed_at = time.monotonic()
        for process in self.processes.values():
            process.wait(timeout=10)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), then SIGKILL for what has not ended within 20 s."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


class Hosts:
    """PostgreSQL and NATS, and the hosts that share them. ``prepare`` fills the store before any host starts."""

    def __init__(self, partitions: int = 8, env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="futago-hosts-"))
        self.partitions = partitions
        self.extra_env = env or {}
        self.postgres = LocalPostgres()
        self.nats = LocalNats()
        self.hosts: dict[str, Host] = {}
        self.audit_key = self.root / "audit.pem"
        self.static = static_partitions()
        self._conn: Any = None

    def __enter__(self) -> Hosts:
        self.postgres.start()
        try:
            self.nats.start()
        except BaseException:
            self.postgres.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for host in self.hosts.values():
            if host.alive():
                host.stop()
        if self._conn is not None:
            self._conn.close()
        self.nats.stop()
        self.postgres.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def prepare(self, fill: Callable[[Any], None]) -> None:
        """Build an App on the shared store in a folder of the harness, hand it to ``fill``, and close it."""
        from futago.app import build
        from futago.config import Settings

        settings = Settings(
            db=self.postgres.url, audit_key=str(self.audit_key), data_root=str(self.root / "futago-data")
        )
        with contextlib.chdir(self.root):
            app = build(settings)
            try:
                fill(app)
            finally:
                app.close()

    # -- hosts ---------------------------------------------------------------------------------
    def add(self, name: str, *, serve: bool = True, worker: bool = True, index: int = 0, of: int = 1,
            ack_wait_s: float = 3.0) -> Host:  # fmt: skip
        """A new host: ``serve`` and ``worker`` started in its own folder and process group. ``index``/``of`` are
        used only while workers share partitions statically (``static_partitions``)."""
        folder = self.root / name
        (folder / "futago-data").mkdir(parents=True)
        # The audit key and the key vault are the cluster's: each machine gets its copy, as a deployment would install
        # them. The vault holds the key that sealed the stored secrets (webhook URLs and secrets): a host with a vault
        # of its own could open none of them.
        if self.audit_key.exists():
            shutil.copy(self.audit_key, folder / "audit.pem")
        vault = self._vault(self.root / "futago-data")
        if vault.exists():
            shutil.copy(vault, self._vault(folder / "futago-data"))
        env = {
            **os.environ,
            "FUTAGO_DB": self.postgres.url,
            "FUTAGO_NATS": self.nats.url,
            "FUTAGO_PARTITIONS": str(self.partitions),
            "FUTAGO_DATA_ROOT": str(folder / "futago-data"),
            "FUTAGO_AUDIT_KEY": str(folder / "audit.pem"),
            **self.extra_env,
        }
        env.pop("FUTAGO_CONFIG", None)
        host = Host(name, folder, env)
        self.hosts[name] = host
        if serve:
            host.port = free_port()
            host.spawn("serve", ["serve", "--port", str(host.port)])
        if worker:
            args = ["worker", "--ack-wait", str(ack_wait_s)]
            if self.static:
                args += ["--index", str(index), "--of", str(of)]
            host.spawn("worker", args)
        return host

    def _vault(self, data_root: Path) -> Path:
        """Where a process with this data root keeps its key vault (a server store's: in the data root)."""
        from futago.app import vault_path
        from futago.config import Settings

        where = vault_path(Settings(db=self.postgres.url, data_root=str(data_root)))
        assert where is not None  # a database server's store always has one
        return where

    def wait_serving(self, host: Host, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if host.processes["serve"].poll() is not None:
                raise RuntimeError(f"futago serve on {host.name} exited: {host.log('serve')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{host.base}/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"futago serve on {host.name} did not answer within {timeout_s:.0f} s")

    def wait_worker(self, host: Host, timeout_s: float = 90.0) -> float:
        """Until the host's worker says it consumes (its first line); the moment it did."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if "futago worker" in host.log("worker"):
                return time.monotonic()
            if host.processes["worker"].poll() is not None:
                raise RuntimeError(f"futago worker on {host.name} exited: {host.log('worker')[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"futago worker on {host.name} did not start within {timeout_s:.0f} s")

    @staticmethod
    def taken(host: Host) -> tuple[float, set[int]] | None:
        """(when, partitions) of the first share a joining worker reported taking (its log's lines), or None."""
        for line in host.log("worker").splitlines():
            if ": partitions [" in line and "joins" not in line:
                inside = line.split(": partitions [", 1)[1].split("]", 1)[0]
                taken = {int(p) for p in inside.split(",") if p.strip()}
                if taken:
                    return time.monotonic(), taken
        return None

    def host_of(self, pid: int) -> Host | None:
        return next((h for h in self.hosts.values() if pid in h.pids()), None)

    # -- the store -----------------------------------------------------------------------------
    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        if self._conn is None:
            self._conn = psycopg.connect(self.postgres.url, autocommit=True)
        rows: list[tuple[Any, ...]] = self._conn.execute(query, params).fetchall()
        return rows

    def lease(self) -> tuple[int, int] | None:
        """(process id, fencing token) of the unexpired lease's holder, or None while nobody leads."""
        rows = self.sql("SELECT holder, token FROM leader_lease WHERE name = 'leader' AND expires > now()")
        if not rows:
            return None
        holder, token = rows[0]
        return int(str(holder).split(":")[-2]), int(token)  # holder is "<host name>:<pid>:<nonce>"

    def leader(self, timeout_s: float = 30.0) -> Host:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            held = self.lease()
            host = self.host_of(held[0]) if held else None
            if host is not None:
                return host
            time.sleep(0.1)
        raise RuntimeError(f"no host took the lead within {timeout_s:.0f} s")
