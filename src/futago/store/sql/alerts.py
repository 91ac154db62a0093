"""Rule definitions, alerts and every alert's history.

An alert is one row (its JSON, with the columns it is filtered by); its history is an append-only table beside it,
so a transition adds a row instead of rewriting a growing document, and the full history survives as written.
Pages run newest first by the row's sequence number, which also serves as the continuation cursor. The rows hold the
alert's JSON (``Alert.to_json``): records are converted here, at the edge, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from futago.core.alerts import Alert, AlertHistoryEntry
from futago.store.sql.db import Database
from futago.store.sql.specs import NamedSpecs


def _dumps(value: Any) -> str:
    # default=str: a command service's answer kept in a history entry may hold values JSON has no word for
    return orjson.dumps(value, default=str).decode()


class SqlAlerts:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._alert_rules: NamedSpecs[str] = NamedSpecs(db, "alert_rules", "rule")

    # rules: stored as given; parsing is act's business
    def put_alert_rule(self, name: str, spec: dict[str, Any]) -> None:
        self._alert_rules.put(name, spec)

    def list_alert_rules(self) -> dict[str, dict[str, Any]]:
        return self._alert_rules.all()

    def delete_alert_rule(self, name: str) -> None:
        self._alert_rules.delete(name)

    # alerts
    def put_alert(self, alert: Alert, history: Sequence[AlertHistoryEntry] = ()) -> None:
        """Create or update an alert (its own ``history`` is not written) and append ``history`` entries."""
        body = alert.to_json()
        del body["history"]  # the history table holds it, one row per entry
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO alerts (id, rule, twin_id, state, document) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET state = excluded.state, document = excluded.document",
                (alert.id, alert.rule, alert.twin_id, alert.state, _dumps(body)),
            )
            conn.executemany(
                "INSERT INTO alert_history (alert_id, entry) VALUES (?, ?)",
                [(alert.id, _dumps(entry.to_json())) for entry in history],
            )

    def get_alert(self, alert_id: str) -> Alert | None:
        row = self.db.read().execute("SELECT document FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return None if row is None else self._with_history([orjson.loads(row[0])])[0]

    def list_alerts(
        self,
        state: str | None = None,
        rule: str | None = None,
        twin_id: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> tuple[list[Alert], int | None]:
        """Alerts newest first, and the cursor (``before``) of the next page, None on the last one."""
        sql, params = "SELECT seq, document FROM alerts WHERE 1 = 1", list[Any]()
        for column, value in (("state", state), ("rule", rule), ("twin_id", twin_id)):
            if value is not None:
                sql, params = f"{sql} AND {column} = ?", [*params, value]
        if before is not None:
            sql, params = sql + " AND seq < ?", [*params, before]
        rows = self.db.read().execute(sql + " ORDER BY seq DESC LIMIT ?", [*params, limit + 1]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        alerts = self._with_history([orjson.loads(document) for _, document in rows])
        return alerts, (int(rows[-1][0]) if more else None)

    def open_alerts(self) -> list[Alert]:
        """Alerts not yet resolved, oldest first (what the rule engine picks up again after a restart)."""
        rows = self.db.read().execute("SELECT document FROM alerts WHERE state != 'resolved' ORDER BY seq")
        return self._with_history([orjson.loads(document) for (document,) in rows])

    def _with_history(self, documents: list[dict[str, Any]]) -> list[Alert]:
        """The alerts of stored documents, each with its history read from the history table."""
        if not documents:
            return []
        history: dict[str, list[Any]] = {document["id"]: [] for document in documents}
        ids = list(history)
        for start in range(0, len(ids), 500):  # stay well inside SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.read().execute(
                f"SELECT alert_id, entry FROM alert_history WHERE alert_id IN ({marks}) ORDER BY id", chunk
            )
            for alert_id, entry in rows:
                history[alert_id].append(orjson.loads(entry))
        return [Alert.from_json({**document, "history": history[document["id"]]}) for document in documents]

    # the leader's plans: suppression windows and the next escalation of each raised alert
    def put_suppression(self, rule: str, twin_id: str, until_us: int) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO alert_suppressions (rule, twin_id, until_us) VALUES (?, ?, ?) "
                "ON CONFLICT (rule, twin_id) DO UPDATE SET until_us = excluded.until_us",
                (rule, twin_id, until_us),
            )

    def suppressions(self, ended_before_us: int) -> dict[tuple[str, str], int]:
        with self.db.write() as conn:
            conn.execute("DELETE FROM alert_suppressions WHERE until_us < ?", (ended_before_us,))
            rows = conn.execute("SELECT rule, twin_id, until_us FROM alert_suppressions").fetchall()
        return {(rule, twin_id): int(until) for rule, twin_id, until in rows}

    def set_escalation(self, alert_id: str, due_us: int | None) -> None:
        with self.db.write() as conn:
            if due_us is None:
                conn.execute("DELETE FROM alert_escalations WHERE alert_id = ?", (alert_id,))
                return
            conn.execute(
                "INSERT INTO alert_escalations (alert_id, due_us) VALUES (?, ?) "
                "ON CONFLICT (alert_id) DO UPDATE SET due_us = excluded.due_us",
                (alert_id, due_us),
            )

    def escalations(self) -> dict[str, int]:
        rows = self.db.read().execute("SELECT alert_id, due_us FROM alert_escalations")
        return {alert_id: int(due) for alert_id, due in rows}
