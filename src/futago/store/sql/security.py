"""Policy entries and API keys. A key is stored as its scrypt hash and salt, never as itself."""

from __future__ import annotations

import orjson

from futago.core.errors import NotFound
from futago.core.keys import ApiKey
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
