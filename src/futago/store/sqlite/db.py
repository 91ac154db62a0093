"""One SQLite file in WAL mode, shared by the twin and telemetry parts of the adapter.

Writes go through one connection under a lock (SQLite has a single writer anyway), inside a
transaction. Reads use a connection per thread, so API threads read while a writer writes.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from futago.core.secrets import SecretBox
from futago.core.twins import now_iso
from futago.store import migrations

MIGRATIONS = "futago.store.sqlite.migrations"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, check_same_thread=False, isolation_level=None, timeout=30.0, uri=path.startswith("file:")
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache per connection
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA mmap_size=268435456")
    return conn


def _owner_only(path: Path) -> None:
    """The store holds what no other user of the machine may read (audit, personal data, sealed secrets): the
    file is made 0600 before SQLite opens it, and SQLite gives its -wal and -shm files the same mode. A store
    made before this was so is narrowed to 0600 too."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            try:
                if existing.stat().st_mode & 0o077:
                    existing.chmod(0o600)
            except OSError:  # missing, or another user's file: SQLite reports what it cannot open
                pass


class SQLiteDatabase:
    """The ``futago.store.sql.db.Database`` of the SQLite adapter; the schema is brought up to date on opening."""

    engine = "sqlite"
    migrations_package = MIGRATIONS
    for_update = ""  # one writer at a time: a row read inside a write cannot change under it
    leader_lease = False  # one machine: a file lock decides who leads, and it never goes stale
    integrity_error: type[Exception] = sqlite3.IntegrityError
    secrets: SecretBox | None = None

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            if not self.path.startswith("file:"):
                _owner_only(Path(self.path))
        else:
            # A private in-memory database must be one shared connection for every thread.
            self.path = f"file:futago-{id(self)}?mode=memory&cache=shared"
        self._writer = _connect(self.path)
        self._write_lock = threading.RLock()
        self._writing_thread: int | None = None  # the thread inside a write transaction
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self.applied_migrations = self.upgrade()

    def upgrade(self) -> list[str]:
        """Apply the pending schema migrations; the keys of those applied."""
        with self._write_lock:
            self._writer.execute(migrations.BOOKKEEPING)
            applied = dict(self._writer.execute("SELECT key, checksum FROM schema_migrations").fetchall())
            return migrations.upgrade(migrations.load(MIGRATIONS), applied, self._run_script, now_iso())

    def _run_script(self, script: str) -> None:
        # executescript commits whatever is open first, then runs the text as it is: the BEGIN makes it one unit.
        try:
            self._writer.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")
        except BaseException:
            if self._writer.in_transaction:
                self._writer.execute("ROLLBACK")
            raise

    def serialize(self, conn: sqlite3.Connection, name: str) -> None:
        """Nothing to wait for: SQLite's writes are already one at a time."""

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any error."""
        with self._write_lock:
            conn = self._writer
            if conn.in_transaction:  # nested use joins the outer transaction
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            self._writing_thread = threading.get_ident()
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._writing_thread = None

    def read(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit: each statement sees the latest commit).

        Inside its own write transaction a thread reads through the writer, so a unit of work
        sees what it has written so far.
        """
        if self._writing_thread == threading.get_ident():
            return self._writer
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            self._readers.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        self._writer.close()
