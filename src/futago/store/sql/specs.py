"""Named JSON specifications, one table per kind: put replaces, delete names what is missing.

Alert rules, behaviours, connections, notification channel settings and command bindings are all stored this way,
through this one repository. A specification is keyed by its name, or by several columns (a command binding by
twin and command). Specifications that hold secrets (connections, notification channel settings) are stored with
them sealed by the database's ``secrets`` box and read back with them as ``Secret`` values
(``futago.core.secrets``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

import orjson

from futago.core.errors import NotFound
from futago.core.secrets import seal, unseal
from futago.store.sql.db import Database

# A specification's key: its name, or (for a key of several columns) a tuple of their values.
K = TypeVar("K", str, tuple[str, str])


class NamedSpecs(Generic[K]):
    def __init__(
        self,
        db: Database,
        table: str,
        noun: str,
        secrets: bool = False,
        columns: tuple[str, ...] = ("name",),
        missing: Callable[[K], str] | None = None,
    ) -> None:
        self.db, self.table, self.noun, self.secrets, self.columns = db, table, noun, secrets, columns
        self._missing: Callable[[K], str] = missing or (lambda key: f"{noun} '{key}' does not exist")
        self._where = " AND ".join(f"{column} = ?" for column in columns)

    def _values(self, key: K) -> tuple[str, ...]:
        return (key,) if isinstance(key, str) else key

    def put(self, key: K, spec: dict[str, Any]) -> None:
        stored = seal(spec, self.db.secrets) if self.secrets else spec
        columns = ", ".join(self.columns)
        with self.db.write() as conn:
            conn.execute(
                f"INSERT INTO {self.table} ({columns}, spec) VALUES ({', '.join('?' * len(self.columns))}, ?) "
                f"ON CONFLICT ({columns}) DO UPDATE SET spec = excluded.spec",
                (*self._values(key), orjson.dumps(stored).decode()),
            )

    def all(self) -> dict[K, dict[str, Any]]:
        """Every specification, in key order."""
        columns = ", ".join(self.columns)
        rows = self.db.read().execute(f"SELECT {columns}, spec FROM {self.table} ORDER BY {columns}")
        specs: dict[K, dict[str, Any]] = {}
        for *key, spec in rows:
            document = orjson.loads(spec)
            specs[cast(K, key[0] if len(key) == 1 else tuple(key))] = (
                unseal(document, self.db.secrets) if self.secrets else document
            )
        return specs

    def delete(self, key: K) -> None:
        with self.db.write() as conn:
            if conn.execute(f"DELETE FROM {self.table} WHERE {self._where}", self._values(key)).rowcount == 0:
                raise NotFound(self._missing(key))
