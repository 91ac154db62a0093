"""The audit chain and its signed checkpoints in SQLite, append-only.

Triggers refuse UPDATE and DELETE on both tables, so that no code path of futago can change the past; someone
with the file can still drop them, which is what the hash chain and the checkpoints are for. ``pos`` is the order
of storing; ``seq`` is the entry's own number, covered by its hash.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from futago.core.audit import GENESIS, AuditEntry, Checkpoint
from futago.store.sqlite.db import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    pos INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
"""


class SQLiteAudit:
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        db.executescript(SCHEMA)

    def append_audit_batch(self, makes: Sequence[Callable[[int, str], AuditEntry]]) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        with self.db.write() as conn:
            head = conn.execute("SELECT seq, hash FROM audit ORDER BY pos DESC LIMIT 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            for make in makes:
                entry = make(seq, prev)
                entries.append(entry)
                seq, prev = entry.seq + 1, entry.hash
            conn.executemany(
                "INSERT INTO audit (seq, ts, actor, action, resource, detail, prev, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.seq, e.ts, e.actor, e.action, e.resource, orjson.dumps(e.detail).decode(), e.prev, e.hash)
                    for e in entries
                ],
            )
        return entries

    def scan_audit(self, after: int = 0, limit: int = 1000) -> list[tuple[int, AuditEntry]]:
        rows = self.db.read().execute(
            "SELECT pos, seq, ts, actor, action, resource, detail, prev, hash FROM audit WHERE pos > ? "
            "ORDER BY pos LIMIT ?",
            (after, limit),
        )
        return [
            (pos, AuditEntry(seq, ts, actor, action, resource, orjson.loads(detail), prev, digest))
            for pos, seq, ts, actor, action, resource, detail, prev, digest in rows
        ]

    def count_audit(self) -> int:
        return int(self.db.read().execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    def put_audit_checkpoint(self, checkpoint: Checkpoint) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO audit_checkpoints (seq, record) VALUES (?, ?)",
                (checkpoint.seq, orjson.dumps(checkpoint.to_json()).decode()),
            )

    def list_audit_checkpoints(self) -> list[Checkpoint]:
        rows = self.db.read().execute("SELECT record FROM audit_checkpoints ORDER BY seq")
        return [Checkpoint.from_json(orjson.loads(record)) for (record,) in rows]
