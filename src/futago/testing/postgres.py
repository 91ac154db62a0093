"""A throwaway PostgreSQL cluster (with PostGIS) on a free port: the tests', the scale bench's and the
scale-out example's real database.

``initdb`` makes a cluster in a folder, ``postgres`` serves it on 127.0.0.1 only, with trust authentication for
the one local user: it is for a single machine's tests and demos, never for production. PostgreSQL refuses to run
as root, so as root the cluster belongs to the ``postgres`` user the Debian package creates.
``POSTGRES_BIN`` is None where the packages are not installed (``scripts/install-system-deps.sh``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from futago.testing.local import free_port, stop


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


POSTGRES_BIN = _postgres_bin()


def postgis_installed() -> bool:
    if POSTGRES_BIN is None:
        return False
    share = subprocess.run([str(POSTGRES_BIN / "pg_config"), "--sharedir"], capture_output=True, text=True)
    sharedir = Path(share.stdout.strip()) if share.returncode == 0 else POSTGRES_BIN.parent.parent.parent / "share"
    return (sharedir / "extension" / "postgis.control").exists() or any(
        Path("/usr/share/postgresql").glob("*/extension/postgis.control")
    )


class LocalPostgres:
    """One postgres process serving a fresh cluster in a folder of its own (removed by ``stop``, unless
    ``keep``); ``url`` connects to its ``futago`` database."""

    def __init__(self, *, durable: bool = False, max_connections: int = 300, keep: bool = False) -> None:
        if POSTGRES_BIN is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install-system-deps.sh")
        # Not under the caller's temporary folder: as root, the postgres user could not reach a private one.
        self.folder = Path(tempfile.mkdtemp(prefix="futago-pg-"))
        self.keep = keep
        self.data = self.folder / "pgdata"
        self.port = free_port()
        self.host = "127.0.0.1"
        self.durable = durable
        self.max_connections = max_connections
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.folder / "postgres.log"
        self.url = f"postgresql://futago@{self.host}:{self.port}/futago"

    def _as_owner(self) -> dict[str, object]:
        """Run a PostgreSQL binary as the cluster's owner: ourselves, or ``postgres`` when we are root."""
        if os.geteuid() != 0:
            return {}
        owner = pwd.getpwnam("postgres")
        return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    def start(self) -> None:
        assert POSTGRES_BIN is not None
        owner = self._as_owner()
        if not self.data.exists():
            self.data.mkdir(parents=True)
            if owner:
                for path in (self.folder, self.data):
                    os.chown(path, owner["user"], owner["group"])  # type: ignore[arg-type]
            subprocess.run(
                [str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "futago", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                check=True, capture_output=True, **owner,  # type: ignore[call-overload]
            )  # fmt: skip
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.folder),
            "max_connections": str(self.max_connections),
            "shared_buffers": "256MB",
            "max_locks_per_transaction": "256",  # partitions: a retention scan locks each one
        }
        if not self.durable:  # a throwaway cluster: speed over surviving a power cut
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        args = [str(POSTGRES_BIN / "postgres"), "-D", str(self.data)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **owner)  # type: ignore[call-overload]
        self._wait_ready()
        self._create_database()

    def _wait_ready(self) -> None:
        import psycopg

        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start: {self.log.read_text()[-2000:]}")
            try:
                psycopg.connect(f"postgresql://futago@{self.host}:{self.port}/postgres", connect_timeout=1).close()
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not accept connections on port {self.port} within 30 s")

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"postgresql://futago@{self.host}:{self.port}/postgres", autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'futago'").fetchone() is None:
                conn.execute("CREATE DATABASE futago")

    def stop(self) -> None:
        """A fast shutdown (SIGINT): open transactions roll back, committed ones are kept."""
        if self.process is None:
            return
        stop(self.process, signal.SIGINT, 30)
        self.process = None
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
