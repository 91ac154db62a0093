"""Hosted NGSI-LD @contexts (``/ngsi-ld/v1/jsonldContexts``): one row each, shared by every process on the store.

The @context is kept as the JSON text it was POSTed as (its member order is what GET answers). The bound on how
many are hosted is checked in the transaction that inserts, with the writers serialized, so that two processes
adding at once cannot pass it.
"""

from __future__ import annotations

import orjson

from futago.core.errors import Conflict
from futago.core.ports import HostedContext
from futago.store.sql.db import Database

_COLUMNS = "id, context, created_at, hits, last_usage"


def _record(row: tuple[str, str, str, int, str | None]) -> HostedContext:
    local_id, context, created_at, hits, last_usage = row
    return HostedContext(local_id, orjson.loads(context), created_at, int(hits), last_usage)


class SqlNgsiLdContexts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_ngsild_context(self, context: HostedContext, limit: int) -> None:
        with self.db.write() as conn:
            self.db.serialize(conn, "ngsild_contexts")
            if int(conn.execute("SELECT COUNT(*) FROM ngsild_contexts").fetchone()[0]) >= limit:
                raise Conflict(f"at most {limit} hosted contexts")
            conn.execute(
                f"INSERT INTO ngsild_contexts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (context.local_id, orjson.dumps(context.context).decode(), context.created_at, context.hits,
                 context.last_usage),
            )  # fmt: skip

    def get_ngsild_context(self, local_id: str) -> HostedContext | None:
        row = self.db.read().execute(f"SELECT {_COLUMNS} FROM ngsild_contexts WHERE id = ?", (local_id,)).fetchone()
        return None if row is None else _record(row)

    def list_ngsild_contexts(self) -> list[HostedContext]:
        return [_record(row) for row in self.db.read().execute(f"SELECT {_COLUMNS} FROM ngsild_contexts ORDER BY id")]

    def ngsild_context_ids(self) -> set[str]:
        return {row[0] for row in self.db.read().execute("SELECT id FROM ngsild_contexts")}

    def use_ngsild_context(self, local_id: str, used_at: str) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE ngsild_contexts SET hits = hits + 1, last_usage = ? WHERE id = ?", (used_at, local_id))

    def delete_ngsild_context(self, local_id: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute("DELETE FROM ngsild_contexts WHERE id = ?", (local_id,)).rowcount)
