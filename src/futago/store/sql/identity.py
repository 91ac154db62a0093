"""The store's identity: the random id its migration drew once (``store_identity``), the same for every process."""

from __future__ import annotations

from futago.store.sql.db import Database


class SqlStoreIdentity:
    db: Database

    def store_identity(self) -> str:
        row = self.db.read().execute("SELECT id FROM store_identity").fetchone()
        return str(row[0])
