"""The delivery log: every outcome written by one recorder thread, in batches, with a ``notification.sent`` or
``notification.failed`` event for each accepted delivery and each dead letter; and what reads the log back."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from futago.act.notify.channel import Channel, Message
from futago.act.notify.jobs import InFlight, Job
from futago.act.notify.subscribers import Subscriber
from futago.core.errors import InvalidInput, NotFound
from futago.core.events import NOTIFICATION_FAILED, NOTIFICATION_SENT, Event, EventBus
from futago.core.fence import Fenced, acting, acting_token, refused
from futago.core.notifications import Delivery, NotificationDeadLetter
from futago.core.ports import NotificationStore
from futago.core.problems import Problem
from futago.core.twins import now_iso

log = logging.getLogger(__name__)

# A delivery, its dead letter when it failed, and the fencing token its attempt was decided under
Written = tuple[Delivery, NotificationDeadLetter | None, int | None]


class DeliveryLog:
    def __init__(self, store: NotificationStore, bus: EventBus, in_flight: InFlight) -> None:
        self.store = store
        self.bus = bus
        self.in_flight = in_flight
        self.running = False  # the recorder thread runs; else (a one-off ``notify``) outcomes are written at once
        self._outbox: queue.SimpleQueue[Written | None] = queue.SimpleQueue()

    def record(self, record: Delivery, letter: NotificationDeadLetter | None = None) -> None:
        """Log the delivery as it is now: a copy, since the dispatcher moves the job's own record on."""
        self.in_flight.more()
        written = (replace(record), letter, acting_token())  # the recorder thread writes it under this token
        if not self.running:  # not started (a one-off ``notify``): write now
            self._write([written])
            return
        self._outbox.put(written)

    def sent(self, record: Delivery) -> None:
        """Announce an accepted delivery (the dashboard channel)."""
        self.bus.publish(event(NOTIFICATION_SENT, record, _event_data(record), f"notifications/{record.id}"))

    def stop(self) -> None:
        """The recorder writes what it holds and ends."""
        self._outbox.put(None)

    def record_loop(self) -> None:
        """Writes outcomes in batches: one transaction for however many finished meanwhile."""
        while True:
            batch = [self._outbox.get()]
            while True:
                try:
                    batch.append(self._outbox.get_nowait())
                except queue.Empty:
                    break
            items = [b for b in batch if b is not None]
            if items:
                self._write(items)
            if None in batch:
                return

    def _write(self, items: list[Written]) -> None:
        try:
            by_token: dict[int | None, list[Written]] = {}
            for item in items:  # one batch per token: a lost and regained lead between two outcomes
                by_token.setdefault(item[2], []).append(item)
            for token, batch in by_token.items():
                self._write_batch(token, batch)
        except Exception:
            log.exception("recording %d notification outcomes failed", len(items))
        finally:
            self.in_flight.done(len(items))

    def _write_batch(self, token: int | None, items: list[Written]) -> None:
        latest: dict[str, Delivery] = {}
        for record, _, _ in items:  # of several outcomes of one delivery, the last wins
            latest[record.id] = record
        failed = [(record, letter) for record, letter, _ in items if letter is not None]
        try:
            with acting(token):
                ids = self.store.save_deliveries(list(latest.values()), [letter for _, letter in failed])
        except Fenced as exc:  # the log keeps the delivery as the last leader wrote it; that leader resumes it
            refused("delivery outcome", exc.detail, len(latest))
            return
        for letter_id, (record, letter) in zip(ids, failed, strict=True):
            doc = letter.to_json()
            data = {**{k: doc[k] for k in _LETTER_EVENT_KEYS}, "id": letter_id}
            resource = f"notifications/dead-letters/{letter_id}"
            self.bus.publish(event(NOTIFICATION_FAILED, record, data, resource))

    def deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        return self.store.list_deliveries(alert_id, subscriber_id, outcome, after, limit)

    def delivery(self, delivery_id: str) -> Delivery:
        record = self.store.get_delivery(delivery_id)
        if record is None:
            raise NotFound(f"delivery '{delivery_id}' does not exist")
        return record

    def list_dead_letters(self, after: int | None = None, limit: int = 100) -> list[NotificationDeadLetter]:
        return self.store.list_notification_dead_letters(after, limit)

    def dead_letter(self, letter_id: int) -> NotificationDeadLetter:
        found = self.store.get_notification_dead_letters([letter_id])
        if not found:
            raise NotFound(f"notification dead letter {letter_id} does not exist")
        return found[0]

    def discard_dead_letter(self, letter_id: int) -> None:
        if self.store.delete_notification_dead_letters([letter_id]) == 0:
            raise NotFound(f"notification dead letter {letter_id} does not exist")

    def requeue_dead_letters(
        self, ids: Sequence[int], subscriber_of: Callable[[str], Subscriber | None], channels: Mapping[str, Channel]
    ) -> tuple[list[dict[str, Any]], list[Job]]:
        """Dead letters queued again, to be sent through the subscriber's channel as it is now (the fix may have
        been to it): what became of each, and the jobs to dispatch. A requeued letter leaves the list."""
        letters = self.store.get_notification_dead_letters(ids)
        missing = sorted(set(ids) - {letter.id for letter in letters if letter.id is not None})
        if missing:
            raise InvalidInput([Problem("/ids", f"no notification dead letters with ids {missing[:20]}")])
        outcomes: list[dict[str, Any]] = []
        requeue: list[Job] = []
        for letter in letters:
            subscriber = subscriber_of(letter.subscriber_id)
            entry = next((c for c in subscriber.channels if c["name"] == letter.channel), None) if subscriber else None
            record = self.store.get_delivery(letter.delivery_id)
            if subscriber is None or entry is None or record is None:
                why = "the subscriber no longer exists" if subscriber is None else "the subscriber has no such channel"
                outcomes.append({"id": letter.id, "deliveryId": letter.delivery_id, "requeued": False, "reason": why})
                continue
            record = replace(
                record, seq=None, outcome="queued", error=None, target=channels[entry["type"]].target(entry)
            )
            saved = letter.message
            message = Message(
                record.id,
                subscriber.id,
                record.language,
                saved.subject,
                saved.text,
                saved.body,
                record.alert_id,
                record.rule,
            )
            requeue.append(Job(record, entry, message, first_attempt=record.attempts + 1))
            outcomes.append({"id": letter.id, "deliveryId": record.id, "requeued": True})
        if requeue:
            bodies = {job.record.id: job.message.body for job in requeue}
            self.store.save_deliveries([job.record for job in requeue], bodies=bodies)
            self.store.delete_notification_dead_letters([o["id"] for o in outcomes if o["requeued"]])
        return outcomes, requeue

    def pending(
        self, subscriber_of: Callable[[str], Subscriber | None], channels: Mapping[str, Channel]
    ) -> list[tuple[Job, float]]:
        """The deliveries a previous leader left unsent (queued, or retrying), as jobs with the seconds until they
        are due: sent through the subscriber's channel as it is now, in the words that were rendered. One whose
        subscriber or channel has gone since is logged ``failed`` with the reason (there is nowhere to send it)."""
        resumed: list[tuple[Job, float]] = []
        gone: list[Delivery] = []
        after: int | None = None
        while True:
            page = self.store.pending_deliveries(after, 1000)
            for pending in page:
                job = _job_of(pending.record, pending.body, subscriber_of, channels)
                if job is None:
                    why = f"the subscriber or its channel '{pending.record.channel}' no longer exists"
                    gone.append(replace(pending.record, outcome="failed", error=why, next_attempt_at=None))
                    continue
                resumed.append((job, _seconds_until(pending.record.next_attempt_at)))
            if len(page) < 1000:
                break
            after = page[-1].record.seq
        if gone:
            self.store.save_deliveries(gone)
        return resumed

    def prune(self, delivery_before: str | None, dead_letter_before: str | None) -> tuple[int, int]:
        """Apply the retention settings: finished deliveries queued, and dead letters failed, before the cutoffs
        (None: kept for ever). Returns how many of each went."""
        deliveries = self.store.prune_deliveries(delivery_before) if delivery_before else 0
        letters = self.store.prune_notification_dead_letters(dead_letter_before) if dead_letter_before else 0
        return deliveries, letters


def _job_of(
    record: Delivery,
    body: dict[str, Any],
    subscriber_of: Callable[[str], Subscriber | None],
    channels: Mapping[str, Channel],
) -> Job | None:
    subscriber = subscriber_of(record.subscriber_id)
    entry = next((c for c in subscriber.channels if c["name"] == record.channel), None) if subscriber else None
    if subscriber is None or entry is None or entry["type"] not in channels:
        return None
    text, subject = body.get("text", record.text), body.get("subject", record.subject)
    message = Message(record.id, subscriber.id, record.language, subject, text, body, record.alert_id, record.rule)
    return Job(replace(record, seq=None), dict(entry), message)


def _seconds_until(moment: str | None) -> float:
    if not moment:
        return 0.0
    try:
        due = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:  # an unreadable time: try now rather than never
        return 0.0
    return max(0.0, (due - datetime.now(UTC)).total_seconds())


# What a notification event says: which delivery of which alert, by which kind of channel, and when. Never whom
# or where: the subscriber, its channel's name and target (address, URL, host), the error (which names the
# target), the text (which may say the depth at the resident's place) and the zone stay in the store, behind
# /notifications, which needs READ on notifications.
_EVENT_KEYS = ("id", "alertId", "event", "rule", "channelType", "subject", "queuedAt", "sentAt")
_LETTER_EVENT_KEYS = ("deliveryId", "alertId", "event", "channelType", "attempts", "failedAt")


def _event_data(record: Delivery) -> dict[str, Any]:
    doc = record.to_json()
    return {k: doc.get(k) for k in _EVENT_KEYS}


def event(kind: str, record: Delivery, data: dict[str, Any], resource: str) -> Event:
    """A notification event about the delivery (or dead letter) ``resource``: it names the alert and the twin the
    alert is about, and the zone its subject names, so that only a caller who may read them all sees it."""
    about: tuple[str, ...] = (f"alerts/{record.alert_id}", resource)
    if record.zone:
        about += (f"twins/{record.zone}",)
    return Event(kind, now_iso(), twin_id=record.twin_id or None, data=data, about=about)
