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

import heapq
import itertools
import logging
import queue
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from futago.act.model import ALERT_EVENTS, Alert
from futago.act.notify.channels import (
    Channel,
    Connections,
    DashboardChannel,
    EmailChannel,
    Message,
    MqttChannel,
    Outcome,
    WebhookChannel,
    check_name,
)
from futago.act.notify.subscribers import Recipient, Subscriber, Targeting, TwinReader, parse_subscriber
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import NOTIFICATION_FAILED, NOTIFICATION_SENT, Event, EventBus
from futago.core.paths import NO_FILES, DataRoot
from futago.core.problems import Problem
from futago.core.secrets import conceal, keep_stored, masked
from futago.core.twins import now_iso
from futago.store.port import NotificationStore

log = logging.getLogger(__name__)

_SEEN_LIMIT = 20_000


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all; the pause after failed attempt n is ``base_s * factor**(n-1)``, at most ``max_s``,
    plus up to 10 % jitter (only ever added, so that many failing deliveries do not retry in lockstep)."""

    attempts: int = 5
    base_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0

    def delay(self, attempt: int) -> float:
        pause = min(self.max_s, self.base_s * self.factor ** (attempt - 1))
        return pause * (1.0 + 0.1 * random.random())

    @classmethod
    def parse(
        cls, value: Any, pointer: str, problems: list[Problem], default: RetryPolicy | None = None
    ) -> RetryPolicy:
        base = default or cls()
        if value is None:
            return base
        if not isinstance(value, dict):
            problems.append(Problem(pointer, "retry is an object: {attempts, base_s, factor, max_s}"))
            return base
        problems += [
            Problem(f"{pointer}/{k}", "unknown key; use attempts, base_s, factor, max_s")
            for k in value
            if k not in ("attempts", "base_s", "factor", "max_s")
        ]
        attempts = value.get("attempts", base.attempts)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 20:
            problems.append(Problem(f"{pointer}/attempts", "attempts is an integer from 1 to 20"))
            attempts = base.attempts
        numbers: dict[str, float] = {}
        for key, low, high in (("base_s", 0.0, 3600.0), ("factor", 1.0, 10.0), ("max_s", 0.0, 86_400.0)):
            number = value.get(key, getattr(base, key))
            ok = isinstance(number, int | float) and not isinstance(number, bool) and low <= number <= high
            if not ok or (key != "factor" and number <= 0):
                problems.append(Problem(f"{pointer}/{key}", f"{key} is a number above {low:g} up to {high:g}"))
                number = getattr(base, key)
            numbers[key] = float(number)
        return cls(attempts, numbers["base_s"], numbers["factor"], numbers["max_s"])

    def to_json(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "base_s": self.base_s, "factor": self.factor, "max_s": self.max_s}


_DEFAULT_WORKERS = {"webhook": 8, "mqtt": 2, "email": 4, "dashboard": 1}
_SETTING_KEYS = {"depth_threshold_m", "retry", "workers", "webhook_timeout_s", "mqtt_timeout_s", "channels"}


@dataclass(frozen=True)
class NotificationSettings:
    """``[notifications]`` in futago.toml::

    [notifications]
    depth_threshold_m = 0.5                    # planned inundation depth that makes a home "affected"
    retry = { attempts = 5, base_s = 1.0, factor = 2.0, max_s = 60.0 }
    workers = { webhook = 8, mqtt = 2, email = 4, dashboard = 1 }
    webhook_timeout_s = 5.0
    [notifications.channels.email]             # named channel settings (also PUT /notification-channels)
    type = "email"
    host = "smtp.city.example"
    port = 587
    starttls = true
    sender = "alerts@city.example"
    """

    depth_threshold_m: float = 0.5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    workers: Mapping[str, int] = field(default_factory=lambda: dict(_DEFAULT_WORKERS))
    webhook_timeout_s: float = 5.0
    mqtt_timeout_s: float = 5.0
    channels: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, config: Mapping[str, Any] | None) -> NotificationSettings:
        """From the ``[notifications]`` table; InvalidInput with pointers under ``/notifications``."""
        config = config or {}
        problems = [
            Problem(f"/notifications/{k}", f"unknown setting; use {sorted(_SETTING_KEYS)}")
            for k in config
            if k not in _SETTING_KEYS
        ]

        def number(key: str, default: float, high: float, low_ok: bool = False) -> float:
            value = config.get(key, default)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= high
            if not ok or (value == 0 and not low_ok):
                problems.append(Problem(f"/notifications/{key}", f"{key} is a number from 0 to {high:g}"))
                return default
            return float(value)

        threshold = number("depth_threshold_m", 0.5, 100.0, low_ok=True)
        webhook_timeout = number("webhook_timeout_s", 5.0, 300.0)
        mqtt_timeout = number("mqtt_timeout_s", 5.0, 300.0)
        retry = RetryPolicy.parse(config.get("retry"), "/notifications/retry", problems)
        workers = dict(_DEFAULT_WORKERS)
        given = config.get("workers", {})
        if not isinstance(given, dict):
            problems.append(Problem("/notifications/workers", "workers is a table: channel type -> thread count"))
            given = {}
        for kind, count in given.items():
            if kind not in _DEFAULT_WORKERS:
                problems.append(
                    Problem(f"/notifications/workers/{kind}", f"a channel type: {sorted(_DEFAULT_WORKERS)}")
                )
            elif isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
                problems.append(Problem(f"/notifications/workers/{kind}", "a thread count from 1 to 64"))
            else:
                workers[kind] = count
        channels = config.get("channels", {})
        if not isinstance(channels, dict) or not all(isinstance(c, dict) for c in channels.values()):
            problems.append(Problem("/notifications/channels", "[notifications.channels.<name>] tables"))
            channels = {}
        if problems:
            raise InvalidInput(problems)
        return cls(threshold, retry, workers, webhook_timeout, mqtt_timeout, dict(channels))


# ---------------------------------------------------------------------------------------------
# The store, as the service sees it
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------

_SEVERITY = {
    "ja": {"info": "情報", "warning": "警戒", "critical": "危険"},
    "en": {"info": "Info", "warning": "Warning", "critical": "Danger"},
}
# (subject, first line) per language and event; {place} is the zone's name, else the alert's twin.
_FLOOD = {
    "ja": {
        "raised": ("【{severity}】{place}で氾濫の危険", "{place}で氾濫の危険。避難してください。"),
        "escalated": (
            "【再通知・{severity}】{place}で氾濫の危険",
            "{place}で氾濫の危険が続いています。直ちに避難してください。",
        ),
        "acknowledged": ("【対応中】{place}の氾濫警報", "{place}の氾濫警報を担当者が確認し、対応しています。"),
        "resolved": ("【解除】{place}の氾濫警報", "{place}の氾濫警報は解除されました。"),
    },
    "en": {
        "raised": ("[{severity}] Flood danger at {place}", "Flood danger at {place}: evacuate."),
        "escalated": (
            "[Reminder, {severity}] Flood danger at {place}",
            "Flood danger at {place} continues: evacuate now.",
        ),
        "acknowledged": ("[In hand] Flood alert for {place}", "The flood alert for {place} is being handled by staff."),
        "resolved": ("[All clear] Flood alert for {place}", "The flood alert for {place} has ended."),
    },
}
_GENERAL = {
    "ja": {
        "raised": ("【{severity}】{rule}", "{place}で警報が発生しました。"),
        "escalated": ("【再通知・{severity}】{rule}", "{place}の警報が続いています。"),
        "acknowledged": ("【対応中】{rule}", "{place}の警報を担当者が確認しました。"),
        "resolved": ("【解除】{rule}", "{place}の警報は解除されました。"),
    },
    "en": {
        "raised": ("[{severity}] {rule}", "Alert at {place}."),
        "escalated": ("[Reminder, {severity}] {rule}", "The alert at {place} continues."),
        "acknowledged": ("[In hand] {rule}", "The alert at {place} has been acknowledged by staff."),
        "resolved": ("[All clear] {rule}", "The alert at {place} has ended."),
    },
}
_DEPTH_LINE = {
    "ja": "お住まいの場所の想定浸水深: {depth:.1f} m",
    "en": "Planned inundation depth at your place: {depth:.1f} m",
}


def render(alert: Alert, kind: str, language: str, place: str, flood: bool, depth: float | None) -> tuple[str, str]:
    """Subject and text in the subscriber's language: the standard template, then the alert's own message
    (in that language, else in the other one, rather than nothing)."""
    lang = language if language in _SEVERITY else "ja"
    subject, first = (_FLOOD if flood else _GENERAL)[lang][kind]
    values = {"severity": _SEVERITY[lang][alert.severity], "place": place, "rule": alert.rule}
    lines = [first.format(**values)]
    own = alert.message.get(lang) or next((m for m in alert.message.values() if m), "")
    if own:
        lines.append(own)
    if depth is not None and kind in ("raised", "escalated"):
        lines.append(_DEPTH_LINE[lang].format(depth=depth))
    # a subject is one line: a zone's name with a line break in it must not break an email header
    return " ".join(subject.format(**values).split()), "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Affected:
    """The buildings (sorted ids) in an area that meet the depth threshold, and the subscribers living in them."""

    buildings: list[str]
    residents: list[str]


@dataclass
class _Job:
    record: dict[str, Any]  # the delivery record; this job's own copy
    entry: dict[str, Any]  # the subscriber's channel entry
    message: Message
    first_attempt: int = 1  # a retried dead letter gets a fresh budget of attempts


@dataclass
class _Alert:
    """An alert event waiting for the planner."""

    alert: Alert
    kind: str
    received_at: str


# What ``describe_channel`` adds to named settings: accepted and ignored on a PUT.
_SHOWN_ONLY = ("name", "source")


def _redact(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader sees of a channel entry or settings: secrets masked, and a webhook URL's tokens too."""
    shown: dict[str, Any] = masked(doc)
    return shown


class NotificationService:
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
    ) -> None:
        self.store = store
        self.twins = twins
        self.bus = bus
        self.settings = settings or NotificationSettings()
        self.targeting = Targeting(twins, self.settings.depth_threshold_m, building_models)
        self._named = self._load_named()
        if channels is None:
            channels = (
                WebhookChannel(self.settings.webhook_timeout_s),
                MqttChannel(self.named_settings, connections, self.settings.mqtt_timeout_s, files),
                EmailChannel(self.named_settings),
                DashboardChannel(),
            )
        self.channels: dict[str, Channel] = {c.type: c for c in channels}
        self._subscribers = _load_subscribers(store)
        self._lock = threading.RLock()
        self._seen: OrderedDict[tuple[str, str, int], None] = OrderedDict()
        # work in flight: alert events waiting, deliveries sending or waiting to retry, outcomes to record
        self._pending = 0
        self._idle = threading.Condition()
        self._inbox: queue.SimpleQueue[_Alert | None] = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue[tuple[dict[str, Any], dict[str, Any] | None] | None] = queue.SimpleQueue()
        self._retries: list[tuple[float, int, _Job]] = []
        self._retry_wake = threading.Condition()
        self._sequence = itertools.count()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Any = None
        self._closing = False

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow alert events and start the planner, the retry timer and the recorder."""
        if self._threads:
            return
        self._closing = False
        for kind, count in self.settings.workers.items():
            self._pools[kind] = ThreadPoolExecutor(count, thread_name_prefix=f"futago-notify-{kind}")
        for name, target in (("plan", self._plan_loop), ("retry", self._retry_loop), ("record", self._record_loop)):
            thread = threading.Thread(target=target, name=f"futago-notify-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._unsubscribe = self.bus.subscribe(self._on_event)

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop following events; deliveries in flight finish, retries not yet due stay ``retrying``."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self._threads:
            self._close_channels()
            return
        self._closing = True
        self._inbox.put(None)
        with self._retry_wake:
            self._retry_wake.notify_all()
        self._threads[0].join(timeout_s)  # the planner hands its last deliveries to the pools
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        self._outbox.put(None)
        for thread in self._threads[1:]:
            thread.join(timeout_s)
        self._threads, self._pools = [], {}
        self._close_channels()

    def _close_channels(self) -> None:
        for channel in self.channels.values():
            try:
                channel.close()
            except Exception:
                log.exception("closing the %s channel failed", channel.type)

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued alert is planned, every delivery sent or dead, and every outcome recorded."""
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _more(self, count: int = 1) -> None:
        with self._idle:
            self._pending += count

    def _done(self, count: int = 1) -> None:
        with self._idle:
            self._pending -= count
            if self._pending <= 0:
                self._idle.notify_all()

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
        known = self._subscribers.get(subscriber_id)
        body = keep_stored(body, known.to_json() if known else None)  # a mask sent back keeps its secret
        subscriber = parse_subscriber(subscriber_id, body, self.check_channel)
        if subscriber.home is not None and self.twins.get_twin(subscriber.home) is None:
            raise InvalidInput([Problem("/home", f"twin '{subscriber.home}' does not exist; create it first")])
        created = self.store.put_subscriber(subscriber.id, subscriber.to_json())
        with self._lock:
            self._subscribers = {**self._subscribers, subscriber.id: subscriber}
        return self.describe_subscriber(subscriber), created

    def get_subscriber(self, subscriber_id: str) -> dict[str, Any]:
        subscriber = self._subscribers.get(subscriber_id)
        if subscriber is None:
            raise NotFound(f"subscriber '{subscriber_id}' does not exist")
        return self.describe_subscriber(subscriber)

    def list_subscribers(self, after: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        ids = sorted(i for i in self._subscribers if after is None or i > after)[:limit]
        return [self.describe_subscriber(self._subscribers[i]) for i in ids]

    def delete_subscriber(self, subscriber_id: str) -> None:
        self.store.delete_subscriber(subscriber_id)
        with self._lock:
            self._subscribers = {k: v for k, v in self._subscribers.items() if k != subscriber_id}

    def subscribers(self) -> list[Subscriber]:
        return list(self._subscribers.values())

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
        doc = subscriber.to_json()
        doc["channels"] = [_redact(c) for c in doc["channels"]]
        return doc

    # -- named channel settings ------------------------------------------------------------------------

    def _load_named(self) -> dict[str, tuple[dict[str, Any], str]]:
        named = {name: (conceal(dict(spec)), "configuration") for name, spec in self.settings.channels.items()}
        named.update({name: (spec, "api") for name, spec in self.store.list_notification_channels().items()})
        return named

    def named_settings(self, name: str) -> Mapping[str, Any] | None:
        found = self._named.get(name)
        return None if found is None else found[0]

    def _check_settings(self, name: str, spec: Any) -> RetryPolicy:
        problems = check_name(name, "/name")
        if not isinstance(spec, dict):
            raise InvalidInput([*problems, Problem("", "channel settings are an object with a 'type'")])
        kind = spec.get("type")
        channel = self.channels.get(kind) if isinstance(kind, str) else None
        if channel is None:
            problems.append(Problem("/type", f"type is one of {sorted(self.channels)}"))
        else:
            problems += channel.check_settings(spec, "")
        policy = RetryPolicy.parse(spec.get("retry"), "/retry", problems, self.settings.retry)
        if problems:
            raise InvalidInput(problems)
        return policy

    def check_configured_channels(self) -> None:
        """Check the named settings of the configuration at start, so a typo is found before an alert."""
        for name, spec in self.settings.channels.items():
            try:
                self._check_settings(name, spec)
            except InvalidInput as exc:
                problems = [Problem(f"/notifications/channels/{name}{p.pointer}", p.message) for p in exc.problems]
                raise InvalidInput(problems) from None

    def put_channel(self, name: str, spec: Any) -> tuple[dict[str, Any], bool]:
        if isinstance(spec, dict):  # what a GET gave may come back: its shown-only keys go, its masks keep secrets
            spec = keep_stored({k: v for k, v in spec.items() if k not in _SHOWN_ONLY}, self.named_settings(name))
        self._check_settings(name, spec)
        created = name not in self._named
        spec = conceal(spec)  # stored sealed, shown masked, revealed only to log in
        self.store.put_notification_channel(name, spec)
        with self._lock:
            self._named = {**self._named, name: (spec, "api")}
        return self.describe_channel(name), created

    def describe_channel(self, name: str) -> dict[str, Any]:
        found = self._named.get(name)
        if found is None:
            raise NotFound(f"notification channel settings '{name}' do not exist")
        return {"name": name, **_redact(found[0]), "source": found[1]}

    def list_channels(self) -> list[dict[str, Any]]:
        return [self.describe_channel(name) for name in sorted(self._named)]

    def delete_channel(self, name: str) -> None:
        found = self._named.get(name)
        if found is None:
            raise NotFound(f"notification channel settings '{name}' do not exist")
        if found[1] == "configuration":
            raise Conflict(
                f"'{name}' is defined in the configuration ([notifications.channels.{name}]); remove it there"
            )
        configured = self.settings.channels.get(name)
        users = sorted(s.id for s in self._subscribers.values() if any(self._uses(c, name) for c in s.channels))
        if users and configured is None:
            raise Conflict(f"subscribers {users[:10]} send through '{name}'; change their channels first")
        self.store.delete_notification_channel(name)
        with self._lock:  # an override made through the API gives way to the configuration's settings again
            named = {k: v for k, v in self._named.items() if k != name}
            if configured is not None:
                named[name] = (conceal(dict(configured)), "configuration")
            self._named = named

    @staticmethod
    def _uses(entry: Mapping[str, Any], name: str) -> bool:
        if entry.get("type") == "email" or (entry.get("type") == "mqtt" and not {"connection", "host"} & set(entry)):
            return entry.get("via", entry.get("type")) == name
        return False

    def _policy(self, entry: Mapping[str, Any]) -> RetryPolicy:
        spec = self.named_settings(str(entry.get("via", entry.get("type"))))
        if spec is None or "retry" not in spec:
            return self.settings.retry
        return RetryPolicy.parse(spec["retry"], "/retry", [], self.settings.retry)

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
        self._more()
        self._inbox.put(_Alert(alert, event.type.removeprefix("alert."), received_at))

    def notify(self, alert: Alert, kind: str = "raised") -> list[str]:
        """Plan and dispatch an alert event now (as the bus handler would); returns the delivery ids."""
        self._more()
        try:
            return self._plan(_Alert(alert, kind, now_iso()))
        finally:
            self._done()

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
                self._done()

    def recipients(self, alert: Alert, kind: str = "raised") -> list[Recipient]:
        subscribers = list(self._subscribers.values())
        if kind in ("raised", "escalated"):
            return self.targeting.recipients(alert, kind, subscribers)
        warned = self._warned(alert.id)
        return [Recipient(s, "warned") for s in subscribers if s.id in warned and s.wants(alert, kind)]

    def _warned(self, alert_id: str) -> set[str]:
        warned: set[str] = set()
        after: int | None = None
        while True:
            page = self.store.list_deliveries(alert_id=alert_id, after=after, limit=1000)
            warned |= {r["subscriberId"] for r in page if r["event"] in ("alert.raised", "alert.escalated")}
            if len(page) < 1000:
                return warned
            after = page[-1]["seq"]

    def _plan(self, item: _Alert) -> list[str]:
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
        jobs: list[_Job] = []
        for recipient in recipients:
            if recipient.zone not in places:
                places[recipient.zone] = self.place(alert, recipient.zone)
            place, flood = places[recipient.zone]
            subscriber = recipient.subscriber
            subject, text = render(alert, kind, subscriber.language, place, flood, recipient.depth)
            for entry in subscriber.channels:
                jobs.append(self._job(alert, kind, item.received_at, recipient, entry, subject, text, place))
        self.store.save_deliveries([job.record for job in jobs])
        for job in jobs:
            self._dispatch(job)
        return [job.record["id"] for job in jobs]

    def _in_log(self, alert: Alert, kind: str) -> bool:
        event, escalation = f"alert.{kind}", alert.escalation if kind == "escalated" else 0
        after: int | None = None
        while True:
            page = self.store.list_deliveries(alert_id=alert.id, after=after, limit=1000)
            if any(r["event"] == event and r.get("escalation", 0) == escalation for r in page):
                return True
            if len(page) < 1000:
                return False
            after = page[-1]["seq"]

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
    ) -> _Job:
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
        record = {
            "id": delivery_id,
            "alertId": alert.id,
            "event": event,
            "escalation": alert.escalation if kind == "escalated" else 0,
            "rule": alert.rule,
            "twinId": alert.twin_id,
            "subscriberId": subscriber.id,
            "channel": entry["name"],
            "channelType": entry["type"],
            "target": channel.target(entry),
            "language": subscriber.language,
            "subject": subject,
            "text": text,
            "why": recipient.why,
            "zone": recipient.zone,
            "depth": recipient.depth,
            "receivedAt": received_at,
            "queuedAt": now_iso(),
            "sentAt": None,
            "confirmedAt": None,
            "outcome": "queued",
            "attempts": 0,
            "error": None,
        }
        message = Message(delivery_id, subscriber.id, subscriber.language, subject, text, body, alert.id, alert.rule)
        return _Job(record, entry, message)

    # -- deliveries out -------------------------------------------------------------------------------

    def _dispatch(self, job: _Job) -> None:
        kind = job.entry["type"]
        self._more()
        pool = self._pools.get(kind)
        if pool is None:  # not started (a test or a one-off call): send on this thread
            self._attempt(job)
            return
        try:
            pool.submit(self._attempt, job)
        except RuntimeError:  # shutting down: it stays queued in the log
            self._done()

    def _attempt(self, job: _Job) -> None:
        try:
            self._try(job)
        except Exception:
            log.exception("delivery %s failed unexpectedly", job.record["id"])
        finally:
            self._done()

    def _try(self, job: _Job) -> None:
        record = job.record
        channel = self.channels[job.entry["type"]]
        started = now_iso()
        try:
            outcome = channel.send(job.entry, job.message)
        except Exception as exc:  # a channel promises not to raise; a bug in one must not lose the delivery
            log.exception("the %s channel raised", channel.type)
            outcome = Outcome(False, True, f"{type(exc).__name__}: {exc}")
        attempt = record["attempts"] = record["attempts"] + 1
        record["lastAttemptAt"] = started
        if outcome.ok:
            record.update(
                outcome="sent",
                sentAt=outcome.sent_at or started,
                confirmedAt=now_iso(),
                error=None,
                detail=outcome.detail,
            )
            record.pop("nextAttemptAt", None)
            self._record(record)
            self.bus.publish(_event(NOTIFICATION_SENT, record, _event_data(record), f"notifications/{record['id']}"))
            return
        policy = self._policy(job.entry)
        if outcome.retry and attempt - job.first_attempt + 1 < policy.attempts and not self._closing:
            pause = max(policy.delay(attempt - job.first_attempt + 1), outcome.retry_after_s or 0.0)
            pause = min(pause, max(policy.max_s, 1.0) * 10)  # a Retry-After of days must not park a delivery
            record.update(outcome="retrying", error=outcome.detail, nextAttemptAt=_iso_in(pause))
            self._record(record)
            self._schedule(job, pause)
            return
        record.update(outcome="failed", error=outcome.detail)
        record.pop("nextAttemptAt", None)
        letter = {
            "deliveryId": record["id"],
            "alertId": record["alertId"],
            "event": record["event"],
            "subscriberId": record["subscriberId"],
            "channel": record["channel"],
            "channelType": record["channelType"],
            "target": record["target"],
            "reason": outcome.detail,
            "attempts": attempt,
            "failedAt": now_iso(),
            "message": {"subject": job.message.subject, "text": job.message.text, "body": job.message.body},
        }
        self._record(record, letter)

    def _record(self, record: dict[str, Any], letter: dict[str, Any] | None = None) -> None:
        self._more()
        if not self._threads:  # not started (a one-off ``notify``): write now
            self._write([(dict(record), letter)])
            return
        self._outbox.put((dict(record), letter))

    def _record_loop(self) -> None:
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

    def _write(self, items: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> None:
        try:
            latest: dict[str, dict[str, Any]] = {}
            for record, _ in items:  # of several outcomes of one delivery, the last wins
                latest[record["id"]] = record
            failed = [(record, letter) for record, letter in items if letter is not None]
            ids = self.store.save_deliveries(list(latest.values()), [letter for _, letter in failed])
            for letter_id, (record, letter) in zip(ids, failed, strict=True):
                data = {**{k: letter[k] for k in _LETTER_EVENT_KEYS}, "id": letter_id}
                resource = f"notifications/dead-letters/{letter_id}"
                self.bus.publish(_event(NOTIFICATION_FAILED, record, data, resource))
        except Exception:
            log.exception("recording %d notification outcomes failed", len(items))
        finally:
            self._done(len(items))

    def _schedule(self, job: _Job, pause: float) -> None:
        self._more()
        with self._retry_wake:
            heapq.heappush(self._retries, (time.monotonic() + pause, next(self._sequence), job))
            self._retry_wake.notify()

    def _retry_loop(self) -> None:
        while True:
            with self._retry_wake:
                while not self._closing and (not self._retries or self._retries[0][0] > time.monotonic()):
                    wait = self._retries[0][0] - time.monotonic() if self._retries else None
                    self._retry_wake.wait(wait)
                if self._closing:
                    left, self._retries = len(self._retries), []
                    self._done(left)  # they stay "retrying" in the log
                    return
                _, _, job = heapq.heappop(self._retries)
            try:
                self._dispatch(job)
            finally:
                self._done()

    # -- the log and dead letters ---------------------------------------------------------------------

    def list_deliveries(
        self,
        alert_id: str | None = None,
        subscriber_id: str | None = None,
        outcome: str | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        return self.store.list_deliveries(alert_id, subscriber_id, outcome, after, limit)

    def delivery(self, delivery_id: str) -> dict[str, Any]:
        record = self.store.get_delivery(delivery_id)
        if record is None:
            raise NotFound(f"delivery '{delivery_id}' does not exist")
        return record

    def list_dead_letters(self, after: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.store.list_notification_dead_letters(after, limit)

    def retry_dead_letters(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Send dead letters again, through the subscriber's channel as it is now (the fix may have been to
        it). A retried letter leaves the list; one that fails again comes back as a new dead letter."""
        letters = self.store.get_notification_dead_letters(ids)
        missing = sorted(set(ids) - {int(letter["id"]) for letter in letters})
        if missing:
            raise InvalidInput([Problem("/ids", f"no notification dead letters with ids {missing[:20]}")])
        outcomes: list[dict[str, Any]] = []
        requeue: list[_Job] = []
        for letter in letters:
            subscriber = self._subscribers.get(letter["subscriberId"])
            entry = (
                next((c for c in subscriber.channels if c["name"] == letter["channel"]), None) if subscriber else None
            )
            record = self.store.get_delivery(letter["deliveryId"])
            if subscriber is None or entry is None or record is None:
                why = "the subscriber no longer exists" if subscriber is None else "the subscriber has no such channel"
                outcomes.append(
                    {"id": letter["id"], "deliveryId": letter["deliveryId"], "requeued": False, "reason": why}
                )
                continue
            record.pop("seq", None)
            record.update(outcome="queued", error=None, target=self.channels[entry["type"]].target(entry))
            saved = letter["message"]
            message = Message(
                record["id"],
                subscriber.id,
                record["language"],
                saved["subject"],
                saved["text"],
                saved["body"],
                record["alertId"],
                record["rule"],
            )
            requeue.append(_Job(record, entry, message, first_attempt=record["attempts"] + 1))
            outcomes.append({"id": letter["id"], "deliveryId": record["id"], "requeued": True})
        if requeue:
            self.store.save_deliveries([job.record for job in requeue])
            self.store.delete_notification_dead_letters([o["id"] for o in outcomes if o["requeued"]])
            for job in requeue:
                self._dispatch(job)
        return outcomes

    def discard_dead_letter(self, letter_id: int) -> None:
        if self.store.delete_notification_dead_letters([letter_id]) == 0:
            raise NotFound(f"notification dead letter {letter_id} does not exist")


def _load_subscribers(store: NotificationStore) -> dict[str, Subscriber]:
    found: dict[str, Subscriber] = {}
    for doc in store.list_subscribers():
        try:
            found[doc["id"]] = Subscriber.from_json(doc)
        except (KeyError, TypeError, ValueError, IndexError):  # a damaged record must not stop the server
            log.error("stored subscriber %r cannot be read; it gets no notifications", doc.get("id"))
    return found


# What a notification event says: which delivery of which alert, by which kind of channel, and when. Never whom
# or where: the subscriber, its channel's name and target (address, URL, host), the error (which names the
# target), the text (which may say the depth at the resident's place) and the zone stay in the store, behind
# /notifications, which needs READ on notifications.
_EVENT_KEYS = ("id", "alertId", "event", "rule", "channelType", "subject", "queuedAt", "sentAt")
_LETTER_EVENT_KEYS = ("deliveryId", "alertId", "event", "channelType", "attempts", "failedAt")


def _event_data(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in _EVENT_KEYS}


def _event(kind: str, record: Mapping[str, Any], data: dict[str, Any], resource: str) -> Event:
    """A notification event about the delivery (or dead letter) ``resource``: it names the alert and the twin the
    alert is about, and the zone its subject names, so that only a caller who may read them all sees it."""
    about: tuple[str, ...] = (f"alerts/{record['alertId']}", resource)
    if record.get("zone"):
        about += (f"twins/{record['zone']}",)
    return Event(kind, now_iso(), twin_id=record.get("twinId"), data=data, about=about)


def _iso_in(seconds: float) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
