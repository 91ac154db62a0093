"""One store, one writer: a server (``futago serve``, ``futago demo``) holds its store while it runs, and a second
one started on the same store is refused at once, naming the first, instead of writing under it.

The hold is an exclusive ``flock`` on a file beside the store (``<db>.server.lock``) that says who holds it (pid,
host, address, since). The operating system lets go of the lock when the holder's process ends, however it ends, so
the lock of a dead process is simply taken over; the file itself stays (removing it would race a newcomer).

A PostgreSQL store is meant to be shared by several ``futago serve`` processes (``--workers``, a load balancer in
front of several: futago.scale leads one of them), so ``serve`` holds nothing there. ``futago demo`` seeds and
simulates, so over PostgreSQL it holds a lock in ./futago-data named after the server and database: a second demo
on that machine is refused (processes on other machines are not seen: a file lock is per machine).

The port is checked too, before anything is seeded: a busy port is a sentence at once, not a failure after the
demo has spent its start-up writing a day of history.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from futago.core.errors import Conflict
from futago.store.url import StoreUrl


def server_lock_path(db: str, exclusive_on_server: bool, server_files: Path) -> Path | None:
    """The lock a server on ``db`` holds: beside a file store; for a database server only when
    ``exclusive_on_server`` (the demo), in ``server_files`` (futago.app.server_store_files: the data root, an
    absolute path); none for an in-memory store."""
    where = StoreUrl.parse(db)
    if where.in_memory:
        return None
    if where.file is not None:
        return Path(f"{where.path}.server.lock")
    if not exclusive_on_server:
        return None
    url = urlsplit(where.path)
    name = "-".join(str(part) for part in (url.hostname, url.port, url.path.strip("/")) if part)
    return server_files / f"demo-{re.sub(r'[^A-Za-z0-9._-]+', '_', name) or 'db'}.lock"


class StoreHold:
    """The held lock; ``release`` lets it go (the process ending does too)."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is None:
            return
        try:
            self._handle.seek(0)
            self._handle.truncate()  # nobody holds it now: a reader finds no stale holder
        finally:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> StoreHold:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def hold_store(
    db: str, command: str, host: str, port: int, server_files: Path, exclusive_on_server: bool = False
) -> StoreHold | None:
    """Take the store for this server, or raise Conflict naming the process that has it. None: nothing to hold."""
    path = server_lock_path(db, exclusive_on_server, server_files)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = _holder(handle.read())
        handle.close()
        if exc.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
            raise
        raise Conflict(_refusal(db, command, holder, path)) from None
    handle.seek(0)
    handle.truncate()
    since = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": command, "address": f"{host}:{port}",
              "since": since}  # fmt: skip
    handle.write(json.dumps(record) + "\n")
    handle.flush()
    return StoreHold(path, handle)


def _holder(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _refusal(db: str, command: str, holder: dict[str, Any], path: Path) -> str:
    if holder:
        who = (
            f"futago {holder.get('command', 'serve')} (pid {holder.get('pid')} on host {holder.get('host')}, "
            f"serving http://{holder.get('address')}, since {holder.get('since')})"
        )
    else:
        who = "another futago server"
    return (
        f"{db} is in use by {who}; one server writes a store at a time. Stop it first, open its dashboard, or give "
        f"this {command} another store with --db (the lock is {path})"
    )


def check_port_free(host: str, port: int) -> None:
    """Raise Conflict when ``host:port`` cannot be bound, before anything is started or seeded."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise Conflict(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as uvicorn binds: a port left in TIME_WAIT by a server that just stopped is free to use
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Conflict(f"port {port} on {host} is in use by another program; choose one with --port") from None
            raise Conflict(f"cannot serve on {host}:{port}: {exc.strerror}") from None
