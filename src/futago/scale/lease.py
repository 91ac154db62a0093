"""The leases that leadership is made of: a row in PostgreSQL for a cluster, a file lock for one machine.

Why a lease row with an expiry rather than an advisory lock held by a session: when the holder's process is
killed its TCP connection is reset and PostgreSQL drops the session at once, but when its whole host dies (power,
kernel panic, a cut cable) the connection stays half-open, and the server holds the lock until its TCP keepalives
give up (by default about two hours; tunable only on the server, for all of its sessions). A row whose ``expires``
is set by the database's clock on each renewal bounds takeover by the lease's length whatever the network did, and
needs no clock agreement between hosts. The holder renews every ``ttl_s / 3``; a standby takes an expired row in
one statement that also raises the fencing token, so two standbys never both win.

The holder's own view of its deadline is taken before the renewal is sent (so it is never later than the row's)
and shortened by a margin: a process paused past it (SIGSTOP, a frozen VM) wakes fenced, before it can ask.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any, Protocol

from futago.core.fence import LEASE_NAME

log = logging.getLogger(__name__)

#: The share of the lease a holder counts on: the rest covers a slower clock and the renewal's round trip.
SAFETY = 0.8


class Lease(Protocol):
    """One lease that at most one process holds at a time."""

    ttl_s: float  # math.inf: held until released or the holder dies (a file lock)

    def acquire(self, address: str | None) -> int | None:
        """The new fencing token when this process now holds the lease, else None."""
        ...

    def renew(self, token: int) -> bool:
        """False when the lease is no longer this process's (expired and taken, or gone)."""
        ...

    def confirm(self, token: int) -> bool:
        """Whether ``token`` is the current, unexpired token (asked of the authority, not the cache)."""
        ...

    def release(self, token: int) -> None: ...

    def address(self) -> str | None:
        """Where the current holder serves its API (for forwarding), if it said and the lease holds."""
        ...

    def close(self) -> None: ...


def holder_id() -> str:
    """This process, unique across hosts and restarts (a pid is reused; a restarted process is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PostgresLease:
    """A lease row (``leader_lease``, migration V2) on a connection of its own, so that a busy store never delays
    a renewal; each statement is bounded, so that a stuck database costs the lease rather than hanging it."""

    def __init__(self, url: str, name: str = LEASE_NAME, ttl_s: float = 3.0) -> None:
        self.url = url
        self.name = name
        self.ttl_s = ttl_s
        self.holder = holder_id()
        self._lock = threading.Lock()
        self._conn: Any = None

    def _execute(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        import psycopg

        with self._lock:
            try:
                if self._conn is None or self._conn.closed:
                    timeout_ms = max(int(self.ttl_s * 1000 / 3), 200)
                    self._conn = psycopg.connect(
                        self.url, autocommit=True, connect_timeout=max(1, int(self.ttl_s)),
                        options=f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
                        keepalives=1, keepalives_idle=1, keepalives_interval=1, keepalives_count=2,
                    )  # fmt: skip
                cursor = self._conn.execute(sql, params)
                # a statement without RETURNING (release) has no rows to fetch: psycopg would raise
                rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description is not None else []
                return rows
            except psycopg.Error:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                raise

    def acquire(self, address: str | None) -> int | None:
        rows = self._execute(
            "INSERT INTO leader_lease (name, holder, token, address, expires) "
            "VALUES (%s, %s, 1, %s, clock_timestamp() + make_interval(secs => %s)) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leader_lease.token + 1, "
            "address = excluded.address, expires = excluded.expires "
            "WHERE leader_lease.expires < clock_timestamp() RETURNING token",
            (self.name, self.holder, address, self.ttl_s),
        )
        return int(rows[0][0]) if rows else None

    def renew(self, token: int) -> bool:
        rows = self._execute(
            "UPDATE leader_lease SET expires = clock_timestamp() + make_interval(secs => %s) "
            "WHERE name = %s AND holder = %s AND token = %s AND expires > clock_timestamp() RETURNING token",
            (self.ttl_s, self.name, self.holder, token),
        )
        return bool(rows)

    def confirm(self, token: int) -> bool:
        rows = self._execute(
            "SELECT 1 FROM leader_lease WHERE name = %s AND holder = %s AND token = %s AND expires > clock_timestamp()",
            (self.name, self.holder, token),
        )
        return bool(rows)

    def release(self, token: int) -> None:
        """Hand the lease over at once (a clean shutdown): the next standby need not wait for it to expire."""
        self._execute(
            "UPDATE leader_lease SET expires = '-infinity' WHERE name = %s AND holder = %s AND token = %s",
            (self.name, self.holder, token),
        )

    def address(self) -> str | None:
        rows = self._execute(
            "SELECT address FROM leader_lease WHERE name = %s AND expires > clock_timestamp()", (self.name,)
        )
        return str(rows[0][0]) if rows and rows[0][0] else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class FileLease:
    """One machine: an exclusive lock on a file, which the operating system releases when the holder dies, so it
    never expires. The file keeps the last token and the holder's address, for the others to read."""

    ttl_s = math.inf

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self, address: str | None) -> int | None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        token = _read_record(handle).get("token", 0) + 1
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "token": token, "address": address}) + "\n")
        handle.flush()
        self._handle = handle
        return int(token)

    def renew(self, token: int) -> bool:
        return self._handle is not None

    def confirm(self, token: int) -> bool:
        return self._handle is not None

    def release(self, token: int) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def address(self) -> str | None:
        try:
            with self.path.open() as handle:
                address = _read_record(handle).get("address")
        except OSError:
            return None
        return str(address) if address else None

    def close(self) -> None:
        if self._handle is not None:
            self.release(0)


def _read_record(handle: IO[str]) -> dict[str, Any]:
    """The lock file's record; an older futago wrote only a pid there, and a damaged one counts from zero."""
    handle.seek(0)
    try:
        record = json.loads(handle.read() or "{}")
    except ValueError:
        return {}
    return record if isinstance(record, dict) and isinstance(record.get("token", 0), int) else {}


def deadline(started: float, ttl_s: float) -> float:
    """Until when a lease renewed (or acquired) from ``started`` (monotonic) may be counted on."""
    return math.inf if math.isinf(ttl_s) else started + ttl_s * SAFETY


def now() -> float:
    return time.monotonic()
