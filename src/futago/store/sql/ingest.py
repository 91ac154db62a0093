"""Dead letters and connection specifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from futago.core.calibration import Calibration, CalibrationChange
from futago.core.dead_letters import DeadLetter
from futago.core.twins import now_iso
from futago.store.sql.db import Database
from futago.store.sql.specs import NamedSpecs

_COLUMNS = "id, connection, source, payload, reason, pointer, received, letter_key"


def _letter(row: tuple[Any, ...]) -> DeadLetter:
    return DeadLetter(
        id=row[0],
        connection=row[1],
        source=row[2],
        payload=bytes(row[3]),
        reason=row[4],
        pointer=row[5],
        received=row[6],
        key=row[7],
    )


class SqlIngest:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._connections: NamedSpecs[str] = NamedSpecs(db, "connections", "connection", secrets=True)

    def add_dead_letters(self, letters: Sequence[DeadLetter]) -> list[int]:
        """A letter whose key is stored already is kept once: the id of the stored one is returned for it."""
        ids: list[int] = []
        with self.db.write() as conn:
            for letter in letters:
                row = conn.execute(
                    "INSERT INTO dead_letters (connection, source, payload, reason, pointer, received, letter_key) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (letter_key) DO NOTHING RETURNING id",
                    (
                        letter.connection,
                        letter.source,
                        letter.payload,
                        letter.reason,
                        letter.pointer,
                        letter.received or now_iso(),
                        letter.key,
                    ),
                ).fetchone()
                if row is None:  # redelivered: the letter of its first failure stands
                    row = conn.execute("SELECT id FROM dead_letters WHERE letter_key = ?", (letter.key,)).fetchone()
                ids.append(int(row[0]))
        return ids

    def list_dead_letters(
        self, connection: str | None = None, after_id: int | None = None, limit: int = 100
    ) -> list[DeadLetter]:
        sql = f"SELECT {_COLUMNS} FROM dead_letters WHERE id > ?"
        params: list[Any] = [after_id or 0]
        if connection is not None:
            sql += " AND connection = ?"
            params.append(connection)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_letter(row) for row in self.db.read().execute(sql, params)]

    def get_dead_letters(self, ids: Iterable[int]) -> list[DeadLetter]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        sql = f"SELECT {_COLUMNS} FROM dead_letters WHERE id IN ({','.join('?' * len(wanted))}) ORDER BY id"
        return [_letter(row) for row in self.db.read().execute(sql, wanted)]

    def delete_dead_letters(self, ids: Iterable[int]) -> int:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        with self.db.write() as conn:
            sql = f"DELETE FROM dead_letters WHERE id IN ({','.join('?' * len(wanted))})"
            return int(conn.execute(sql, wanted).rowcount)

    def count_dead_letters(self) -> dict[str, int]:
        rows = self.db.read().execute("SELECT connection, COUNT(*) FROM dead_letters GROUP BY connection")
        return {name: int(count) for name, count in rows}

    def put_connection(self, name: str, spec: dict[str, Any]) -> None:
        self._connections.put(name, spec)

    def list_connections(self) -> dict[str, dict[str, Any]]:
        return self._connections.all()

    def delete_connection(self, name: str) -> None:
        self._connections.delete(name)

    def list_calibrations(self, twin_id: str | None = None) -> list[Calibration]:
        sql, params = "SELECT record FROM calibrations", []
        if twin_id is not None:
            sql, params = sql + " WHERE twin_id = ?", [twin_id]
        rows = self.db.read().execute(sql + " ORDER BY twin_id, telemetry, id", params)
        return [Calibration.from_json(orjson.loads(r[0])) for r in rows]

    def save_calibrations(
        self, twin_id: str, telemetry: str, records: Sequence[Calibration], change: CalibrationChange
    ) -> None:
        with self.db.write() as conn:
            # Two writers replacing one series' records at once (processes on PostgreSQL) would each delete only
            # what they saw, then insert the same keys: one at a time instead.
            self.db.serialize(conn, f"futago.calibrations/{twin_id}/{telemetry}")
            conn.execute("DELETE FROM calibrations WHERE twin_id = ? AND telemetry = ?", (twin_id, telemetry))
            conn.executemany(
                "INSERT INTO calibrations (twin_id, telemetry, id, record) VALUES (?, ?, ?, ?)",
                [(twin_id, telemetry, r.id, orjson.dumps(r.to_json()).decode()) for r in records],
            )
            conn.execute(
                "INSERT INTO calibration_changes (twin_id, telemetry, change) VALUES (?, ?, ?)",
                (twin_id, telemetry, orjson.dumps(change.to_json()).decode()),
            )

    def list_calibration_changes(self, twin_id: str, telemetry: str) -> list[CalibrationChange]:
        rows = self.db.read().execute(
            "SELECT change FROM calibration_changes WHERE twin_id = ? AND telemetry = ? ORDER BY seq",
            (twin_id, telemetry),
        )
        return [CalibrationChange.from_json(orjson.loads(r[0])) for r in rows]
