"""Notification state: subscribers, named channel settings, the delivery log and dead letters.

Records are kept as their JSON (``futago.core.notifications``); the columns beside them are only what is
filtered or ordered on. Webhook (and other channel) dead letters have a table of their own rather
than sharing the ingest stage's ``dead_letters``: those are replayed through a connection's mapping, these
are re-sent to a subscriber, and mixing them would let one replay path pick up the other's letters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from futago.core.errors import NotFound
from futago.core.notifications import Delivery, NotificationDeadLetter, PendingDelivery, Subscriber
from futago.core.secrets import seal, unseal
from futago.store.sql.db import Database, fenced
from futago.store.sql.specs import NamedSpecs

log = logging.getLogger(__name__)


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _delivery(seq: int, record: str) -> Delivery:
    return Delivery.from_json({**orjson.loads(record), "seq": seq})


def _letter(letter_id: int, letter: str) -> NotificationDeadLetter:
    return NotificationDeadLetter.from_json({**orjson.loads(letter), "id": letter_id})


def _stored(record: Delivery | NotificationDeadLetter) -> str:
    """The record's JSON without what the store assigns (a delivery's ``seq``, a letter's ``id``)."""
    doc = record.to_json()
    doc.pop("seq" if isinstance(record, Delivery) else "id", None)
    return orjson.dumps(doc).decode()


class SqlNotifications:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._notification_channels: NamedSpecs[str] = NamedSpecs(
            db, "notification_channels", "notification channel", secrets=True
        )

    # -- subscribers -------------------------------------------------------------------------------

    def put_subscriber(self, subscriber: Subscriber) -> bool:
        """Create or replace; True when it was created."""
        subscriber_id, doc = subscriber.id, subscriber.to_json()
        with self.db.write() as conn:
            existed = conn.execute("SELECT 1 FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
            conn.execute(
                "INSERT INTO subscribers (id, home, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET home = excluded.home, doc = excluded.doc",
                (subscriber_id, doc.get("home"), orjson.dumps(seal(doc, self.db.secrets)).decode()),
            )
        return existed is None

    def get_subscriber(self, subscriber_id: str) -> Subscriber | None:
        row = self.db.read().execute("SELECT id, doc FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return None if row is None else self._subscriber(row[0], row[1])

    def list_subscribers(self, after_id: str | None = None, limit: int | None = None) -> list[Subscriber]:
        """In id order; ``after_id`` resumes a listing. A row that cannot be read is logged and left out."""
        sql, params = "SELECT id, doc FROM subscribers WHERE id > ? ORDER BY id", list[Any]([after_id or ""])
        if limit is not None:
            sql, params = sql + " LIMIT ?", [*params, limit]
        found = (self._subscriber(row[0], row[1]) for row in self.db.read().execute(sql, params))
        return [s for s in found if s is not None]

    def _subscriber(self, subscriber_id: str, doc: str) -> Subscriber | None:
        try:
            return Subscriber.from_json(unseal(orjson.loads(doc), self.db.secrets))
        except (KeyError, TypeError, ValueError, IndexError):  # orjson's decode error is a ValueError
            log.error("stored subscriber %r cannot be read; it gets no notifications", subscriber_id)
            return None

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
        self,
        records: Sequence[Delivery],
        dead_letters: Sequence[NotificationDeadLetter] = (),
        bodies: Mapping[str, dict[str, Any]] | None = None,
    ) -> list[int]:
        """Insert or update delivery records (by ``id``) and add dead letters, in one transaction; returns
        the new dead letters' ids. One transaction per batch keeps the log cheap when 200 residents are
        notified at once. The outbox keeps the bodies of pending deliveries and lets go of the finished ones.
        Every row carries the fencing token they were decided under; a stale one refuses the whole batch (Fenced)."""
        ids: list[int] = []
        with self.db.write() as conn:
            token = fenced(self.db, conn, f"recording {len(records)} deliveries")
            if bodies:
                conn.executemany(
                    "INSERT INTO notification_outbox (delivery_id, body, fence_token) VALUES (?, ?, ?) "
                    "ON CONFLICT (delivery_id) DO UPDATE SET body = excluded.body, fence_token = excluded.fence_token",
                    [(i, orjson.dumps(body, default=str).decode(), token) for i, body in bodies.items()],
                )
            finished = [(r.id,) for r in records if r.outcome in ("sent", "failed")]
            if finished:
                conn.executemany("DELETE FROM notification_outbox WHERE delivery_id = ?", finished)
            conn.executemany(
                "INSERT INTO notification_deliveries "
                "(id, alert_id, subscriber_id, channel, outcome, queued_at, sent_at, record, fence_token) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, "
                "sent_at = excluded.sent_at, record = excluded.record, fence_token = excluded.fence_token",
                [
                    (r.id, r.alert_id, r.subscriber_id, r.channel, r.outcome, r.queued_at, r.sent_at, _stored(r), token)
                    for r in records
                ],
            )
            for letter in dead_letters:
                cursor = conn.execute(
                    "INSERT INTO notification_dead_letters (delivery_id, subscriber_id, channel, failed_at, letter) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING id",
                    (letter.delivery_id, letter.subscriber_id, letter.channel, letter.failed_at, _stored(letter)),
                )
                ids.append(int(cursor.fetchone()[0]))
        return ids

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        row = (
            self.db.read()
            .execute("SELECT seq, record FROM notification_deliveries WHERE id = ?", (delivery_id,))
            .fetchone()
        )
        return None if row is None else _delivery(row[0], row[1])

    def list_deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Oldest first, each with its ``seq``; ``after`` (a seq) resumes a listing."""
        sql, params = "SELECT seq, record FROM notification_deliveries WHERE seq > ?", list[Any]([after or 0])
        for column, value in (("alert_id", alert_id), ("subscriber_id", subscriber_id), ("outcome", outcome)):
            if value is not None:
                sql, params = sql + f" AND {column} = ?", [*params, value]
        rows = self.db.read().execute(sql + " ORDER BY seq LIMIT ?", [*params, limit])
        return [_delivery(seq, record) for seq, record in rows]

    def list_notification_dead_letters(
        self, after_id: int | None = None, limit: int = 100
    ) -> list[NotificationDeadLetter]:
        rows = self.db.read().execute(
            "SELECT id, letter FROM notification_dead_letters WHERE id > ? ORDER BY id LIMIT ?", (after_id or 0, limit)
        )
        return [_letter(letter_id, letter) for letter_id, letter in rows]

    def get_notification_dead_letters(self, ids: Iterable[int]) -> list[NotificationDeadLetter]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return []
        rows = self.db.read().execute(
            f"SELECT id, letter FROM notification_dead_letters WHERE id IN ({_marks(len(wanted))}) ORDER BY id",
            wanted,
        )
        return [_letter(letter_id, letter) for letter_id, letter in rows]

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

    def pending_deliveries(self, after: int | None = None, limit: int = 1000) -> list[PendingDelivery]:
        rows = self.db.read().execute(
            "SELECT d.seq, d.record, o.body FROM notification_deliveries d "
            "JOIN notification_outbox o ON o.delivery_id = d.id "
            "WHERE d.outcome IN ('queued', 'retrying') AND d.seq > ? ORDER BY d.seq LIMIT ?",
            (after or 0, limit),
        )
        found: list[PendingDelivery] = []
        for seq, record, body in rows:
            try:
                found.append(PendingDelivery(_delivery(seq, record), orjson.loads(body)))
            except (KeyError, TypeError, ValueError):  # one damaged row must not stop the others being resumed
                log.error("pending delivery %s cannot be read; it is not resumed", seq)
        return found

    def prune_deliveries(self, before: str) -> int:
        with self.db.write() as conn:
            cursor = conn.execute(
                "DELETE FROM notification_deliveries WHERE outcome IN ('sent', 'failed') AND queued_at < ? "
                "AND id NOT IN (SELECT delivery_id FROM notification_dead_letters)",
                (before,),
            )
            return int(cursor.rowcount)

    def prune_notification_dead_letters(self, before: str) -> int:
        with self.db.write() as conn:
            return int(conn.execute("DELETE FROM notification_dead_letters WHERE failed_at < ?", (before,)).rowcount)
