"""One SQLite file in WAL mode, shared by the twin and telemetry parts of the adapter.

Writes go through one connection under a lock (SQLite has a single writer anyway), inside a
transaction. Reads use a connection per thread, so API threads read while a writer writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


class SQLiteDatabase:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        else:
            # A private in-memory database must be one shared connection for every thread.
            self.path = f"file:futago-{id(self)}?mode=memory&cache=shared"
        self._writer = _connect(self.path)
        self._write_lock = threading.RLock()
        self._writing_thread: int | None = None  # the thread inside a write transaction
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

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

    def executescript(self, script: str) -> None:
        with self._write_lock:
            self._writer.executescript(script)

    def close(self) -> None:
        for conn in self._readers:
            conn.close()
        self._readers.clear()
        self._writer.close()
