"""The audit chain and its signed checkpoints, append-only.

Triggers refuse UPDATE and DELETE on both tables, so that no code path of futago can change the past; someone
with the file can still drop them, which is what the hash chain and the checkpoints are for. ``pos`` is the order
of storing; ``seq`` is the entry's own number, covered by its hash.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import orjson

from futago.core.audit import GENESIS, AuditEntry, Checkpoint
from futago.store.sql.db import Database

_ROWS = 400  # entries per INSERT: 3,200 parameters, within both engines' limits


@functools.lru_cache(maxsize=8)
def _insert_sql(rows: int) -> str:
    values = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * rows)
    return f"INSERT INTO audit (seq, ts, actor, action, resource, detail, prev, hash) VALUES {values}"


class SqlAudit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def append_audit_batch(self, makes: Sequence[Callable[[int, str], AuditEntry]]) -> list[AuditEntry]:
        entries: list[AuditEntry] = []
        with self.db.write() as conn:
            # One appender at a time reads the head and links to it: two writers (processes on PostgreSQL) that both
            # read the same head would fork the chain.
            self.db.serialize(conn, "futago.audit")
            head = conn.execute("SELECT seq, hash FROM audit ORDER BY pos DESC LIMIT 1").fetchone()
            seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
            for make in makes:
                entry = make(seq, prev)
                entries.append(entry)
                seq, prev = entry.seq + 1, entry.hash
            # Many rows per statement, not one statement per row (executemany): SQLite's module lets go of the GIL
            # for each statement and must win it back, which beside a busy thread costs up to 5 ms a row.
            for start in range(0, len(entries), _ROWS):
                part = entries[start : start + _ROWS]
                params = [
                    v
                    for e in part
                    for v in (e.seq, e.ts, e.actor, e.action, e.resource, e.stored_detail(), e.prev, e.hash)
                ]
                conn.execute(_insert_sql(len(part)), params)
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
                "INSERT INTO audit_checkpoints (seq, record) VALUES (?, ?) ON CONFLICT (seq) DO NOTHING",
                (checkpoint.seq, orjson.dumps(checkpoint.to_json()).decode()),
            )

    def list_audit_checkpoints(self) -> list[Checkpoint]:
        rows = self.db.read().execute("SELECT record FROM audit_checkpoints ORDER BY seq")
        return [Checkpoint.from_json(orjson.loads(record)) for (record,) in rows]
