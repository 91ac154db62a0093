"""NGSI-LD subscriptions at work: stored per tenant, matched against twin changes from either door, and their
notifications handed to futago's notification machinery (the ``ngsild`` channel, retries, dead letters).

- **Index.** Subscriptions are matched from memory, by tenant: loaded on ``start`` (after a leadership change
  too), changed at once by every create, update and delete made here, read again when another process announces
  one (``ngsild_subscription.changed``, relayed over NATS in order with the twin changes) and every ``REFRESH_S``
  (no NATS, an announcement missed). A change in a tenant without subscriptions costs a dictionary look-up.
- **Triggers.** Every ``twin.*`` and ``relationship.*`` event (the twin API and NGSI-LD alike) is queued and
  matched on a thread of its own: tenant, entity selectors, ``notificationTrigger`` and watchedAttributes
  against what changed (``triggers``: against the twin the event replaced or removed, on any process, ``before``),
  ``q``, ``geoQ``, ``throttling``, ``isActive`` and ``expiresAt``.
  Periodic subscriptions (``timeInterval``) are sent by a timer with every entity that matches then.
- **Throttling drops nothing.** A change within a subscription's throttle window is held, the latest per entity,
  and the timer sends the held entities in one coalesced notification when the window ends; each held change
  counts in the status member ``timesCoalesced`` (a futago extension).
- **Visibility.** A subscription notifies only what its owner (the caller who created it) may read now: twins,
  properties, relationship targets, under the policies in force at notification time.
- **Leadership.** Only the process that runs notifications starts this (``start``, from ``App.start_stateful``);
  the others store subscriptions, which the leader reads back within ``REFRESH_S``.
- **Status.** The ``ngsild`` channel tells each attempt's outcome; the counters are kept apart from the
  subscription (``timesSent``, ``timesFailed``, ``lastNotification``, ``lastSuccess``, ``lastFailure``,
  ``timesCoalesced``). The leader's counters in memory are the newest: only other processes read them back.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import orjson

from futago.act.notify import NotificationService
from futago.act.notify.channel import Message, Outcome
from futago.act.notify.jobs import Job
from futago.core.events import NGSILD_SUBSCRIPTION_CHANGED, Event, EventBus
from futago.core.fence import OPEN, Fenced, acting, refused
from futago.core.notifications import Delivery, Subscriber
from futago.core.ports import NgsiLdSubscriptionStore
from futago.core.twins import Twin, now_iso
from futago.security.service import SecurityService
from futago.services.ngsild import owner_view, qlang
from futago.services.ngsild import subscriptions as subs
from futago.services.ngsild import triggers as trg
from futago.services.ngsild.attributes import LOCATION, Rendering
from futago.services.ngsild.before import change_before, tenant_ids, twin_before
from futago.services.ngsild.context import CORE_CONTEXT_URL, TermMap
from futago.services.ngsild.errors import AlreadyExists, BadRequestData, ResourceNotFound
from futago.services.ngsild.joins import joined
from futago.services.ngsild.mapping import EntityState, from_twin
from futago.services.ngsild.service import EntityQuery, NgsiLdService
from futago.services.ngsild.triggers import (
    Change,
    Delta,
    add_previous,
    bare,
    delta_of,
    fires,
    in_datasets,
    links_follow,
    projection,
    selects,
    show_gone,
    then,
)

log = logging.getLogger(__name__)
REFRESH_S = 10.0  # how soon the leader sees a subscription stored through another process (a safety read)
SUBSCRIBER_PREFIX = "ngsild:"  # delivery records name a subscription as subscriber "ngsild:<tenant>:<id>"
_NOTIFICATION_URN = "urn:ngsi-ld:Notification:"
_SEEN_LIMIT = 20_000
_TRIGGERS = (
    "twin.created", "twin.updated", "twin.deleted", "relationship.created", "relationship.updated",
    "relationship.deleted",
)  # fmt: skip
_CREATION_QUIET_S = 0.02  # how long a creation waits for the relationships stored with it
_RELATIONSHIPS_GONE_S = 5.0  # how long a relationship deleted just before its entity is kept for that deletion
Key = tuple[str, str]  # (tenant or "", subscription id)
QMatcher = Callable[[str, TermMap], Callable[[EntityState], bool]]


def default_q_matcher(text: str, terms: TermMap) -> Callable[[EntityState], bool]:
    """The NGSI-LD query language of GET /entities (``qlang``): parsed once, BadRequestData when malformed."""
    node = qlang.parse_q(trg.q_text(text), terms)
    return lambda state: qlang.matches(node, state.attrs)


class SubscriptionService:
    def __init__(
        self,
        ngsild: NgsiLdService,
        store: NgsiLdSubscriptionStore,
        notifications: NotificationService,
        bus: EventBus,
        security: SecurityService | None = None,
        q_matcher: QMatcher = default_q_matcher,
    ) -> None:
        self.ngsild = ngsild
        self.store = store
        self.notifications = notifications
        self.bus = bus
        self.security = security
        self.q_matcher = q_matcher
        self._lock = threading.RLock()
        self._records: dict[Key, dict[str, Any]] | None = None
        self._by_tenant: dict[str, dict[Key, dict[str, Any]]] = {}
        self._loaded_at = 0.0
        self._status: dict[Key, dict[str, Any]] = {}
        self._last_sent: dict[Key, float] = {}  # monotonic, for throttling
        self._held: dict[Key, dict[str, Change]] = {}  # changes within a throttle window, the latest per entity
        self._next_due: dict[Key, float] = {}  # monotonic, for timeInterval
        self._wake = threading.Event()  # the timer's deadlines changed
        self._q_cache: dict[tuple[str, str, bytes], Callable[[EntityState], bool]] = {}
        self._seen: OrderedDict[str, EntityState] = OrderedDict()  # each twin's last state, for what changed
        # relationships removed from a twin lately: an entity deletion removes them first, and notifies them too
        self._rels_gone: dict[str, tuple[float, dict[str, list[Any]]]] = {}
        # twins created lately (when, their etag): their relationships are stored after them, in the same creation
        self._born: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._inbox: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self.pending = 0  # events queued and not yet matched (tests wait on it)
        channel = notifications.channels.get("ngsild")
        if channel is not None and hasattr(channel, "observers"):
            channel.observers.append(self._observe)
        lookups = getattr(notifications, "subscriber_lookups", None)
        if isinstance(lookups, list):  # so that a restarted leader resumes and requeues these deliveries too
            lookups.append(self.subscriber)

    # -- storage --------------------------------------------------------------------------------------

    def _all(self, fresh: bool = False) -> dict[Key, dict[str, Any]]:
        """The index; read from the store when asked (an API read, which must see every process's writes)."""
        with self._lock:
            if self._records is None or fresh:
                self._load()
            assert self._records is not None
            return self._records

    def _load(self) -> None:
        records = dict(self.store.list_ngsild_subscriptions())
        by_tenant: dict[str, dict[Key, dict[str, Any]]] = {}
        for key, record in records.items():
            by_tenant.setdefault(key[0], {})[key] = record
        with self._lock:
            self._records, self._by_tenant, self._loaded_at = records, by_tenant, time.monotonic()
            for key in set(self._held) - set(records):  # deleted through another process: nobody to tell
                del self._held[key]
        self._wake.set()

    def _put(self, key: Key, record: dict[str, Any]) -> None:
        with self._lock:
            self._all()[key] = record
            self._by_tenant.setdefault(key[0], {})[key] = record
            self._next_due.pop(key, None)
        self._wake.set()  # a periodic one is due at once; a throttle window may have changed

    def _drop(self, key: Key) -> None:
        with self._lock:
            self._all().pop(key, None)
            self._by_tenant.get(key[0], {}).pop(key, None)
            for kept in (self._status, self._held, self._last_sent, self._next_due):
                kept.pop(key, None)

    def create(self, tenant: str | None, document: Any, terms: TermMap, context: Any, owner: dict[str, Any]) -> str:
        record = subs.parse(document, terms, context, subs.now_utc())
        record["owner"] = owner
        if record["notification"].get("attributes") is not None and "showChanges" not in record["notification"]:
            record["notification"]["showChanges"] = False
        key = (tenant or "", record["id"])
        self._loadable(record, document)
        if record.get("q"):
            self.q_matcher(record["q"], terms)  # a bad q is refused now, not at the first change
        with self._lock:
            if key in self._all(fresh=True):
                raise AlreadyExists(f"subscription '{record['id']}' already exists")
            self.store.put_ngsild_subscription(key[0], key[1], record)
            self._put(key, record)
        self._announce(key, "created")
        return str(record["id"])

    def _loadable(self, record: dict[str, Any], given: Any) -> None:
        """A jsonldContext given now is loaded now (LdContextNotAvailable), not at the first notification."""
        if isinstance(given, dict) and "jsonldContext" in given:
            self.ngsild.contexts.resolve(record["context"])

    def get(self, tenant: str | None, sub_id: str) -> dict[str, Any]:
        record = self._all(fresh=True).get((tenant or "", sub_id))
        if record is None:
            raise ResourceNotFound(f"subscription '{sub_id}' does not exist")
        return record

    def status(self, tenant: str | None, sub_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._status.get((tenant or "", sub_id), {}))

    def fresh_status(self) -> None:
        """The counters as the leader stored them, where this process is not the leader (whose own are newer)."""
        if self._threads:
            return
        stored = self.store.list_ngsild_subscription_statuses()
        with self._lock:
            self._status.update(stored)

    def of_tenant(self, tenant: str | None) -> list[dict[str, Any]]:
        return [r for (t, _), r in sorted(self._all(fresh=True).items()) if t == (tenant or "")]

    def update(self, tenant: str | None, sub_id: str, fragment: Any, terms: TermMap) -> None:
        record = self.get(tenant, sub_id)
        if isinstance(fragment, dict) and ("id" in fragment and fragment["id"] != sub_id):
            raise BadRequestData("a subscription's id cannot change")
        if isinstance(fragment, dict) and fragment.get("type", "Subscription") != "Subscription":
            raise BadRequestData("a subscription's type is 'Subscription'")
        body = (
            {k: v for k, v in fragment.items() if k not in ("id", "type")} if isinstance(fragment, dict) else fragment
        )
        changed = subs.apply(record, body, terms, subs.now_utc())
        self._loadable(changed, body)
        if changed.get("q") and changed.get("q") != record.get("q"):
            self.q_matcher(changed["q"], terms)
        key = (tenant or "", sub_id)
        with self._lock:
            self.store.put_ngsild_subscription(key[0], key[1], changed)
            self._put(key, changed)
        self._announce(key, "updated")

    def delete(self, tenant: str | None, sub_id: str) -> None:
        self.get(tenant, sub_id)
        key = (tenant or "", sub_id)
        with self._lock:
            self.store.delete_ngsild_subscription(key[0], key[1])
            self._drop(key)
        self._announce(key, "deleted")

    def _announce(self, key: Key, change: str) -> None:
        """Tell the other processes (the relay carries the event over NATS): the leader reads the index again."""
        resource = f"subscriptions/{self.ngsild.tenant_twin_id(key[0] or None, key[1])}"
        data = {"tenant": key[0] or None, "subscriptionId": key[1], "change": change}
        self.bus.publish(Event(NGSILD_SUBSCRIPTION_CHANGED, now_iso(), data=data, about=(resource,)))

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Follow twin changes and run the periodic timer: the leader only."""
        if self._threads:
            return
        self._stop.clear()
        self._load()  # what the previous leader, or any process, stored
        stored = self.store.list_ngsild_subscription_statuses()
        with self._lock:
            self._status.update(stored)
        self._unsubscribe = self.bus.subscribe(self._on_event)
        for name, target in (("match", self._match_loop), ("timer", self._timer_loop)):
            thread = threading.Thread(target=target, name=f"futago-ngsild-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout_s: float = 5.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stop.set()
        self._wake.set()
        self._inbox.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads = []

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Until every queued change is matched and every notification sent or dead (for tests)."""
        deadline = time.monotonic() + timeout_s
        while self.pending > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.pending <= 0 and self.notifications.wait_idle(max(0.0, deadline - time.monotonic()))

    # -- triggers --------------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """On the publishing thread: queue, nothing more."""
        announced = event.type == NGSILD_SUBSCRIPTION_CHANGED and event.origin is not None  # another's
        if announced or (event.type in _TRIGGERS and event.twin_id):
            with self._lock:
                self.pending += 1
            self._inbox.put(event)

    def _match_loop(self) -> None:
        waiting: list[Event | None] = []
        while True:
            event = waiting.pop(0) if waiting else self._inbox.get()
            if event is None:
                return
            if event.type == "twin.created" or links_follow(event):
                waiting = self._creation_of(event)
            try:
                self.on_change(event)
            except Exception:  # one bad change must not stop the next one's notifications
                log.exception("matching NGSI-LD subscriptions for %s failed", event.twin_id)
            finally:
                with self._lock:
                    self.pending -= 1

    def _creation_of(self, created: Event) -> list[Event | None]:
        """The events that follow a creation (or an update that links a relationship), in order: the relationships
        are stored right after the twin, so it is matched once they are. Waits at most ``_CREATION_QUIET_S``."""
        taken: list[Event | None] = []
        while True:
            try:
                event = self._inbox.get(timeout=_CREATION_QUIET_S)
            except queue.Empty:
                return taken
            taken.append(event)
            if event is None or event.twin_id != created.twin_id or not event.type.startswith("relationship."):
                return taken

    def on_change(self, event: Event) -> None:
        if event.type == NGSILD_SUBSCRIPTION_CHANGED:  # made through another process: read in order with changes
            self._load()
            return
        twin_id = str(event.twin_id)
        tenant = owner_view.tenant_of(twin_id)
        now = subs.now_utc()
        with self._lock:
            if self._records is None:
                self._load()
            in_tenant = list(self._by_tenant.get(tenant, {}).items())
        changed_at = event.time if event.origin is None else None  # another process's clock is not ours
        candidates = [(key, r) for key, r in in_tenant if subs.hears(r, now, changed_at)]
        if not candidates:  # no one is subscribed in this tenant: no read, no state (the batch path's hot loop)
            return
        if event.type == "twin.deleted":
            self._on_deleted(event, tenant, candidates)
            return
        twin = self.ngsild.twins.store.get_twin(twin_id)
        if twin is None:
            return
        rels = self.ngsild.twins.store.list_relationships(twin_id)
        ids = tenant_ids(self.ngsild, tenant)
        state = from_twin(twin, rels, self.ngsild.models.models, ids[0])
        seen = self._remember(twin_id, state)
        before = change_before(event, twin, rels, seen, self.ngsild.models.models, ids)
        previous = before.attrs if before is not None else None
        delta = delta_of(event, self._kind(event, twin), state, previous)
        if event.type == "relationship.deleted" and delta.deleted:
            with self._lock:
                self._rels_gone[twin_id] = (time.monotonic(), dict(delta.deleted))
        for key, record in candidates:
            triggers = record.get("notificationTrigger", subs.DEFAULT_TRIGGERS)
            if not fires(triggers, delta, record.get("watchedAttributes")) or not selects(record, state):
                continue
            shown = self._as_owner_sees(record, tenant, twin)
            if shown is None:
                continue
            # told only what the owner may read: what went, and whether anything it may see changed at all
            gone = owner_view.gone_as_owner_sees(self.security, self.ngsild, record, twin_id, delta.deleted)
            told = owner_view.delta_as_owner_sees(delta, shown, gone)
            if fires(triggers, told, record.get("watchedAttributes")) and self._filters_pass(record, shown):
                self._send_or_hold(key, record, twin_id, (shown, previous, told))

    def _on_deleted(self, event: Event, tenant: str, candidates: list[tuple[Key, dict[str, Any]]]) -> None:
        """An entity deleted: notified with the twin the event removed (with the relationships its deletion removed
        just before), else the last state this notifier saw of it, else with its id and type only."""
        twin_id = str(event.twin_id)
        with self._lock:
            last = self._seen.pop(twin_id, None)
            moment, rels = self._rels_gone.pop(twin_id, (0.0, {}))
        if isinstance(event.previous, Twin):  # exact, whichever process deleted it
            last = twin_before(event.previous, None, [], self.ngsild.models.models, tenant_ids(self.ngsild, tenant))
        if last is None:
            try:
                last = self.ngsild.state_of(tenant or None, Twin(twin_id, event.model or ""))
            except Exception:  # a model gone with the twin: nothing to say what type it was
                log.warning("NGSI-LD subscriptions: no type for deleted twin %s", twin_id)
                return
            last.attrs.clear()
        if time.monotonic() - moment < _RELATIONSHIPS_GONE_S:
            last.attrs.update({iri: instances for iri, instances in rels.items() if iri not in last.attrs})
        delta = Delta("deleted", deleted=dict(last.attrs), deleted_at=event.time)
        for key, record in candidates:
            triggers = record.get("notificationTrigger", subs.DEFAULT_TRIGGERS)
            if not fires(triggers, delta, record.get("watchedAttributes")) or not selects(record, last):
                continue
            shown = owner_view.deleted_as_owner_sees(self.security, self.ngsild, record, twin_id, last)
            if shown is not None and (not shown.attrs or self._filters_pass(record, shown)):
                told = replace(delta, deleted=dict(shown.attrs))  # only what the owner may be told went
                self._send_or_hold(key, record, twin_id, (shown, shown.attrs, told))

    def _remember(self, twin_id: str, state: EntityState) -> EntityState | None:
        with self._lock:
            previous = self._seen.pop(twin_id, None)
            self._seen[twin_id] = state
            while len(self._seen) > _SEEN_LIMIT:
                self._seen.popitem(last=False)
        return previous

    def _kind(self, event: Event, twin: Twin) -> str:
        """``created``; ``creating`` for a relationship stored by the same creation (the twin unchanged since);
        else ``updated``."""
        now = time.monotonic()
        with self._lock:
            if event.type == "twin.created":
                self._born[twin.id] = (now, twin.etag)
                while len(self._born) > _SEEN_LIMIT:
                    self._born.popitem(last=False)
                return "created"
            born = self._born.get(twin.id)
        fresh = born is not None and now - born[0] < _RELATIONSHIPS_GONE_S and born[1] == twin.etag
        return "creating" if fresh and event.type.startswith("relationship.") else "updated"

    def _send_or_hold(self, key: Key, record: dict[str, Any], twin_id: str, change: Change) -> None:
        """Notify now, or, within the throttle window, hold the change (the latest per entity) for the timer,
        which sends every held entity in one notification when the window ends."""
        throttling = record.get("throttling")
        with self._lock:
            last = self._last_sent.get(key)
            if throttling is not None and last is not None and time.monotonic() - last < throttling:
                held = self._held.setdefault(key, {})
                before = held.get(twin_id)
                # showChanges tells what changed since the last notification: the first held change's "before"
                held[twin_id] = then(before, change) if before is not None else change
                counters = self._status.setdefault(key, {"timesSent": 0, "timesFailed": 0})
                counters["timesCoalesced"] = int(counters.get("timesCoalesced", 0)) + 1
                self._wake.set()
                return
            self._last_sent[key] = time.monotonic()
            held = self._held.pop(key, {})  # a window that ended before the timer sent it goes with this one
        previous = held.pop(twin_id, None)
        merged = then(previous, change) if previous is not None else change
        self._notify(key, record, [*held.values(), merged], twin_id)

    def _as_owner_sees(self, record: dict[str, Any], tenant: str, twin: Twin) -> EntityState | None:
        return owner_view.as_owner_sees(self.security, self.ngsild, record, tenant, twin)

    def _filters_pass(self, record: dict[str, Any], state: EntityState) -> bool:
        if record.get("q"):
            try:
                if not self._compiled_q(record)(state):
                    return False
            except BadRequestData:
                return False
        if not subs.in_scope(record, state.scope):
            return False
        geo_q = record.get("geoQ")
        if geo_q is not None:
            return subs.geo_matches(geo_q, subs.geometry_of(state.attrs, geo_q.get("geoproperty", LOCATION)))
        return True

    def _compiled_q(self, record: dict[str, Any]) -> Callable[[EntityState], bool]:
        cache_key = (record["id"], record["q"], orjson.dumps(record.get("context")))
        matcher = self._q_cache.get(cache_key)
        if matcher is None:
            matcher = self.q_matcher(record["q"], self.ngsild.contexts.resolve(record.get("context")))
            if len(self._q_cache) > 1000:
                self._q_cache.clear()
            self._q_cache[cache_key] = matcher
        return matcher

    # -- the timer: periodic subscriptions, throttle windows, the safety read --------------------------

    def _timer_loop(self) -> None:
        """Sleeps until the next deadline, or until a subscription or a held change moves one."""
        wait_s = 0.0
        while not self._stop.is_set():
            self._wake.wait(wait_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                wait_s = self.tick()
            except Exception:
                log.exception("timed NGSI-LD notifications failed")
                wait_s = 1.0

    def tick(self) -> float:
        """Everything that is due: the safety read, the throttle windows that ended, the periodic subscriptions.
        Returns how long to sleep until the next deadline."""
        if time.monotonic() - self._loaded_at >= REFRESH_S:
            self._load()
        deadlines = [self._loaded_at + REFRESH_S, self._flush_held(), self._send_periodic()]
        return max(0.0, min(deadlines) - time.monotonic())

    def _flush_held(self) -> float:
        """Send each throttle window that ended with the entities it held; the next window's end."""
        now, soonest, due = time.monotonic(), math.inf, []
        with self._lock:
            for key in list(self._held):
                record = (self._records or {}).get(key)
                ends = self._last_sent.get(key, 0.0) + float((record or {}).get("throttling") or 0.0)
                if record is None or ends <= now:
                    due.append((key, record, self._held.pop(key)))
                    self._last_sent[key] = now
                else:
                    soonest = min(soonest, ends)
        moment = subs.now_utc()
        for key, record, held in due:
            if record is not None and subs.status_of(record, moment) == "active":  # paused, expired: not wanted
                self._notify(key, record, list(held.values()), next(iter(held)))
        return soonest

    def _send_periodic(self) -> float:
        """Send the periodic subscriptions that are due, each with every entity that matches now; the next due."""
        moment, soonest = subs.now_utc(), math.inf
        with self._lock:
            periodic = [(k, r) for k, r in (self._records or {}).items() if r.get("timeInterval") is not None]
        for key, record in periodic:
            if subs.status_of(record, moment) != "active":
                continue
            with self._lock:
                due = self._next_due.get(key, 0.0)
                if time.monotonic() < due:
                    soonest = min(soonest, due)
                    continue
                self._next_due[key] = time.monotonic() + float(record["timeInterval"])
                soonest = min(soonest, self._next_due[key])
            found = self._matching(key[0], record)
            if found:
                self._notify(key, record, [(s, None, None) for s in found], "")
        return soonest

    def _matching(self, tenant: str, record: dict[str, Any], limit: int = 1000) -> list[EntityState]:
        types = sorted({s["type"] for s in record.get("entities") or ()}) or None
        found: list[EntityState] = []
        for twin in self.ngsild.scan(tenant or None, EntityQuery(types=types)):
            shown = self._as_owner_sees(record, tenant, twin)
            if shown is not None and selects(record, shown) and self._filters_pass(record, shown):
                found.append(shown)
                if len(found) >= limit:
                    break
        return found

    # -- notifications ---------------------------------------------------------------------------------

    def _notify(self, key: Key, record: dict[str, Any], entities: Iterable[Change], twin: str) -> None:
        params = record["notification"]
        terms = self.ngsild.contexts.resolve(record.get("context"))
        rendering = Rendering(
            terms, params.get("format", "normalized"), bool(params.get("sysAttrs")), record.get("lang")
        )
        wanted, omitted = projection(params)

        def keep(iri: str) -> bool:
            return (wanted is None or iri in wanted) and (omitted is None or iri not in omitted)

        datasets = record.get("datasetId")
        show_changes = bool(params.get("showChanges"))
        notified = []  # (state to follow for a join, None for a deletion; as rendered)
        for full, previous, delta in entities:
            state = in_datasets(full, datasets)
            gone = dict(delta.deleted) if delta else {}
            if datasets:
                gone = {k: [i for i in v if i.get("datasetId", "@none") in datasets] for k, v in gone.items()}
            if delta is not None and delta.entity == "deleted":
                rendered = self.ngsild.render(bare(state), rendering, set(), omitted)
                rendered["deletedAt"] = delta.deleted_at
                watched = record.get("watchedAttributes")
                if watched is not None:  # what went that the subscription watches
                    gone = {iri: instances for iri, instances in gone.items() if iri in watched}
                if show_changes or "attributeDeleted" in record.get("notificationTrigger", ()):  # else id, type only
                    show_gone(rendered, gone, rendering, show_changes, delta.deleted_at, keep)
            else:
                rendered = self.ngsild.render(state, rendering, wanted, omitted)
                if show_changes and previous is not None and rendering.form != "keyValues":
                    updated = delta.updated if delta is not None else set(state.attrs)
                    add_previous(rendered, state, previous, updated, terms)
                if gone and delta is not None:
                    show_gone(rendered, gone, rendering, show_changes, delta.deleted_at, keep)
            notified.append((None if delta is not None and delta.entity == "deleted" else state, rendered))
        body: dict[str, Any] = {
            "id": f"{_NOTIFICATION_URN}{uuid.uuid4()}",
            "type": "Notification",
            "subscriptionId": record["id"],
            "notifiedAt": now_iso(),
            "data": joined(record, notified, key[0], self.ngsild, self._as_owner_sees, rendering),
        }
        context = record.get("context") if record.get("context") is not None else CORE_CONTEXT_URL
        if params["endpoint"].get("accept") == "application/ld+json":
            trg.with_own_context(body, context)
        self.dispatch(key, record, body, twin, trg.context_link(context))

    def entry(self, key: Key, record: dict[str, Any], link: str = CORE_CONTEXT_URL) -> dict[str, Any]:
        endpoint = record["notification"]["endpoint"]
        entry = {"type": "ngsild", "name": "ngsild", "tenant": key[0], "subscription": key[1], "link": link}
        entry.update({k: endpoint[k] for k in ("uri", "accept", "receiverInfo", "notifierInfo") if k in endpoint})
        return entry

    def dispatch(self, key: Key, record: dict[str, Any], body: dict[str, Any], twin_id: str, link: str) -> None:
        """One notification through futago's delivery log and dispatcher: recorded ``queued`` with its body
        first, so that a leader that dies before sending it leaves it to the next one."""
        channel = self.notifications.channels.get("ngsild")
        if channel is None:
            log.warning("no ngsild notification channel is registered: subscription %s not notified", key[1])
            return
        entry = self.entry(key, record, link)
        # the notification's own id is the delivery's (its Idempotency-Key): a repeat is known by either
        delivery_id = str(body["id"]).removeprefix(_NOTIFICATION_URN)
        subscriber = f"{SUBSCRIBER_PREFIX}{key[0]}:{key[1]}"
        subject = f"NGSI-LD notification of {key[1]}"
        now = now_iso()
        delivery = Delivery(
            id=delivery_id, alert_id=subscriber, event="ngsild.notification", subscriber_id=subscriber,
            channel="ngsild", channel_type="ngsild", queued_at=now, twin_id=twin_id, target=channel.target(entry),
            language="en", subject=subject, why="subscription", received_at=now,
        )  # fmt: skip
        message = Message(delivery_id, subscriber, "en", subject, "", body, subscriber)
        # Recorded under the lead's fencing token, as an alert's deliveries are: a leader that lost its lease and has
        # not yet noticed records (and so sends) nothing; the next leader matches the changes it hears itself.
        fence = getattr(self.notifications.dispatcher, "fence", OPEN)
        try:
            with acting(fence.check(f"NGSI-LD notification of {key[1]}")):
                self.notifications.store.save_deliveries([delivery], bodies={delivery_id: body})
        except Fenced as exc:
            refused("ngsild notification", exc.detail)
            return
        self.notifications.dispatcher.dispatch(Job(delivery, entry, message))

    def subscriber(self, subscriber_id: str) -> Subscriber | None:
        """A delivery's subscription as the notification service resumes or requeues it: its endpoint now."""
        if not subscriber_id.startswith(SUBSCRIBER_PREFIX):
            return None
        tenant, _, sub_id = subscriber_id.removeprefix(SUBSCRIBER_PREFIX).partition(":")
        record = self._all().get((tenant, sub_id))
        if record is None:
            return None
        entry = self.entry((tenant, sub_id), record)
        return Subscriber(id=subscriber_id, name=sub_id, language="en", channels=(entry,))

    def _observe(self, entry: Mapping[str, Any], message: Message, outcome: Outcome) -> None:
        key = (str(entry.get("tenant", "")), str(entry.get("subscription", "")))
        when = outcome.sent_at or now_iso()
        with self._lock:
            counters = dict(self._status.get(key, {"timesSent": 0, "timesFailed": 0}))
            counters["timesSent"] = int(counters.get("timesSent", 0)) + 1
            counters["lastNotification"] = when
            if outcome.ok:
                counters["status"], counters["lastSuccess"] = "ok", when
            else:
                counters["status"], counters["lastFailure"] = "failed", when
                counters["timesFailed"] = int(counters.get("timesFailed", 0)) + 1
            self._status[key] = counters
            if key in self._all():
                self.store.put_ngsild_subscription_status(key[0], key[1], counters)
