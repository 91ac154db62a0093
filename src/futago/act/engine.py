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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from futago.act.alerting.announce import AlertEvents, Effects, iso, snapshot, wall_clock
from futago.act.alerting.book import AlertBook
from futago.act.alerting.evaluation import RuleEvaluator, RuleState, SeriesReader
from futago.act.alerting.recommendations import recommendation
from futago.act.alerting.targets import RuleTargets, TwinLookup
from futago.act.model import (
    ALERT_ACKNOWLEDGED,
    ALERT_ESCALATED,
    ALERT_RESOLVED,
    Alert,
    AlertState,
    Proposer,
)
from futago.act.rules import Leaf, Row, Rule, parse_rule
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
from futago.core.fence import OPEN, Fence, acting
from futago.core.ports import AlertStore
from futago.core.problems import Problem
from futago.core.telemetry import parse_timestamp

log = logging.getLogger(__name__)

ALERT_STATES: tuple[AlertState, ...] = ("raised", "acknowledged", "resolved")
GRAPH_RESET_EVENTS = (MODEL_CREATED, MODEL_DELETED, "city.imported")  # bulk changes that announce no twin


class AlertService:
    """Rules (from files and the API), their incremental evaluation on bus events, and the alerts they raise.

    A facade over its parts (``act.alerting``): ``RuleTargets`` says which twins a rule applies to,
    ``RuleEvaluator`` judges readings, ``AlertBook`` keeps the lifecycle, and the effects go out after the lock.
    """

    def __init__(
        self,
        bus: EventBus,
        store: AlertStore,
        twins: TwinLookup,
        series: SeriesReader,
        descendants: Callable[[str], Iterable[str]],
        proposer: Proposer | None = None,
        clock: Callable[[], int] | None = None,
        active: bool = True,
        fence: Fence = OPEN,
    ) -> None:
        """``descendants(model)`` gives a model and every model extending it (a ``twinModel`` target includes
        sub-models); ``clock`` gives epoch microseconds. ``active``: whether this process evaluates the rules now;
        with several processes only one does (futago.scale), and the others must not raise alerts too. ``fence``:
        scaled out, rules are evaluated and escalated only while this process holds the lead (futago.core.fence)."""
        self.fence = fence
        self.bus = bus
        self.store = store
        self.twins = twins
        self.series = series
        self.descendants = descendants
        self.proposer = proposer
        self.clock = clock or wall_clock
        self.invalid: dict[str, str] = {}  # stored rules that no longer parse, with the reason
        self._lock = threading.RLock()
        self._rules: dict[str, Rule] = {}
        self._configured: dict[str, Rule] = {}
        self._by_series: dict[str, list[tuple[Rule, tuple[Leaf, ...]]]] = {}
        self._ticker: threading.Event | None = None
        self._stored: set[str] = set()  # names of the rules stored through the API
        self.book = AlertBook(store, self.clock)
        self.targets = RuleTargets(twins, descendants)
        self._events = AlertEvents(self.targets.twin, self.clock)
        self.evaluator = RuleEvaluator(self.book, self.targets, series, self._events)
        with self._lock:
            self.book.restore()
        self.active = active  # the leading process of a scaled-out deployment turns it on when it takes over
        self._unsubscribe = bus.subscribe(self._on_event)

    @property
    def _states(self) -> dict[str, dict[str, RuleState]]:
        """Per twin, per rule: the evaluation states (the evaluator's)."""
        return self.evaluator.states

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
            self.evaluator.states.clear()
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
        effects = Effects()
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
        self.targets.reindex(self._rules.values())
        self.book.schedule(self._escalate_after)

    def _forget_rule(self, name: str) -> None:
        self.evaluator.forget_rule(name)

    def _escalate_after(self, rule: str) -> int | None:
        found = self._rules.get(rule)
        return None if found is None else found.escalate_after_us

    # --- alerts ---------------------------------------------------------------------------------------------------

    def get(self, alert_id: str) -> Alert:
        with self._lock:
            return snapshot(self.book.find(alert_id))

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
        alerts, cursor = self.store.list_alerts(state, rule, twin_id, before, limit)
        return alerts, (None if cursor is None else str(cursor))

    def acknowledge(self, alert_id: str, by: str, note: str | None = None) -> Alert:
        effects = Effects()
        with self._lock:
            alert = self.book.find(alert_id)
            self.book.acknowledge(alert, by, note)
            effects.events.append(self._event(ALERT_ACKNOWLEDGED, alert))
            answer = snapshot(alert)
        self._deliver(effects)
        return answer

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> Alert:
        """Resolve by hand. The rule raises again only after its condition has cleared and fired anew."""
        effects = Effects()
        with self._lock:
            alert = self.book.find(alert_id)
            rule = self._rules.get(alert.rule)
            self.book.resolve(alert, self.clock(), by, note, rule.suppress_us if rule else 0)
            effects.events.append(self._event(ALERT_RESOLVED, alert))
            answer = snapshot(alert)
        self._deliver(effects)
        return answer

    def tick(self, now_us: int | None = None) -> list[Alert]:
        """Escalate raised alerts left unacknowledged for their rule's ``escalateAfter``; returns those escalated."""
        effects = Effects()
        if not self.fence.holds():  # the next leader escalates them
            return []
        with self._lock:
            escalated = self.book.escalate_due(self.clock() if now_us is None else now_us, self._escalate_after)
            effects.events += [self._event(ALERT_ESCALATED, alert) for alert in escalated]
            answer = [snapshot(alert) for alert in escalated]
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
            self.book.forget()
            self.book.restore()
            self.book.schedule(self._escalate_after)

    def _on_event(self, event: Event) -> None:
        if not self.active or not self.fence.holds():
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
                self.targets.forget_graph()

    def _forget_twin(self, twin_id: str, deleted: bool) -> None:
        self.targets.forget_twin(twin_id)
        if deleted:
            self.evaluator.forget_twin(twin_id)

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
        effects = Effects()
        with self._lock:
            reads: dict[tuple[str, int], list[Row]] = {}  # series read for this event, shared by its rules
            for rule, leaves in candidates:
                try:
                    if self.targets.applies(rule, twin_id):
                        self.evaluator.evaluate(rule, leaves, twin_id, event, first, last, reads, effects)
                except Exception:  # one broken rule must not keep the others from their readings
                    log.exception("rule %s failed on %s/%s", rule.name, twin_id, name)
        self._deliver(effects)

    # --- effects out ----------------------------------------------------------------------------------------------

    def _event(self, kind: str, alert: Alert) -> Event:
        return self._events.of(kind, alert)

    def _deliver(self, effects: Effects) -> None:
        for event in effects.events:
            self.bus.publish(event)
        for alert, proposal, failure in effects.proposals:
            with acting(self.fence.token):  # the command record carries the lead it was proposed under
                entry = recommendation(self.proposer, proposal, failure, iso(self.clock()))
            with self._lock:
                self.book.note(alert, entry)


__all__ = ["ALERT_STATES", "AlertBook", "AlertService", "AlertStore", "SeriesReader", "TwinLookup"]
