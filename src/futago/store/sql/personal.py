"""Personal data: sealed records (AES-GCM ciphertext, the key is in the vault, not here) and consents."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from futago.core.consents import Consent
from futago.store.sql.db import Database


class SqlPersonal:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_personal_records(self, rows: Sequence[tuple[str, str, str, int, bytes]]) -> None:
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO personal_records (person, kind, name, ts, sealed) VALUES (?, ?, ?, ?, ?)", rows
            )

    def personal_records(self, person: str) -> list[tuple[str, str, int, bytes]]:
        rows = self.db.read().execute(
            "SELECT kind, name, ts, sealed FROM personal_records WHERE person = ? ORDER BY kind, name, ts, id",
            (person,),
        )
        return [(kind, name, ts, bytes(sealed)) for kind, name, ts, sealed in rows]

    def put_consent(self, consent: Consent) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO consents (person, purpose, record) VALUES (?, ?, ?) "
                "ON CONFLICT (person, purpose) DO UPDATE SET record = excluded.record",
                (consent.person, consent.purpose, orjson.dumps(consent.to_json()).decode()),
            )

    def list_consents(self, person: str) -> list[Consent]:
        rows = self.db.read().execute("SELECT record FROM consents WHERE person = ? ORDER BY purpose", (person,))
        return [Consent.from_json(orjson.loads(record)) for (record,) in rows]
