"""The notification service: follows alert events, picks recipients, renders their messages, and delivers.

The bus handler only queues the event, so the thread that published it (a rule evaluated on a reading) is
never held up. A planner thread turns each alert event into deliveries — one per recipient and channel —
records them as ``queued`` in one transaction, and hands them to a small thread pool per channel type, so a
slow SMTP server never delays a webhook. A delivery that fails in a way that may pass (a timeout, a 5xx) is
tried again after an exponential backoff, by a timer thread rather than a sleeping worker; after the last
attempt, or at once when trying again cannot help (a 4xx, a refused address), it becomes a dead letter that
can be listed and retried once the cause is fixed. Outcomes are written by one recorder thread, in batches.

Every delivery is logged with the alert, the subscriber, the channel, ``receivedAt`` (the service got the
alert event), ``queuedAt``, ``sentAt`` (the message went on the wire), ``confirmedAt`` (the peer accepted it)
and the outcome; every accepted delivery is also published as a ``notification.sent`` event (the dashboard
channel), every dead letter as ``notification.failed``.

Which events notify whom: ``raised`` and ``escalated`` go to the recipients geo-targeting picks (see
``subscribers``); ``resolved`` and ``acknowledged`` go to the subscribers who were warned about that alert, so
an all-clear reaches exactly the people who were told to evacuate. Each (alert, event, escalation) is
notified once, even when the event is published twice.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from futago.act.model import ALERT_EVENTS, Alert
from futago.act.notify.channel import Channel, ChannelContext, ChannelFactory, Connections, check_name
from futago.act.notify.dashboard import dashboard_channel
from futago.act.notify.delivery_log import DeliveryLog
from futago.act.notify.directory import SubscriberDirectory
from futago.act.notify.dispatcher import DeliveryDispatcher
from futago.act.notify.jobs import AlertItem, InFlight
from futago.act.notify.messages import render
from futago.act.notify.named_channels import NamedChannels
from futago.act.notify.planner import DeliveryPlanner
from futago.act.notify.settings import NotificationSettings, RetryPolicy
from futago.act.notify.subscribers import Recipient, Subscriber, Targeting, TwinReader
from futago.core.events import NOTIFICATION_FAILED, NOTIFICATION_SENT, Event, EventBus
from futago.core.fence import OPEN, Fence, Fenced, acting, refused
from futago.core.paths import NO_FILES, DataRoot
from futago.core.ports import NotificationStore
from futago.core.problems import Problem
from futago.core.twins import now_iso

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True)
class Affected:
    """The buildings (sorted ids) in an area that meet the depth threshold, and the subscribers living in them."""

    buildings: list[str]
    residents: list[str]


class NotificationService:
    """A facade over the parts of notification: the subscriber directory, the named channel settings, the
    channels (one per registered type), the planner, the dispatcher and the delivery log; it owns their threads."""

    def __init__(
        self,
        store: NotificationStore,
        twins: TwinReader,
        bus: EventBus,
        settings: NotificationSettings | None = None,
        connections: Connections | None = None,
        channels: Iterable[Channel] | None = None,
        building_models: Callable[[], frozenset[str]] | None = None,
        files: DataRoot = NO_FILES,  # where an MQTT broker's tls.ca may lie: the server's data root
        channel_types: Mapping[str, ChannelFactory] | None = None,  # by type name; app.py registers them
        fence: Fence = OPEN,  # scaled out: deliveries are sent only while this process holds the lead
    ) -> None:
        self.store = store
        self.twins = twins
        self.bus = bus
        self.settings = settings or NotificationSettings()
        self.targeting = Targeting(twins, self.settings.depth_threshold_m, building_models)
        self.channels: dict[str, Channel] = {}  # by type; the parts below read it once it is filled
        self.named = NamedChannels(store, self.settings, self.channels, self.subscribers)
        if channels is None:  # one channel per registered type; without any, only the dashboard's (the bus)
            context = ChannelContext(
                self.named_settings, connections, self.settings.webhook_timeout_s, self.settings.mqtt_timeout_s, files
            )
            channels = [make(context) for make in (channel_types or {"dashboard": dashboard_channel}).values()]
        self.channels.update({c.type: c for c in channels})
        self.directory = SubscriberDirectory(store, twins, self.check_channel)
        # Other sources of subscribers (NGSI-LD subscriptions): asked when the directory does not know an id, so
        # that their deliveries are resumed after a restart and their dead letters requeued like any other.
        self.subscriber_lookups: list[Callable[[str], Subscriber | None]] = []
        self.in_flight = InFlight()
        self.planner = DeliveryPlanner(store, twins, self.targeting, self.channels, self.directory.all)
        self.deliveries = DeliveryLog(store, bus, self.in_flight)
        self.dispatcher = DeliveryDispatcher(
            self.channels, self.deliveries, self.in_flight, self.named.policy, fence=fence
        )
        self._inbox: queue.SimpleQueue[AlertItem | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Any = None
        self._pruning = threading.Event()  # set: the pruning loop ends

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow alert events and start the planner, the retry timer and the recorder."""
        if self._threads:
            return
        configured = self.settings.workers
        self.dispatcher.open_pools({kind: configured.get(kind, c.workers) for kind, c in self.channels.items()})
        self.deliveries.running = True
        loops = (
            ("plan", self._plan_loop),
            ("retry", self.dispatcher.retry_loop),
            ("record", self.deliveries.record_loop),
        )
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"futago-notify-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        # what was left unsent first: a delivery planned once events flow is this process's own, not one to resume
        self.resume()
        self._unsubscribe = self.bus.subscribe(self._on_event)
        self._pruning = threading.Event()
        pruning = threading.Thread(target=self._prune_loop, args=(self._pruning,), name="futago-notify-prune")
        pruning.daemon = True
        pruning.start()

    def resume(self) -> int:
        """Send what a previous leader (or this process before a restart) left unsent: queued deliveries now,
        retries when they are due. Returns how many were picked up."""
        with acting(self.dispatcher.fence.token):  # what it marks failed (a subscriber gone) is the leader's doing
            pending = self.deliveries.pending(self.subscriber_of, self.channels)
        for job, due_in_s in pending:
            if due_in_s > 0:
                self.dispatcher.later(job, due_in_s)
            else:
                self.dispatcher.dispatch(job)
        if pending:
            log.info("resumed %d notification deliveries left unsent", len(pending))
        return len(pending)

    def prune(self, now: datetime | None = None) -> tuple[int, int]:
        """Apply ``delivery_retention`` and ``dead_letter_retention``; returns how many deliveries and dead letters
        went."""
        now = now or datetime.now(UTC)
        cutoffs = [
            None if keep_s is None else (now - timedelta(seconds=keep_s)).isoformat().replace("+00:00", "Z")
            for keep_s in (self.settings.delivery_retention_s, self.settings.dead_letter_retention_s)
        ]
        return self.deliveries.prune(cutoffs[0], cutoffs[1])

    def _prune_loop(self, stop: threading.Event) -> None:
        """The leader's upkeep of the delivery log: at start, then hourly."""
        while True:
            try:
                deliveries, letters = self.prune()
                if deliveries or letters:
                    log.info("retention pruned %d deliveries and %d dead letters", deliveries, letters)
            except Exception:  # the store may be back at the next pass
                log.exception("pruning the delivery log failed")
            if stop.wait(PRUNE_EVERY_S):
                return

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop following events; deliveries in flight finish, retries not yet due stay ``retrying``."""
        self._pruning.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self._threads:
            self._close_channels()
            return
        self.dispatcher.closing = True
        self._inbox.put(None)
        self.dispatcher.wake_retries()
        self._threads[0].join(timeout_s)  # the planner hands its last deliveries to the pools
        self.dispatcher.shutdown_pools()
        self.deliveries.stop()
        for thread in self._threads[1:]:
            thread.join(timeout_s)
        self._threads = []
        self.dispatcher.forget_pools()
        self.deliveries.running = False
        self._close_channels()

    def _close_channels(self) -> None:
        for channel in self.channels.values():
            try:
                channel.close()
            except Exception:
                log.exception("closing the %s channel failed", channel.type)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued alert is planned, every delivery sent or dead, and every outcome recorded."""
        return self.in_flight.wait_idle(timeout_s)

    # -- subscribers ----------------------------------------------------------------------------------

    def check_channel(self, entry: Mapping[str, Any], pointer: str) -> list[Problem]:
        kind = entry.get("type")
        channel = self.channels.get(kind) if isinstance(kind, str) else None
        if channel is None:
            return [Problem(f"{pointer}/type", f"type is one of {sorted(self.channels)}")]
        problems = channel.check(entry, pointer)
        if "name" in entry:
            problems += check_name(entry["name"], f"{pointer}/name")
        return problems

    def put_subscriber(self, subscriber_id: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Create or replace; the home must be an existing twin. Returns the (redacted) subscriber and
        whether it was created."""
        return self.directory.put(subscriber_id, body)

    def get_subscriber(self, subscriber_id: str) -> dict[str, Any]:
        return self.directory.show(subscriber_id)

    def list_subscribers(self, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.directory.page(after, limit)

    def delete_subscriber(self, subscriber_id: str) -> None:
        self.directory.delete(subscriber_id)

    def subscriber_of(self, subscriber_id: str) -> Subscriber | None:
        """A delivery's subscriber: the directory's, else one of ``subscriber_lookups``."""
        found = self.directory.get(subscriber_id)
        for lookup in self.subscriber_lookups:
            if found is not None:
                break
            found = lookup(subscriber_id)
        return found

    def subscribers(self) -> list[Subscriber]:
        return self.directory.all()

    def affected(
        self, zone_ids: Iterable[str], min_depth: float | None = None, buildings: Iterable[str] = ()
    ) -> Affected:
        """Who an alert over these zones would concern, by the rules geo-targeting applies: the buildings in
        them with a planned depth of at least ``min_depth`` (else ``depth_threshold_m``), plus any ``buildings``
        the alert names itself, and the subscribers whose home is one of those buildings."""
        threshold = self.settings.depth_threshold_m if min_depth is None else min_depth
        buildings = set(self.targeting.buildings_in(zone_ids, threshold)) | set(buildings)
        residents = sorted(s.id for s in self.subscribers() if s.home is not None and s.home in buildings)
        return Affected(buildings=sorted(buildings), residents=residents)

    def affected_by(self, alert: Alert) -> Affected:
        """Whom an alert concerns, read from its area as geo-targeting reads it (zones at the alert's depth
        threshold, and the twins it names)."""
        zone_ids, twin_ids = self.targeting.area(alert)
        return self.affected(zone_ids, self.targeting.threshold(alert), twin_ids)

    @staticmethod
    def describe_subscriber(subscriber: Subscriber) -> dict[str, Any]:
        return SubscriberDirectory.describe(subscriber)

    # -- named channel settings ------------------------------------------------------------------------

    def named_settings(self, name: str) -> Mapping[str, Any] | None:
        return self.named.settings_of(name)

    def check_configured_channels(self) -> None:
        """Check the named settings of the configuration at start, so a typo is found before an alert."""
        self.named.check_configured()

    def put_channel(self, name: str, spec: Any) -> tuple[dict[str, Any], bool]:
        return self.named.put(name, spec)

    def describe_channel(self, name: str) -> dict[str, Any]:
        return self.named.describe(name)

    def list_channels(self) -> list[dict[str, Any]]:
        return self.named.describe_all()

    def delete_channel(self, name: str) -> None:
        self.named.delete(name)

    # -- alerts in ------------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """On the publishing thread: parse and queue, nothing more."""
        if event.type not in ALERT_EVENTS:
            return
        received_at = now_iso()
        try:
            alert = Alert.from_json(event.data)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("an %s event without a valid alert: %r", event.type, event.data)
            return
        self.in_flight.more()
        self._inbox.put(AlertItem(alert, event.type.removeprefix("alert."), received_at))

    def notify(self, alert: Alert, kind: str = "raised") -> list[str]:
        """Plan and dispatch an alert event now (as the bus handler would); returns the delivery ids."""
        self.in_flight.more()
        try:
            return self._plan(AlertItem(alert, kind, now_iso()))
        finally:
            self.in_flight.done()

    def _plan_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            try:
                self._plan(item)
            except Exception:  # one bad alert must not stop notifications for the next
                log.exception("planning notifications for alert %s failed", item.alert.id)
            finally:
                self.in_flight.done()

    def recipients(self, alert: Alert, kind: str = "raised") -> list[Recipient]:
        return self.planner.recipients(alert, kind)

    def place(self, alert: Alert, zone_id: str | None) -> tuple[str, bool]:
        """What the message calls the place, and whether it is a flood zone (the flood template)."""
        return self.planner.place(alert, zone_id)

    def _plan(self, item: AlertItem) -> list[str]:
        """Planned under the lead: a process that does not hold it (any more) records and sends nothing, and the
        store refuses the plan of one whose token went stale meanwhile. The leader plans the event itself (it
        receives every alert event while it leads, and plans each (alert, event, escalation) once)."""
        fence = self.dispatcher.fence
        try:
            with acting(fence.check(f"notifying {item.kind} of alert {item.alert.id}")):
                jobs = self.planner.plan(item)
        except Fenced as exc:
            refused("notification", exc.detail)
            return []
        for job in jobs:
            self.dispatcher.dispatch(job)
        return [job.record.id for job in jobs]

    # -- the log and dead letters ---------------------------------------------------------------------

    def list_deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """The delivery records as JSON (each with its ``seq``), as the API answers them."""
        return [r.to_json() for r in self.deliveries.deliveries(alert_id, subscriber_id, outcome, after, limit)]

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        return self.deliveries.delivery(delivery_id).to_json()

    def list_dead_letters(self, after: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return [letter.to_json() for letter in self.deliveries.list_dead_letters(after, limit)]

    def retry_dead_letters(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Send dead letters again, through the subscriber's channel as it is now (the fix may have been to
        it). A retried letter leaves the list; one that fails again comes back as a new dead letter."""
        outcomes, requeue = self.deliveries.requeue_dead_letters(ids, self.subscriber_of, self.channels)
        for job in requeue:
            self.dispatcher.dispatch(job)
        return outcomes

    def dead_letter(self, letter_id: int) -> dict[str, Any]:
        return self.deliveries.dead_letter(letter_id).to_json()

    def discard_dead_letter(self, letter_id: int) -> None:
        self.deliveries.discard_dead_letter(letter_id)


__all__ = [
    "NOTIFICATION_FAILED",
    "NOTIFICATION_SENT",
    "Affected",
    "NotificationService",
    "NotificationSettings",
    "NotificationStore",
    "RetryPolicy",
    "render",
]
