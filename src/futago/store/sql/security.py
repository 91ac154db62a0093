"""Policy entries and API keys, dashboard sessions and the shared refusal and rate budgets. A key is stored as its
scrypt hash and salt, never as itself; a session as the hash of its cookie."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from futago.core.errors import NotFound
from futago.core.keys import ApiKey, SessionRecord
from futago.core.policies import PolicyEntry
from futago.store.sql.db import Database


class SqlSecurity:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_policy_entry(self, entry: PolicyEntry) -> int:
        body = entry.to_json()
        body.pop("id", None)  # the row's key is the id
        with self.db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO policies (entry) VALUES (?) RETURNING id", (orjson.dumps(body).decode(),)
            )
            return int(cursor.fetchone()[0])

    def delete_policy_entry(self, entry_id: int) -> None:
        with self.db.write() as conn:
            if conn.execute("DELETE FROM policies WHERE id = ?", (entry_id,)).rowcount == 0:
                raise NotFound(f"policy entry {entry_id} does not exist")

    def list_policy_entries(self) -> list[PolicyEntry]:
        rows = self.db.read().execute("SELECT id, entry FROM policies ORDER BY id")
        # parse, not from_json: a row that is not an entry is refused with its problems rather than half-read
        return [PolicyEntry.parse({**orjson.loads(entry), "id": entry_id}) for entry_id, entry in rows]

    def put_api_key(self, record: ApiKey) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO api_keys (id, record) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET record = excluded.record",
                (record.id, orjson.dumps(record.to_json()).decode()),
            )

    def get_api_key(self, key_id: str) -> ApiKey | None:
        row = self.db.read().execute("SELECT record FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return ApiKey.from_json(orjson.loads(row[0])) if row else None

    def list_api_keys(self) -> list[ApiKey]:
        rows = self.db.read().execute("SELECT record FROM api_keys ORDER BY id")
        return [ApiKey.from_json(orjson.loads(r)) for (r,) in rows]

    def put_session(self, session: SessionRecord) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO sessions (id, expires_us, key_id, principal) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET expires_us = excluded.expires_us, principal = excluded.principal",
                (session.id, session.expires_us, session.key_id, orjson.dumps(session.to_json()).decode()),
            )

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self.db.read().execute("SELECT principal FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return SessionRecord.from_json(orjson.loads(row[0])) if row else None

    def delete_sessions(self, session_id: str | None = None, key_id: str | None = None, ended_us: int = 0) -> int:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM sessions WHERE id = ? OR key_id = ? OR expires_us < ?", (session_id, key_id, ended_us)
            )
            return int(cursor.rowcount)

    def add_rate_counts(self, counts: Mapping[tuple[str, int], int], prune_before: int | None = None) -> None:
        with self.db.write() as conn:
            if counts:
                conn.executemany(
                    "INSERT INTO rate_counts (bucket, minute, count) VALUES (?, ?, ?) "
                    "ON CONFLICT (bucket, minute) DO UPDATE SET count = rate_counts.count + excluded.count",
                    [(bucket, minute, count) for (bucket, minute), count in sorted(counts.items())],
                )
            if prune_before is not None:
                conn.execute("DELETE FROM rate_counts WHERE minute < ?", (prune_before,))

    def rate_counts(self, buckets: Sequence[str], since_minute: int) -> dict[str, int]:
        wanted = list(dict.fromkeys(buckets))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self.db.read().execute(
            f"SELECT bucket, SUM(count) FROM rate_counts WHERE minute >= ? AND bucket IN ({marks}) GROUP BY bucket",
            [since_minute, *wanted],
        )
        return {bucket: int(total) for bucket, total in rows}
