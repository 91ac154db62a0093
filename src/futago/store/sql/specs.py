"""Named JSON specifications in one table (connections, behaviours): put replaces, delete names what is missing.

Specifications that hold secrets (connections, notification channel settings) are stored with them sealed by the
database's ``secrets`` box and read back with them as ``Secret`` values (``futago.core.secrets``).
"""

from __future__ import annotations

from typing import Any

import orjson

from futago.core.errors import NotFound
from futago.core.secrets import seal, unseal
from futago.store.sql.db import Database


class NamedSpecs:
    def __init__(self, db: Database, table: str, noun: str, secrets: bool = False) -> None:
        self.db, self.table, self.noun, self.secrets = db, table, noun, secrets

    def put(self, name: str, spec: dict[str, Any]) -> None:
        stored = seal(spec, self.db.secrets) if self.secrets else spec
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO {self.table} (name, spec) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
                (name, orjson.dumps(stored).decode()),
            )

    def all(self) -> dict[str, dict[str, Any]]:
        rows = self.db.read().execute(f"SELECT name, spec FROM {self.table} ORDER BY name")
        if self.secrets:
            return {name: unseal(orjson.loads(spec), self.db.secrets) for name, spec in rows}
        return {name: orjson.loads(spec) for name, spec in rows}

    def delete(self, name: str) -> None:
        with self.db.write() as conn:
            if conn.execute(f"DELETE FROM {self.table} WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"{self.noun} '{name}' does not exist")
