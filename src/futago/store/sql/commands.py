"""Command bindings (transport, envelope and mode per twin and command) and command records.

A command record is the audit of one command (who proposed it, who approved it, what was sent, the device's
answer, the resulting state) kept as JSON; the columns beside it exist only to find records. ``admitted_us`` is
when the record passed the safety envelope on its way to the device: the rate limit and the rate-of-change check
count those. The service keeps it in the record (``admitted_us``): set on approval, cleared again when the command
failed before anything was sent. Records are converted to and from their JSON here, at the edge.
"""

from __future__ import annotations

from typing import Any

import orjson

from futago.core.commands import CommandRecord
from futago.store.sql.db import Database, fenced
from futago.store.sql.specs import NamedSpecs


class SqlCommands:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._bindings: NamedSpecs[tuple[str, str]] = NamedSpecs(
            db,
            "command_bindings",
            "command binding",
            columns=("twin_id", "command"),
            missing=lambda key: f"twin '{key[0]}' has no binding for command '{key[1]}'",
        )

    # -- bindings ---------------------------------------------------------------------------------

    def put_command_binding(self, twin_id: str, command: str, spec: dict[str, Any]) -> None:
        self._bindings.put((twin_id, command), spec)

    def list_command_bindings(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._bindings.all()

    def delete_command_binding(self, twin_id: str, command: str) -> None:
        self._bindings.delete((twin_id, command))

    # -- records ----------------------------------------------------------------------------------

    def add_command(self, record: CommandRecord) -> None:
        """Stored with the fencing token it was decided under (futago.core.fence.acting); Fenced when stale."""
        with self.db.write() as conn:
            token = fenced(self.db, conn, f"recording command {record.id}")
            conn.execute(
                "INSERT INTO commands (id, twin_id, command, state, admitted_us, record, fence_token) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.twin_id, record.command, record.state, record.admitted_us, _dumps(record), token),
            )

    def update_command(self, record: CommandRecord, expected_state: str) -> bool:
        """Replace a record only while it is still in ``expected_state`` (compare-and-set), so that two
        approvers, or an approver and a rejecter, cannot both move the same command on. Fenced when the token it
        is written with is stale (a former leader recording what it sent)."""
        with self.db.write() as conn:
            token = fenced(self.db, conn, f"moving command {record.id} to {record.state}")
            changed = conn.execute(
                "UPDATE commands SET state = ?, admitted_us = ?, record = ?, fence_token = ? "
                "WHERE id = ? AND state = ?",
                (record.state, record.admitted_us, _dumps(record), token, record.id, expected_state),
            ).rowcount
        return changed == 1

    def get_command(self, command_id: str) -> CommandRecord | None:
        row = self.db.read().execute("SELECT record FROM commands WHERE id = ?", (command_id,)).fetchone()
        return None if row is None else CommandRecord.from_json(orjson.loads(row[0]))

    def list_commands(
        self,
        state: str | None = None,
        twin_id: str | None = None,
        command: str | None = None,
        limit: int = 100,
    ) -> list[CommandRecord]:
        """Newest first."""
        sql, params = "SELECT record FROM commands WHERE 1 = 1", list[Any]()
        for column, value in (("state", state), ("twin_id", twin_id), ("command", command)):
            if value is not None:
                sql, params = f"{sql} AND {column} = ?", [*params, value]
        rows = self.db.read().execute(f"{sql} ORDER BY seq DESC LIMIT ?", [*params, limit])
        return [CommandRecord.from_json(orjson.loads(record)) for (record,) in rows]

    def list_admitted_commands(
        self, twin_id: str, command: str, since_us: int | None = None, limit: int = 1000
    ) -> list[CommandRecord]:
        """The records of a twin's command that passed the envelope (since ``since_us``), newest first."""
        rows = self.db.read().execute(
            "SELECT record FROM commands WHERE twin_id = ? AND command = ? "
            "AND admitted_us IS NOT NULL AND admitted_us >= ? ORDER BY admitted_us DESC LIMIT ?",
            (twin_id, command, since_us if since_us is not None else -(2**62), limit),
        )
        return [CommandRecord.from_json(orjson.loads(record)) for (record,) in rows]


def _dumps(record: CommandRecord) -> str:
    return orjson.dumps(record.to_json()).decode()
