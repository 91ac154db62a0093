"""Planning the deliveries of an alert event: who is told (geo-targeting, or those warned before), the message in
each one's language, and one delivery per recipient and channel, recorded ``queued`` in one transaction.

Each (alert, event, escalation) is planned once, even when the event is published twice or was notified before a
restart (the delivery log says so).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from futago.act.model import Alert
from futago.act.notify.channel import Channel, Message
from futago.act.notify.jobs import AlertItem, Job
from futago.act.notify.messages import render
from futago.act.notify.subscribers import Recipient, Subscriber, Targeting, TwinReader
from futago.core.notifications import Delivery
from futago.core.ports import NotificationStore
from futago.core.twins import now_iso

_SEEN_LIMIT = 20_000


class DeliveryPlanner:
    def __init__(
        self,
        store: NotificationStore,
        twins: TwinReader,
        targeting: Targeting,
        channels: Mapping[str, Channel],
        subscribers: Callable[[], list[Subscriber]],
    ) -> None:
        self.store = store
        self.twins = twins
        self.targeting = targeting
        self.channels = channels
        self.subscribers = subscribers
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()

    def recipients(self, alert: Alert, kind: str = "raised") -> list[Recipient]:
        subscribers = self.subscribers()
        if kind in ("raised", "escalated"):
            return self.targeting.recipients(alert, kind, subscribers)
        warned = self._warned(alert.id)
        return [Recipient(s, "warned") for s in subscribers if s.id in warned and s.wants(alert, kind)]

    def _warned(self, alert_id: str) -> set[str]:
        warned: set[str] = set()
        after: int | None = None
        while True:
            page = self.store.list_deliveries(alert_id=alert_id, after=after, limit=1000)
            warned |= {r.subscriber_id for r in page if r.event in ("alert.raised", "alert.escalated")}
            if len(page) < 1000:
                return warned
            after = page[-1].seq

    def plan(self, item: AlertItem) -> list[Job]:
        """The deliveries of an alert event, recorded ``queued``; none when it was planned before or concerns
        nobody."""
        alert, kind = item.alert, item.kind
        key = (alert.id, kind, alert.escalation if kind == "escalated" else 0)
        with self._lock:
            if key in self._seen:
                return []
            self._seen[key] = None
            while len(self._seen) > _SEEN_LIMIT:
                self._seen.popitem(last=False)
        if self._in_log(alert, kind):  # notified before a restart
            return []
        recipients = self.recipients(alert, kind)
        if not recipients:
            return []
        places: dict[str | None, tuple[str, bool]] = {}
        jobs: list[Job] = []
        for recipient in recipients:
            if recipient.zone not in places:
                places[recipient.zone] = self.place(alert, recipient.zone)
            place, flood = places[recipient.zone]
            subscriber = recipient.subscriber
            subject, text = render(alert, kind, subscriber.language, place, flood, recipient.depth)
            for entry in subscriber.channels:
                jobs.append(self._job(alert, kind, item.received_at, recipient, entry, subject, text, place))
        # with their bodies, so that the next leader can send them should this process die before it does
        bodies = {job.record.id: job.message.body for job in jobs}
        try:
            self.store.save_deliveries([job.record for job in jobs], bodies=bodies)
        except Exception:  # not recorded (a stale lead, the store down): planned again if the event comes again
            with self._lock:
                self._seen.pop(key, None)
            raise
        return jobs

    def _in_log(self, alert: Alert, kind: str) -> bool:
        event, escalation = f"alert.{kind}", alert.escalation if kind == "escalated" else 0
        after: int | None = None
        while True:
            page = self.store.list_deliveries(alert_id=alert.id, after=after, limit=1000)
            if any(r.event == event and r.escalation == escalation for r in page):
                return True
            if len(page) < 1000:
                return False
            after = page[-1].seq

    def place(self, alert: Alert, zone_id: str | None) -> tuple[str, bool]:
        """What the message calls the place, and whether it is a flood zone (the flood template)."""
        zone_ids = alert.area.get("zone")
        zone_id = zone_id or (zone_ids if isinstance(zone_ids, str) else None)
        zone = self.targeting.zone(zone_id) if zone_id else None
        if zone is not None:
            return zone.name, True
        twin = self.twins.get_twin(alert.twin_id)
        name = twin.properties.get("name") if twin is not None else None
        return (name if isinstance(name, str) and name else alert.twin_id), False

    def _job(
        self,
        alert: Alert,
        kind: str,
        received_at: str,
        recipient: Recipient,
        entry: dict[str, Any],
        subject: str,
        text: str,
        place: str,
    ) -> Job:
        subscriber = recipient.subscriber
        delivery_id = str(uuid.uuid4())
        channel = self.channels[entry["type"]]
        event = f"alert.{kind}"
        body = {
            "id": delivery_id,
            "type": "futago.notification",
            "event": event,
            "subscriberId": subscriber.id,
            "language": subscriber.language,
            "subject": subject,
            "text": text,
            "place": place,
            "zone": recipient.zone,
            "depth": recipient.depth,
            "alert": {k: v for k, v in alert.to_json().items() if k not in ("history", "acknowledgedBy", "evidence")},
        }
        record = Delivery(
            id=delivery_id,
            alert_id=alert.id,
            event=event,
            escalation=alert.escalation if kind == "escalated" else 0,
            rule=alert.rule,
            twin_id=alert.twin_id,
            subscriber_id=subscriber.id,
            channel=entry["name"],
            channel_type=entry["type"],
            target=channel.target(entry),
            language=subscriber.language,
            subject=subject,
            text=text,
            why=recipient.why,
            zone=recipient.zone,
            depth=recipient.depth,
            received_at=received_at,
            queued_at=now_iso(),
        )
        message = Message(delivery_id, subscriber.id, subscriber.language, subject, text, body, alert.id, alert.rule)
        return Job(record, entry, message)
