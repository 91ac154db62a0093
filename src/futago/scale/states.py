"""Connection state across processes: the leader records what its connectors do, the others read it.

Each write carries the leader's fencing token and changes nothing when the row holds a higher one, so a leader
that lost its lease cannot overwrite what its successor recorded (``connection_states``, migration V2).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from futago.core.fence import Fence, Fenced, acting, refused
from futago.core.twins import now_iso
from futago.ingest.connections import ConnectionManager
from futago.store.sql.db import Database, fenced

log = logging.getLogger(__name__)


class ConnectionStates:
    def __init__(self, db: Database, fence: Fence) -> None:
        self.db = db
        self.fence = fence

    def record(self, name: str, state: dict[str, Any]) -> bool:
        """Record a connector's state under the current token; False when it was refused (no lead, or stale)."""
        token = self.fence.token
        if token is None:
            return False
        try:
            with acting(token), self.db.write() as conn:
                fenced(self.db, conn, f"recording the state of connection '{name}'")  # Fenced: the lease moved on
                return self._upsert(conn, name, state, token)
        except Fenced as exc:
            refused("connection state", exc.detail)
            return False

    @staticmethod
    def _upsert(conn: Any, name: str, state: dict[str, Any], token: int) -> bool:
        cursor = conn.execute(
            "INSERT INTO connection_states (name, state, token, updated) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET state = excluded.state, token = excluded.token, "
            "updated = excluded.updated WHERE connection_states.token <= excluded.token",
            (name, orjson.dumps(state).decode(), token, now_iso()),
        )
        return bool(cursor.rowcount)

    def read(self, name: str) -> dict[str, Any] | None:
        row = self.db.read().execute("SELECT state FROM connection_states WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        try:
            state = orjson.loads(row[0])
        except orjson.JSONDecodeError:  # a damaged row says nothing: the connection reads as stopped
            log.warning("the stored state of connection %s is not JSON", name)
            return None
        return state if isinstance(state, dict) else None

    def record_all(self, connections: ConnectionManager) -> None:
        """The leader, at each maintenance pass: every known connection's state (a stopped one too)."""
        for name in connections.names():
            self.record(name, connections.state(name))
