"""Notification state: subscribers, named channel settings, the delivery log and dead letters.

Records are JSON documents (the shapes belong to ``futago.act.notify``); the columns beside them are only
what is filtered or ordered on. Webhook (and other channel) dead letters have a table of their own rather
than sharing the ingest stage's ``dead_letters``: those are replayed through a connection's mapping, these
are re-sent to a subscriber, and mixing them would let one replay path pick up the other's letters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from futago.core.errors import NotFound
from futago.core.secrets import seal, unseal
from futago.store.sql.db import Database
from futago.store.sql.specs import NamedSpecs


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SqlNotifications:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._notification_channels: NamedSpecs[str] = NamedSpecs(
            db, "notification_channels", "notification channel", secrets=True
        )

    # -- subscribers -------------------------------------------------------------------------------

    def put_subscriber(self, subscriber_id: str, doc: dict[str, Any]) -> bool:
        """Create or replace; True when it was created."""
        with self.db.write() as conn:
            existed = conn.execute("SELECT 1 FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
            conn.execute(
                "INSERT INTO subscribers (id, home, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET home = excluded.home, doc = excluded.doc",
                (subscriber_id, doc.get("home"), orjson.dumps(seal(doc, self.db.secrets)).decode()),
            )
        return existed is None

    def get_subscriber(self, subscriber_id: str) -> dict[str, Any] | None:
        row = self.db.read().execute("SELECT doc FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return None if row is None else dict(unseal(orjson.loads(row[0]), self.db.secrets))

    def list_subscribers(self, after_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """In id order; ``after_id`` resumes a listing."""
        sql, params = "SELECT doc FROM subscribers WHERE id > ? ORDER BY id", list[Any]([after_id or ""])
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        return [unseal(orjson.loads(row[0]), self.db.secrets) for row in self.db.read().execute(sql, params)]

    def delete_subscriber(self, subscriber_id: str) -> None:
        with self.db.write() as conn:
            if conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,)).rowcount == 0:
                raise NotFound(f"subscriber '{subscriber_id}' does not exist")

    # -- named channel settings (an SMTP server, an MQTT broker, webhook defaults) ------------------

    def put_notification_channel(self, name: str, spec: dict[str, Any]) -> None:
        self._notification_channels.put(name, spec)

    def list_notification_channels(self) -> dict[str, dict[str, Any]]:
        return self._notification_channels.all()

    def delete_notification_channel(self, name: str) -> None:
        self._notification_channels.delete(name)

    # -- the delivery log and dead letters ---------------------------------------------------------

    def save_deliveries(
        self, records: Sequence[dict[str, Any]], dead_letters: Sequence[dict[str, Any]] = ()
    ) -> list[int]:
        """Insert or update delivery records (by ``id``) and add dead letters, in one transaction; returns
        the new dead letters' ids. One transaction per batch keeps the log cheap when 200 residents are
        notified at once."""
        ids: list[int] = []
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO notification_deliveries "
                "(id, alert_id, subscriber_id, channel, outcome, queued_at, sent_at, record) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "outcome = excluded.outcome, sent_at = excluded.sent_at, record = excluded.record",
                [
                    (
                        r["id"],
                        r["alertId"],
                        r["subscriberId"],
                        r["channel"],
                        r["outcome"],
                        r["queuedAt"],
                        r.get("sentAt"),
                        orjson.dumps(r).decode(),
                    )
                    for r in records
                ],
            )
            for letter in dead_letters:
                cursor = conn.execute(
                    "INSERT INTO notification_dead_letters (delivery_id, subscriber_id, channel, failed_at, letter) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (
                        letter["deliveryId"],
                        letter["subscriberId"],
                        letter["channel"],
                        letter["failedAt"],
                        orjson.dumps(letter).decode(),
                    ),
                )
                ids.append(int(cursor.fetchone()[0]))
        return ids

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        row = (
            self.db.read()
            .execute("SELECT seq, record FROM notification_deliveries WHERE id = ?", (delivery_id,))
            .fetchone()
        )
        return None if row is None else {**orjson.loads(row[1]), "seq": row[0]}

    def list_deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Oldest first, each with its ``seq``; ``after`` (a seq) resumes a listing."""
        sql, params = "SELECT seq, record FROM notification_deliveries WHERE seq > ?", list[Any]([after or 0])
        for column, value in (("alert_id", alert_id), ("subscriber_id", subscriber_id), ("outcome", outcome)):
            if value is not None:
                sql, params = sql + f" AND {column} = ?", [*params, value]
        rows = self.db.read().execute(sql + " ORDER BY seq LIMIT ?", [*params, limit])
        return [{**orjson.loads(record), "seq": seq} for seq, record in rows]

    def list_notification_dead_letters(self, after_id: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.read().execute(
            "SELECT id, letter FROM notification_dead_letters WHERE id > ? ORDER BY id LIMIT ?", (after_id or 0, limit)
        )
        return [{**orjson.loads(letter), "id": letter_id} for letter_id, letter in rows]

    def get_notification_dead_letters(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        rows = self.db.read().execute(
            f"SELECT id, letter FROM notification_dead_letters WHERE id IN ({_marks(len(wanted))}) ORDER BY id",
            wanted,
        )
        return [{**orjson.loads(letter), "id": letter_id} for letter_id, letter in rows]

    def delete_notification_dead_letters(self, ids: Iterable[int]) -> int:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return 0
        with self.db.write() as conn:
            sql = f"DELETE FROM notification_dead_letters WHERE id IN ({_marks(len(wanted))})"
            return int(conn.execute(sql, wanted).rowcount)

    def count_notification_dead_letters(self) -> int:
        row = self.db.read().execute("SELECT COUNT(*) FROM notification_dead_letters").fetchone()
        return int(row[0])
