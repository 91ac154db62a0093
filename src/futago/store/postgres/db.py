"""A PostgreSQL database behind the same small interface as the SQLite one (``futago.store.sql.db.Database``).

Each thread has its own connection (psycopg connections are not shared between threads), in autocommit mode so
that each read sees the latest commit; ``write`` wraps a transaction around it. Several processes may write at
once, unlike SQLite: a read-then-write takes row locks (``for_update``) and a chain's head an advisory lock
(``serialize``). Statements arrive with SQLite's ``?`` placeholders and are translated once each.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.secrets import SecretBox, redact_url
from futago.core.twins import now_iso
from futago.store import migrations

MIGRATIONS = "futago.store.postgres.migrations"
_MIGRATION_LOCK = 0x66757461  # an advisory lock key of futago's own: one upgrader at a time

# A ? outside quotes; quoted text is kept as it is.
_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|%")


@lru_cache(maxsize=1024)
def _translate(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` doubled)."""
    return _TOKENS.sub(lambda m: "%s" if m[0] == "?" else "%%" if m[0] == "%" else m[0], sql)


class PostgresConnection:
    """One psycopg connection that speaks the placeholders of the portable SQL modules."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self.depth = 0  # nesting of write() on this connection

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        try:
            if params is None:
                return self.raw.execute(sql.encode())
            return self.raw.execute(_translate(sql).encode(), params)
        except psycopg.DataError as exc:
            if _holds_nul(exc):
                raise _nul_input() from exc
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self.raw.cursor()
        rows = list(rows)
        if rows:
            try:
                cursor.executemany(_translate(sql).encode(), rows)
            except psycopg.DataError as exc:
                if _holds_nul(exc):
                    raise _nul_input() from exc
                raise
        return cursor


# PostgreSQL's text and JSONB cannot hold U+0000, which SQLite stores like any other character: psycopg refuses such
# a parameter before sending it (a DataError without an SQLSTATE), the server refuses "\u0000" in JSONB (22P05).
# Either is the caller's input, not a fault of the store: an id, a name or a property no stored row can hold.
_NUL_IN_JSON = "22P05"


def _holds_nul(exc: psycopg.DataError) -> bool:
    return (exc.sqlstate is None and "NUL" in str(exc)) or exc.sqlstate == _NUL_IN_JSON


def _nul_input() -> InvalidInput:
    return InvalidInput([Problem("", "text with the NUL character (U+0000) cannot be stored or looked up")])


def _connect(url: str) -> psycopg.Connection[Any]:
    raw = psycopg.connect(url, autocommit=True)
    # JSON documents come back as text, as from SQLite: the modules parse them with orjson themselves.
    raw.adapters.register_loader("jsonb", TextLoader)
    raw.adapters.register_loader("json", TextLoader)
    return raw


class PostgresDatabase:
    engine = "postgresql"
    migrations_package = MIGRATIONS
    for_update = " FOR UPDATE"
    leader_lease = True  # the cluster's lease row (V2): side-effect writes are checked against it
    integrity_error: type[Exception] = psycopg.errors.IntegrityError
    secrets: SecretBox | None = None

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, PostgresConnection] = {}
        try:
            self.connection()
        except psycopg.OperationalError as exc:
            raise ConnectionError(f"cannot reach PostgreSQL at {redact(url)}: {' '.join(str(exc).split())}") from exc
        try:
            self.applied_migrations = self.upgrade()
        except psycopg.Error as exc:  # PostGIS missing, no right to create tables: say so, not a traceback
            self.close()
            detail = " ".join(str(exc).split())
            raise ConnectionError(f"cannot bring the schema at {redact(url)} up to date: {detail}") from exc

    def connection(self) -> PostgresConnection:
        conn: PostgresConnection | None = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed:
            conn = PostgresConnection(_connect(self.url))
            self._local.conn = conn
            with self._lock:
                # A connection per thread: those of threads that have ended (a restarted connector's, say) are
                # closed here, or each would hold a server backend until the store closes.
                for thread in [t for t in self._connections if not t.is_alive()]:
                    self._connections.pop(thread).raw.close()
                previous = self._connections.get(threading.current_thread())
                if previous is not None:
                    previous.raw.close()
                self._connections[threading.current_thread()] = conn
        return conn

    @contextmanager
    def write(self) -> Iterator[PostgresConnection]:
        conn = self.connection()
        if conn.depth:  # nested use joins the outer transaction
            conn.depth += 1
            try:
                yield conn
            finally:
                conn.depth -= 1
            return
        conn.depth = 1
        try:
            with conn.raw.transaction():
                yield conn
        finally:
            conn.depth = 0

    def read(self) -> PostgresConnection:
        return self.connection()

    def serialize(self, conn: PostgresConnection, name: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (name,))

    def upgrade(self) -> list[str]:
        """Apply the pending schema migrations, one process at a time; the keys of those applied."""
        conn = self.connection()
        conn.execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))
        try:
            conn.execute(migrations.BOOKKEEPING)
            applied = dict(conn.execute("SELECT key, checksum FROM schema_migrations").fetchall())
            return migrations.upgrade(migrations.load(MIGRATIONS), applied, self._run_script, now_iso())
        finally:
            conn.execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))

    def _run_script(self, script: str) -> None:
        with self.write() as conn:
            conn.execute(script)

    def close(self) -> None:
        with self._lock:
            for conn in self._connections.values():
                conn.raw.close()
            self._connections.clear()


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    return redact_url(url)
