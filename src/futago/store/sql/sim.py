"""Behaviour definitions and the provenance record of every behaviour run."""

from __future__ import annotations

from typing import Any

import orjson

from futago.core.runs import BehaviourRun
from futago.store.sql.db import Database
from futago.store.sql.specs import NamedSpecs


class SqlSim:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._behaviours: NamedSpecs[str] = NamedSpecs(db, "behaviours", "behaviour")

    # Behaviours stay JSON documents: user-authored specs, stored verbatim, checked by sim before they get here.
    def put_behaviour(self, name: str, spec: dict[str, Any]) -> None:
        self._behaviours.put(name, spec)

    def list_behaviours(self) -> dict[str, dict[str, Any]]:
        return self._behaviours.all()

    def delete_behaviour(self, name: str) -> None:
        self._behaviours.delete(name)

    def add_behaviour_run(self, run: BehaviourRun, keep: int | None = None) -> int:
        doc = run.to_json()
        doc.pop("id", None)  # the store assigns it
        with self.db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO behaviour_runs (behaviour, twin_id, started, record) VALUES (?, ?, ?, ?) RETURNING id",
                (run.behaviour, run.twin_id, run.started, orjson.dumps(doc).decode()),
            )
            run_id = int(cursor.fetchone()[0])
            if keep is not None:
                conn.execute(
                    "DELETE FROM behaviour_runs WHERE behaviour = ? AND twin_id = ? AND id < ("
                    "SELECT MIN(id) FROM (SELECT id FROM behaviour_runs WHERE behaviour = ? AND twin_id = ? "
                    "ORDER BY id DESC LIMIT ?) AS newest)",
                    (run.behaviour, run.twin_id, run.behaviour, run.twin_id, keep),
                )
            return run_id

    def list_behaviour_runs(
        self, behaviour: str | None = None, twin_id: str | None = None, limit: int = 50
    ) -> list[BehaviourRun]:
        """Newest first."""
        sql, params = "SELECT id, record FROM behaviour_runs WHERE 1 = 1", list[Any]()
        if behaviour is not None:
            sql, params = sql + " AND behaviour = ?", [*params, behaviour]
        if twin_id is not None:
            sql, params = sql + " AND twin_id = ?", [*params, twin_id]
        rows = self.db.read().execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [BehaviourRun.from_json({**orjson.loads(record), "id": run_id}) for run_id, record in rows]
