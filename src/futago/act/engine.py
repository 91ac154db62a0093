"""The rule engine and the alert lifecycle: rules judged on events, alerts raised, acknowledged and resolved.

Evaluation is incremental. Rules are indexed by the telemetry their conditions read, so a ``telemetry.appended``
event wakes only the rules that read that series; whether a rule's target includes the twin (its model lineage, its
place in a zone or near a point) is worked out once per (rule, twin) and kept until a twin or model event says it may
have changed. Each (rule, twin) keeps a small state (see ``rules.LeafState``), so a single reading is judged from
the event alone, with no read of the store; a batch of readings, a QARTOD test's flags and the first sight of a
(rule, twin) are the only reads.

Time is the readings' own time, so a replay of history raises and resolves what live data would have; the clock
(injectable) serves what has no reading behind it: acknowledgements, manual resolution and escalation.

Alert events (``alert.raised`` …, data = the alert's JSON) go out on the bus after the engine's lock is released,
so a subscriber may call back into the service; recommendations go to the ``Proposer`` after the event.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from futago.act.model import (
    ALERT_ACKNOWLEDGED,
    ALERT_ESCALATED,
    ALERT_RAISED,
    ALERT_RESOLVED,
    Alert,
    AlertState,
    Proposal,
    Proposer,
)
from futago.act.rules import Leaf, LeafState, Row, Rule, parse_rule, render
from futago.core.errors import Conflict, FutagoError, InvalidInput, NotFound
from futago.core.events import (
    MODEL_CREATED,
    MODEL_DELETED,
    TELEMETRY_APPENDED,
    TWIN_CREATED,
    TWIN_DELETED,
    TWIN_UPDATED,
    Event,
    EventBus,
)
from futago.core.problems import Problem
from futago.core.query.spatial import distance_function, within_test
from futago.core.telemetry import LatestReading, SeriesData, format_timestamp, parse_timestamp
from futago.core.twins import Relationship, Twin
from futago.store.port import AlertStore

log = logging.getLogger(__name__)

ALERT_STATES: tuple[AlertState, ...] = ("raised", "acknowledged", "resolved")
CACHE_LIMIT = 200_000  # twins whose lookups are kept; past it the caches start again (memory bound)
GRAPH_RESET_EVENTS = (MODEL_CREATED, MODEL_DELETED, "city.imported")  # bulk changes that announce no twin
Key = tuple[str, str]  # (rule, twin id): the de-duplication key


class TwinLookup(Protocol):
    def get_twin(self, twin_id: str) -> Twin | None: ...
    def list_relationships(self, source_id: str, name: str | None = None) -> list[Relationship]: ...


class SeriesReader(Protocol):
    def read_series(self, twin_id: str, name: str, start_us: int | None, end_us: int | None) -> SeriesData: ...
    def latest(self, twin_id: str) -> dict[str, LatestReading]: ...


def _iso(us: int) -> str:
    return format_timestamp(us)


def _wall_clock() -> int:
    return time.time_ns() // 1000


def _snapshot(alert: Alert) -> Alert:
    """A copy to hand out: the open alert itself changes under the service's lock."""
    return Alert.from_json(alert.to_json())


@dataclass(slots=True)
class RuleState:
    """One rule for one twin: its leaves' states and where the alert lifecycle stands."""

    leaves: list[LeafState]
    firing: bool = False  # the verdict at the last reading
    pending: bool = False  # fired inside a suppression window: raise once the window has passed
    since: int | None = None  # since when the whole condition holds (the rule-level ``for``)
    now: int | None = None  # the newest reading time judged
    trigger: tuple[str, int, Any] | None = None  # the newest reading fed: series, ts, value


@dataclass
class _Effects:
    """What a locked section decided, carried out after the lock is released."""

    events: list[Event] = field(default_factory=list)
    proposals: list[tuple[Alert, Proposal | None, str | None]] = field(default_factory=list)


class AlertBook:
    """The open alerts and every transition of an alert: persisted with its history entry before it is announced.

    Not thread-safe on its own: the service calls it under its lock.
    """

    def __init__(self, store: AlertStore, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock
        self._open: dict[Key, Alert] = {}
        self._by_id: dict[str, Alert] = {}
        self._next_escalation: dict[str, int] = {}  # alert id -> clock time (µs) of the next escalation
        self._suppressed_until: dict[Key, int] = {}

    def restore(self) -> None:
        """Pick up the alerts left open by the previous run (``schedule`` then plans their escalations)."""
        for document in self.store.open_alerts():
            self._track(Alert.from_json(document))

    def schedule(self, escalate_after: Callable[[str], int | None]) -> None:
        """Plan the escalation of raised alerts that have no plan yet (restored ones, or a rule that gained
        ``escalateAfter``): a period after the last escalation, or the raise; an overdue one goes at the next tick."""
        for alert in self._by_id.values():
            every = escalate_after(alert.rule)
            if every is None or alert.state != "raised" or alert.id in self._next_escalation:
                continue
            escalated = [h["at"] for h in alert.history if h.get("event") == "escalated"]
            try:
                self._next_escalation[alert.id] = parse_timestamp(max([alert.raised_at, *escalated])) + every
            except FutagoError:  # an unreadable time in an old record: escalate from now on
                self._next_escalation[alert.id] = self.clock() + every

    def _track(self, alert: Alert) -> None:
        self._open[(alert.rule, alert.twin_id)] = alert
        self._by_id[alert.id] = alert

    def open_for(self, key: Key) -> Alert | None:
        return self._open.get(key)

    def open_of_rule(self, rule: str) -> list[Alert]:
        return [alert for (name, _), alert in self._open.items() if name == rule]

    def suppressed(self, key: Key, at_us: int) -> bool:
        until = self._suppressed_until.get(key)
        return until is not None and at_us < until

    def find(self, alert_id: str) -> Alert:
        alert = self._by_id.get(alert_id)
        if alert is not None:
            return alert
        document = self.store.get_alert(alert_id)
        if document is None:
            raise NotFound(f"alert '{alert_id}' does not exist")
        return Alert.from_json(document)

    def _save(self, alert: Alert, entry: dict[str, Any]) -> None:
        alert.history.append(entry)
        self.store.put_alert(alert.to_json(), [entry])

    def raise_alert(self, alert: Alert, escalate_after_us: int | None) -> None:
        self._save(alert, {"at": alert.raised_at, "state": "raised"})
        self._track(alert)
        if escalate_after_us is not None:
            self._next_escalation[alert.id] = self.clock() + escalate_after_us

    def occurred(self, alert: Alert, at_us: int, value: Any) -> None:
        alert.occurrences += 1
        self._save(alert, {"at": _iso(at_us), "event": "occurred", "value": value})

    def acknowledge(self, alert: Alert, by: str, note: str | None) -> None:
        if alert.state != "raised":
            raise Conflict(f"alert '{alert.id}' is {alert.state}; only a raised alert can be acknowledged")
        now = _iso(self.clock())
        alert.state, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, by
        self._next_escalation.pop(alert.id, None)
        self._save(alert, {"at": now, "state": "acknowledged", "by": by, **({"note": note} if note else {})})

    def resolve(self, alert: Alert, at_us: int, by: str, note: str | None, suppress_us: int) -> None:
        if alert.state == "resolved":
            raise Conflict(f"alert '{alert.id}' is already resolved")
        alert.state, alert.resolved_at = "resolved", _iso(at_us)
        key = (alert.rule, alert.twin_id)
        if self._open.get(key) is alert:
            del self._open[key]
        self._by_id.pop(alert.id, None)
        self._next_escalation.pop(alert.id, None)
        if suppress_us:
            self._suppressed_until[key] = at_us + suppress_us
        self._save(alert, {"at": alert.resolved_at, "state": "resolved", "by": by, **({"note": note} if note else {})})

    def escalate_due(self, now_us: int, escalate_after: Callable[[str], int | None]) -> list[Alert]:
        """Escalate each raised alert whose time has come, once per tick; the next one is due a period later."""
        escalated = []
        for alert_id, due in list(self._next_escalation.items()):
            alert = self._by_id.get(alert_id)
            every = escalate_after(alert.rule) if alert is not None else None
            if alert is None or every is None or alert.state != "raised":
                self._next_escalation.pop(alert_id, None)
                continue
            if now_us >= due:
                alert.escalation += 1
                self._save(alert, {"at": _iso(now_us), "event": "escalated", "level": alert.escalation})
                self._next_escalation[alert_id] = now_us + every
                escalated.append(alert)
        return escalated

    def note(self, alert: Alert, entry: dict[str, Any]) -> None:
        """Add an entry to an alert's history (the outcome of a recommendation), whatever its state by now."""
        current = self._by_id.get(alert.id) or alert
        self._save(current, entry)


class AlertService:
    """Rules (from files and the API), their incremental evaluation on bus events, and the alerts they raise."""

    def __init__(
        self,
        bus: EventBus,
        store: AlertStore,
        twins: TwinLookup,
        series: SeriesReader,
        descendants: Callable[[str], Iterable[str]],
        proposer: Proposer | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        """``descendants(model)`` gives a model and every model extending it (a ``twinModel`` target includes
        sub-models); ``clock`` gives epoch microseconds."""
        self.bus = bus
        self.store = store
        self.twins = twins
        self.series = series
        self.descendants = descendants
        self.proposer = proposer
        self.clock = clock or _wall_clock
        self.invalid: dict[str, str] = {}  # stored rules that no longer parse, with the reason
        self._lock = threading.RLock()
        self._rules: dict[str, Rule] = {}
        self._configured: dict[str, Rule] = {}
        self._by_series: dict[str, list[tuple[Rule, tuple[Leaf, ...]]]] = {}
        self._zones: set[str] = set()  # zone twins that some rule's scope depends on
        self._states: dict[str, dict[str, RuleState]] = {}  # twin -> rule -> state
        self._membership: dict[str, dict[str, bool]] = {}  # twin -> rule -> in the rule's target
        self._twin_cache: dict[str, Twin | None] = {}
        self._zone_tests: dict[str, Callable[[Any], bool | None] | None] = {}
        self._near_tests: dict[str, Callable[[Any], float | None]] = {}
        self._lineage: dict[str, frozenset[str]] = {}
        self._ticker: threading.Event | None = None
        self.book = AlertBook(store, self.clock)
        self._stored: set[str] = set()  # names of the rules stored through the API
        with self._lock:
            self.book.restore()
        # With several processes only one evaluates the rules (futago.scale); the others must not raise alerts too.
        self.active = True
        self._unsubscribe = bus.subscribe(self._on_event)

    # --- rules ----------------------------------------------------------------------------------------------------

    def load(self, configured: Mapping[str, Rule]) -> None:
        """Rules from the rules files, and those stored through the API; a stored definition wins over the file's.
        A stored rule that no longer parses is left out with its reason in ``invalid``, never fatal."""
        rules, invalid = dict(configured), {}
        stored = self.store.list_alert_rules()
        for name, body in stored.items():
            try:
                rules[name] = parse_rule(name, body, f"/rules/{name}")
            except FutagoError as exc:
                invalid[name] = exc.detail
                log.error("rule %s is invalid and will not run: %s", name, exc.detail)
        with self._lock:
            self._configured, self._rules, self.invalid = dict(configured), rules, invalid
            self._stored = set(stored)
            self._states.clear()
            self._reindex()

    def put_rule(self, name: str, body: Any) -> tuple[Rule, bool]:
        """Create or replace a rule; returns it and whether it is new. Its (rule, twin) states start afresh from
        stored history; an open alert of the rule carries on, and resolves when the new condition does not hold."""
        rule = parse_rule(name, body)
        self.store.put_alert_rule(name, dict(body))
        with self._lock:
            created = name not in self._rules
            self._rules[name] = rule
            self._stored.add(name)
            self.invalid.pop(name, None)
            self._forget_rule(name)
            self._reindex()
        return rule, created

    def get_rule(self, name: str) -> Rule:
        rule = self._rules.get(name)
        if rule is None:
            raise NotFound(f"rule '{name}' does not exist")
        return rule

    def rules(self) -> list[Rule]:
        return [self._rules[name] for name in sorted(self._rules)]

    def source(self, name: str) -> str:
        """'file' for a rule from a rules file that no API edit overrides, else 'api'."""
        return "file" if name in self._configured and name not in self._stored else "api"

    def delete_rule(self, name: str) -> None:
        """Delete a rule stored through the API (a file's rule it overrode comes back) and resolve its open alerts."""
        self.get_rule(name)
        if name not in self._stored:
            raise Conflict(f"rule '{name}' is defined in a rules file; remove it there")
        self.store.delete_alert_rule(name)
        effects = _Effects()
        with self._lock:
            self._stored.discard(name)
            self._forget_rule(name)
            restored = self._configured.get(name)
            if restored is not None:
                self._rules[name] = restored
            else:
                del self._rules[name]
                for alert in self.book.open_of_rule(name):
                    self.book.resolve(alert, self.clock(), "system", "the rule was deleted", 0)
                    effects.events.append(self._event(ALERT_RESOLVED, alert))
            self._reindex()
        self._deliver(effects)

    def _reindex(self) -> None:
        by_series: dict[str, list[tuple[Rule, tuple[Leaf, ...]]]] = {}
        for rule in self._rules.values():
            if not rule.enabled:
                continue
            for series in sorted(rule.triggers):
                leaves = tuple(leaf for leaf in rule.leaves if leaf.telemetry == series)
                by_series.setdefault(series, []).append((rule, leaves))
        self._by_series = by_series
        self._zones = {r.scope.within for r in self._rules.values() if r.scope is not None and r.scope.within}
        self._membership.clear()
        self._near_tests.clear()
        self.book.schedule(self._escalate_after)

    def _forget_rule(self, name: str) -> None:
        for states in self._states.values():
            states.pop(name, None)

    def _escalate_after(self, rule: str) -> int | None:
        found = self._rules.get(rule)
        return None if found is None else found.escalate_after_us

    # --- alerts ---------------------------------------------------------------------------------------------------

    def get(self, alert_id: str) -> Alert:
        with self._lock:
            return _snapshot(self.book.find(alert_id))

    def list_alerts(
        self,
        state: str | None = None,
        rule: str | None = None,
        twin_id: str | None = None,
        limit: int = 100,
        continuation: str | None = None,
    ) -> tuple[list[Alert], str | None]:
        """Alerts newest first, filtered; the second value continues the listing (None on the last page)."""
        problems = []
        if state is not None and state not in ALERT_STATES:
            problems.append(Problem("/state", f"state is one of {', '.join(ALERT_STATES)}"))
        if not 1 <= limit <= 1000:
            problems.append(Problem("/limit", "limit is 1 to 1000"))
        before = None
        if continuation is not None:
            if not continuation.isascii() or not continuation.isdigit() or len(continuation) > 18:
                problems.append(Problem("/continuationToken", "not a continuation token from a previous page"))
            else:
                before = int(continuation)
        if problems:
            raise InvalidInput(problems)
        documents, cursor = self.store.list_alerts(state, rule, twin_id, before, limit)
        return [Alert.from_json(d) for d in documents], (None if cursor is None else str(cursor))

    def acknowledge(self, alert_id: str, by: str, note: str | None = None) -> Alert:
        effects = _Effects()
        with self._lock:
            alert = self.book.find(alert_id)
            self.book.acknowledge(alert, by, note)
            effects.events.append(self._event(ALERT_ACKNOWLEDGED, alert))
            answer = _snapshot(alert)
        self._deliver(effects)
        return answer

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> Alert:
        """Resolve by hand. The rule raises again only after its condition has cleared and fired anew."""
        effects = _Effects()
        with self._lock:
            alert = self.book.find(alert_id)
            rule = self._rules.get(alert.rule)
            self.book.resolve(alert, self.clock(), by, note, rule.suppress_us if rule else 0)
            effects.events.append(self._event(ALERT_RESOLVED, alert))
            answer = _snapshot(alert)
        self._deliver(effects)
        return answer

    def tick(self, now_us: int | None = None) -> list[Alert]:
        """Escalate raised alerts left unacknowledged for their rule's ``escalateAfter``; returns those escalated."""
        effects = _Effects()
        with self._lock:
            escalated = self.book.escalate_due(self.clock() if now_us is None else now_us, self._escalate_after)
            effects.events += [self._event(ALERT_ESCALATED, alert) for alert in escalated]
            answer = [_snapshot(alert) for alert in escalated]
        self._deliver(effects)
        return answer

    def start(self, every_s: float = 5.0) -> None:
        """Check escalations in the background until ``stop``."""
        if self._ticker is not None:
            return
        stop = self._ticker = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                try:
                    self.tick()
                except Exception:  # keep escalating; the next pass tries again
                    log.exception("alert escalation pass failed")

        threading.Thread(target=loop, name="futago-alerts", daemon=True).start()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.set()
            self._ticker = None

    def close(self) -> None:
        self.stop()
        self._unsubscribe()

    # --- events in ------------------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the open alerts from the store again, forgetting this process's own view: another process raised,
        acknowledged or resolved some (a scaled-out deployment)."""
        with self._lock:
            self.book = AlertBook(self.book.store, self.clock)
            self.book.restore()
            self.book.schedule(self._escalate_after)

    def _on_event(self, event: Event) -> None:
        if not self.active:
            return
        if event.origin is not None and event.type.startswith("alert."):  # acknowledged elsewhere, say
            self.reload()
            return
        if event.type == TELEMETRY_APPENDED:
            self._on_telemetry(event)
        elif event.type in (TWIN_CREATED, TWIN_UPDATED, TWIN_DELETED) and event.twin_id:
            with self._lock:
                self._forget_twin(event.twin_id, deleted=event.type == TWIN_DELETED)
        elif event.type in GRAPH_RESET_EVENTS:
            with self._lock:
                self._twin_cache.clear()
                self._membership.clear()
                self._zone_tests.clear()
                self._lineage.clear()

    def _forget_twin(self, twin_id: str, deleted: bool) -> None:
        self._twin_cache.pop(twin_id, None)
        self._membership.pop(twin_id, None)
        if deleted:
            self._states.pop(twin_id, None)
        if twin_id in self._zones:  # the zone moved: every twin's place in it may have changed
            self._zone_tests.pop(twin_id, None)
            self._membership.clear()

    def _on_telemetry(self, event: Event) -> None:
        name, twin_id = event.data.get("name"), event.twin_id
        candidates = self._by_series.get(name) if isinstance(name, str) else None
        if not candidates or twin_id is None:
            return  # the common case: no rule reads this series
        try:
            first, last = parse_timestamp(event.data["first"]), parse_timestamp(event.data["last"])
        except (KeyError, TypeError, FutagoError):
            log.warning("telemetry event without a readable time range: %s", event.data)
            return
        effects = _Effects()
        with self._lock:
            reads: dict[tuple[str, int], list[Row]] = {}  # series read for this event, shared by its rules
            for rule, leaves in candidates:
                try:
                    if self._applies(rule, twin_id):
                        self._evaluate(rule, leaves, twin_id, event, first, last, reads, effects)
                except Exception:  # one broken rule must not keep the others from their readings
                    log.exception("rule %s failed on %s/%s", rule.name, twin_id, name)
        self._deliver(effects)

    # --- targets --------------------------------------------------------------------------------------------------

    def _applies(self, rule: Rule, twin_id: str) -> bool:
        per_twin = self._membership.get(twin_id)
        if per_twin is None:
            if len(self._membership) > CACHE_LIMIT:
                self._membership.clear()
            per_twin = self._membership[twin_id] = {}
        found = per_twin.get(rule.name)
        if found is None:
            found = per_twin[rule.name] = self._in_target(rule, twin_id)
        return found

    def _in_target(self, rule: Rule, twin_id: str) -> bool:
        if rule.twins and twin_id not in rule.twins:
            return False
        if rule.twin_model is not None:
            twin = self._twin(twin_id)
            if twin is None or twin.model not in self._models_under(rule.twin_model):
                return False
        scope = rule.scope
        if scope is None:
            return True
        twin = self._twin(twin_id)
        if twin is None or twin.geometry is None:
            return False  # a twin without a place is in no zone and near nothing
        if scope.within is not None:
            test = self._zone_test(scope.within)
            return bool(test is not None and test(twin.geometry))
        assert scope.point is not None
        near = self._near_tests.get(rule.name)
        if near is None:
            near = self._near_tests[rule.name] = distance_function(list(scope.point))
        distance = near(twin.geometry)
        return distance is not None and distance <= scope.distance_m

    def _twin(self, twin_id: str) -> Twin | None:
        if twin_id in self._twin_cache:
            return self._twin_cache[twin_id]
        twin = self.twins.get_twin(twin_id)
        if len(self._twin_cache) > CACHE_LIMIT:
            self._twin_cache.clear()
        self._twin_cache[twin_id] = twin
        return twin

    def _models_under(self, model: str) -> frozenset[str]:
        lineage = self._lineage.get(model)
        if lineage is None:
            try:
                lineage = frozenset(self.descendants(model))
            except (FutagoError, KeyError):  # a model not (or no longer) in the catalogue: its own twins only
                lineage = frozenset({model})
            self._lineage[model] = lineage
        return lineage

    def _zone_test(self, zone_id: str) -> Callable[[Any], bool | None] | None:
        if zone_id in self._zone_tests:
            return self._zone_tests[zone_id]
        zone = self._twin(zone_id)
        test = None
        if zone is not None and zone.geometry is not None:
            try:
                test = within_test(zone.geometry)
            except ValueError as exc:
                log.warning("zone twin %s has no usable area (%s); rules scoped to it match no twin", zone_id, exc)
        self._zone_tests[zone_id] = test
        return test

    # --- evaluation -----------------------------------------------------------------------------------------------

    def _evaluate(
        self,
        rule: Rule,
        leaves: tuple[Leaf, ...],
        twin_id: str,
        event: Event,
        first: int,
        last: int,
        reads: dict[tuple[str, int], list[Row]],
        effects: _Effects,
    ) -> None:
        per_twin = self._states.setdefault(twin_id, {})
        state = per_twin.get(rule.name)
        if state is None:
            state = per_twin[rule.name] = RuleState([LeafState() for _ in rule.leaves])
            # an alert left open (by a restart, a rule edit) continues: no new occurrence for the same episode
            state.firing = self.book.open_for((rule.name, twin_id)) is not None
            self._seed(rule, leaves, twin_id, state, first, last)
        timeline: list[tuple[int, int, Any, int]] = []
        for leaf in leaves:
            rows = leaf.summarise(self._rows(leaf, state.leaves[leaf.index], twin_id, event, first, last, reads))
            timeline += [(ts, leaf.index, value, quality) for ts, value, quality in rows]
        timeline.sort(key=lambda row: row[0])
        i = 0
        while i < len(timeline):  # judge after each instant, so a batch gives what its readings one by one would
            ts = timeline[i][0]
            while i < len(timeline) and timeline[i][0] == ts:
                _, index, value, quality = timeline[i]
                leaf = rule.leaves[index]
                leaf.feed(state.leaves[index], ts, value, quality)
                state.trigger = (leaf.source, ts, value)
                i += 1
            self._judge(rule, twin_id, state, ts, effects)

    def _seed(
        self, rule: Rule, leaves: tuple[Leaf, ...], twin_id: str, state: RuleState, first: int, last: int
    ) -> None:
        """A (rule, twin) seen for the first time catches up from the store: each leaf gets the history it needs
        (its duration, rate window or flat run) or the latest reading, without judging (no alerts from the past)."""
        woken = {leaf.index for leaf in leaves}
        latest: dict[str, LatestReading] | None = None
        for leaf in rule.leaves:
            if not leaf.seedable:
                continue
            if leaf.lookback_us > 0:
                end = first if leaf.index in woken else last + 1
                rows = self._read(twin_id, leaf.source, last - leaf.lookback_us, end)
            elif leaf.index in woken:
                rows = []  # the event's own readings follow
            else:
                latest = self._latest(twin_id) if latest is None else latest
                reading = latest.get(leaf.source)
                rows = [] if reading is None or reading.ts > last else [(reading.ts, reading.value, reading.quality)]
            for ts, value, quality in leaf.summarise(rows):
                leaf.feed(state.leaves[leaf.index], ts, value, quality)
            if leaf.index in woken and leaf.source != leaf.telemetry and state.leaves[leaf.index].last_ts is None:
                state.leaves[leaf.index].last_ts = first - 1  # flags from this event on, even those written later

    def _rows(
        self,
        leaf: Leaf,
        leaf_state: LeafState,
        twin_id: str,
        event: Event,
        first: int,
        last: int,
        reads: dict[tuple[str, int], list[Row]],
    ) -> list[Row]:
        start = first
        if leaf.source != leaf.telemetry:
            # A QARTOD test's flag is written once final, often with the next reading (a flat line or a spike
            # needs its neighbour), so this event may bring flags of earlier readings: read on from the last seen.
            start = first if leaf_state.last_ts is None else min(first, leaf_state.last_ts + 1)
        else:
            latest = event.data.get("latest")
            if event.data.get("count") == 1 and isinstance(latest, dict):
                return [(last, latest.get("value"), int(latest.get("quality") or 2))]  # no read: the event says it
        rows = reads.get((leaf.source, start))
        if rows is None:
            rows = reads[(leaf.source, start)] = self._read(twin_id, leaf.source, start, last + 1)
        return rows

    def _read(self, twin_id: str, name: str, start_us: int, end_us: int) -> list[Row]:
        try:
            data = self.series.read_series(twin_id, name, start_us, end_us)
        except FutagoError:
            return []
        values = data.values.tolist() if hasattr(data.values, "tolist") else list(data.values)
        return list(zip(data.ts.tolist(), values, data.quality.tolist(), strict=True))

    def _latest(self, twin_id: str) -> dict[str, LatestReading]:
        try:
            return self.series.latest(twin_id)
        except FutagoError:
            return {}

    def _judge(self, rule: Rule, twin_id: str, state: RuleState, ts: int, effects: _Effects) -> None:
        now = ts if state.now is None else max(state.now, ts)
        state.now = now
        verdict = rule.when.holds(state.leaves, now)
        if rule.for_us:
            state.since = (state.since if state.since is not None else now) if verdict else None
            verdict = verdict and state.since is not None and now - state.since >= rule.for_us
        if verdict and (not state.firing or state.pending):
            state.firing = True
            self._fire(rule, twin_id, state, now, effects)
        elif not verdict and state.firing:
            state.firing = state.pending = False
            alert = self.book.open_for((rule.name, twin_id))
            if alert is not None and rule.auto_resolve:
                self.book.resolve(alert, now, "rule", None, rule.suppress_us)
                effects.events.append(self._event(ALERT_RESOLVED, alert))

    def _fire(self, rule: Rule, twin_id: str, state: RuleState, now: int, effects: _Effects) -> None:
        key = (rule.name, twin_id)
        trigger = state.trigger or ("", now, None)
        alert = self.book.open_for(key)
        if alert is not None:  # de-duplication: the same (rule, twin) while its alert is open only counts
            state.pending = False
            self.book.occurred(alert, now, trigger[2])
            return
        if self.book.suppressed(key, now):
            state.pending = True
            return
        state.pending = False
        twin = self._twin(twin_id)
        area = self._area(rule, twin_id)
        values: dict[str, Any] = {}
        for leaf, leaf_state in sorted(
            zip(rule.leaves, state.leaves, strict=True), key=lambda p: p[0].kind == "quality"
        ):
            values.setdefault(leaf.source, leaf_state.value)  # a reading's value, before a flag read from it
        context = {
            "twin": twin_id,
            "rule": rule.name,
            "severity": rule.severity,
            "value": trigger[2],
            "telemetry": trigger[0],
            "ts": _iso(trigger[1]),
            "zone": area.get("zone", ""),
            "values": values,
            "props": dict(twin.properties) if twin is not None else {},
        }
        evidence = {
            "at": _iso(now),
            "trigger": {"telemetry": trigger[0], "ts": _iso(trigger[1]), "value": trigger[2]},
            "conditions": [leaf.describe(s, now) for leaf, s in zip(rule.leaves, state.leaves, strict=True)],
        }
        alert = Alert(
            id=uuid.uuid4().hex,
            rule=rule.name,
            twin_id=twin_id,
            severity=rule.severity,
            state="raised",
            raised_at=_iso(now),
            message={lang: render(template, context) for lang, template in rule.message.items()},
            evidence=evidence,
            area=area,
        )
        self.book.raise_alert(alert, rule.escalate_after_us)
        effects.events.append(self._event(ALERT_RAISED, alert))
        if rule.recommend is not None:
            effects.proposals.append(self._proposal(rule, alert))

    def _area(self, rule: Rule, twin_id: str) -> dict[str, Any]:
        spec, area = rule.area, dict[str, Any]()
        if spec.relationship is not None:
            zones = [r.target_id for r in self.twins.list_relationships(twin_id, spec.relationship)]
            if zones:
                area["zone"] = zones[0]
            if len(zones) > 1:
                area["zones"] = zones
        if "zone" not in area and spec.zone is not None:
            area["zone"] = spec.zone
        if spec.twins:
            area["twins"] = list(spec.twins)
        return area

    def _proposal(self, rule: Rule, alert: Alert) -> tuple[Alert, Proposal | None, str | None]:
        recommend = rule.recommend
        assert recommend is not None
        if recommend.relationship is not None:
            targets = [r.target_id for r in self.twins.list_relationships(alert.twin_id, recommend.relationship)]
            if not targets:
                return alert, None, f"twin '{alert.twin_id}' has no '{recommend.relationship}' relationship"
            target = targets[0]
        else:
            target = render(recommend.twin, {"twin": alert.twin_id, "zone": alert.area.get("zone", "")})
        proposal = Proposal(
            twin_id=target,
            command=recommend.command,
            payload=recommend.payload,
            proposed_by=f"rule:{rule.name}",
            evidence=_snapshot(alert).to_json(),
            alert_id=alert.id,
        )
        return alert, proposal, None

    # --- effects out ----------------------------------------------------------------------------------------------

    def _event(self, kind: str, alert: Alert) -> Event:
        twin = self._twin(alert.twin_id)
        return Event(
            kind,
            _iso(self.clock()),
            twin_id=alert.twin_id,
            model=twin.model if twin is not None else None,
            data=_snapshot(alert).to_json(),  # as it is now: the live alert moves on while the event is queued
            about=(f"alerts/{alert.id}",),
        )

    def _deliver(self, effects: _Effects) -> None:
        for event in effects.events:
            self.bus.publish(event)
        for alert, proposal, failure in effects.proposals:
            entry = self._recommend(proposal, failure)
            with self._lock:
                self.book.note(alert, entry)

    def _recommend(self, proposal: Proposal | None, failure: str | None) -> dict[str, Any]:
        at = _iso(self.clock())
        if proposal is None:
            return {"at": at, "event": "recommendFailed", "detail": failure}
        base = {"at": at, "twinId": proposal.twin_id, "command": proposal.command}
        if self.proposer is None:
            return {**base, "event": "recommendFailed", "detail": "no command service is configured"}
        try:
            result = self.proposer.propose(proposal)
        except FutagoError as exc:  # refused by the safety envelope, an unknown command…: recorded, not fatal
            return {**base, "event": "recommendFailed", "detail": exc.detail}
        except Exception as exc:
            log.exception("the command service failed on a proposal of rule %s", proposal.proposed_by)
            return {**base, "event": "recommendFailed", "detail": f"{type(exc).__name__}: {exc}"}
        return {**base, "event": "recommended", "result": result}


__all__ = ["ALERT_STATES", "AlertBook", "AlertService", "AlertStore", "SeriesReader", "TwinLookup"]
