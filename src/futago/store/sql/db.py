"""What the portable SQL modules need of a database: SQLite's and PostgreSQL's adapters both offer it.

Statements use ``?`` placeholders and SQL that both engines speak (``ON CONFLICT ... DO UPDATE``, ``RETURNING``);
what differs between the engines is named here, so the modules need not branch on the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from futago.core.fence import LEASE_NAME, Fenced, acting_token
from futago.core.secrets import SecretBox


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Any: ...


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    # Appended to a SELECT inside a write that reads a row it will then change (an ETag check, a budget): with
    # several writers (PostgreSQL) it locks the row; SQLite has one writer at a time and needs nothing.
    for_update: str
    # What a broken UNIQUE or PRIMARY KEY constraint raises.
    integrity_error: type[Exception]
    # Seals the secrets of stored connections, channel settings and subscribers (None: kept in plain text).
    secrets: SecretBox | None
    # Whether this database holds the cluster's lease (``leader_lease``, PostgreSQL): side-effect rows are then
    # checked against it as they are written (``fenced``). Beside SQLite a file lock on one machine decides.
    leader_lease: bool

    def write(self) -> AbstractContextManager[Any]:
        """A write transaction (nested use joins the outer one): committed on success, rolled back on error."""
        ...

    def read(self) -> Any:
        """This thread's connection for reads; inside its own write, the writing connection."""
        ...

    def serialize(self, conn: Any, name: str) -> None:
        """Inside a write: wait until no other writer holds ``name`` (a hash chain's head, say) before going on."""
        ...

    def close(self) -> None: ...


def fenced(db: Database, conn: Any, action: str) -> int | None:
    """Inside a write of side-effect rows (deliveries, commands, connection states): the fencing token they carry
    (``futago.core.fence.acting``), after checking it against the lease in the same transaction; Fenced (and the
    transaction rolls back) when another process has taken the lease since. The lease row is read FOR KEY SHARE
    and the token is a key column (migration V7), so a takeover (which raises the token) waits for this
    transaction: a row that passed is ordered before it, and the next leader's restore reads it. The leader's
    renewal changes only ``expires`` and is never held up by its own side effects."""
    token = acting_token()
    if token is None or not db.leader_lease:
        return token
    row = conn.execute("SELECT token FROM leader_lease WHERE name = ? FOR KEY SHARE", (LEASE_NAME,)).fetchone()
    if row is not None and int(row[0]) > token:
        raise Fenced(f"{action}: refused, fencing token {token} is stale (the lease is at {int(row[0])})")
    return token
