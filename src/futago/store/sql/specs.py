"""Named JSON specifications in one table (connections, behaviours): put replaces, delete names what is missing."""

from __future__ import annotations

from typing import Any

import orjson

from futago.core.errors import NotFound
from futago.store.sql.db import Database


class NamedSpecs:
    def __init__(self, db: Database, table: str, noun: str) -> None:
        self.db, self.table, self.noun = db, table, noun

    def put(self, name: str, spec: dict[str, Any]) -> None:
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO {self.table} (name, spec) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
                (name, orjson.dumps(spec).decode()),
            )

    def all(self) -> dict[str, dict[str, Any]]:
        rows = self.db.read().execute(f"SELECT name, spec FROM {self.table} ORDER BY name")
        return {name: orjson.loads(spec) for name, spec in rows}

    def delete(self, name: str) -> None:
        with self.db.write() as conn:
            if conn.execute(f"DELETE FROM {self.table} WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"{self.noun} '{name}' does not exist")
