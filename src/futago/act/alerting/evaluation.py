"""Judging rules on readings, one (rule, twin) at a time, and raising or resolving its alert.

Each (rule, twin) keeps a small state (see ``rules.LeafState``), so a single reading is judged from the event alone,
with no read of the store; a batch of readings, a QARTOD test's flags and the first sight of a (rule, twin) are the
only reads. Time is the readings' own time, so a replay of history raises and resolves what live data would have.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from futago.act.alerting.announce import AlertEvents, Effects, iso
from futago.act.alerting.book import AlertBook
from futago.act.alerting.recommendations import proposal_for
from futago.act.alerting.targets import RuleTargets
from futago.act.model import ALERT_RAISED, ALERT_RESOLVED, Alert
from futago.act.rules import Leaf, LeafState, Row, Rule, render
from futago.core.errors import FutagoError
from futago.core.events import Event
from futago.core.telemetry import LatestReading, SeriesData


class SeriesReader(Protocol):
    def read_series(self, twin_id: str, name: str, start_us: int | None, end_us: int | None) -> SeriesData: ...
    def latest(self, twin_id: str) -> dict[str, LatestReading]: ...


@dataclass(slots=True)
class RuleState:
    """One rule for one twin: its leaves' states and where the alert lifecycle stands."""

    leaves: list[LeafState]
    firing: bool = False  # the verdict at the last reading
    pending: bool = False  # fired inside a suppression window: raise once the window has passed
    since: int | None = None  # since when the whole condition holds (the rule-level ``for``)
    now: int | None = None  # the newest reading time judged
    trigger: tuple[str, int, Any] | None = None  # the newest reading fed: series, ts, value


class RuleEvaluator:
    """The states of every (rule, twin), fed readings in time order; what they decide goes to the alert book, and
    the events and proposals to announce go into the caller's ``Effects``.

    Not thread-safe on its own: the service calls it under its lock.
    """

    def __init__(self, book: AlertBook, targets: RuleTargets, series: SeriesReader, events: AlertEvents) -> None:
        self.book = book
        self.targets = targets
        self.series = series
        self.events = events
        self.states: dict[str, dict[str, RuleState]] = {}  # twin -> rule -> state

    def forget_rule(self, name: str) -> None:
        """A rule changed or went away: its (rule, twin) states start afresh from stored history."""
        for states in self.states.values():
            states.pop(name, None)

    def forget_twin(self, twin_id: str) -> None:
        self.states.pop(twin_id, None)

    def evaluate(
        self,
        rule: Rule,
        leaves: tuple[Leaf, ...],
        twin_id: str,
        event: Event,
        first: int,
        last: int,
        reads: dict[tuple[str, int], list[Row]],
        effects: Effects,
    ) -> None:
        """Judge one (rule, twin) on the readings of a telemetry event (``first``..``last``); ``reads`` holds the
        series already read for this event, shared by its rules."""
        per_twin = self.states.setdefault(twin_id, {})
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

    def _judge(self, rule: Rule, twin_id: str, state: RuleState, ts: int, effects: Effects) -> None:
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
                effects.events.append(self.events.of(ALERT_RESOLVED, alert))

    def _fire(self, rule: Rule, twin_id: str, state: RuleState, now: int, effects: Effects) -> None:
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
        twin = self.targets.twin(twin_id)
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
            "ts": iso(trigger[1]),
            "zone": area.get("zone", ""),
            "values": values,
            "props": dict(twin.properties) if twin is not None else {},
        }
        evidence = {
            "at": iso(now),
            "trigger": {"telemetry": trigger[0], "ts": iso(trigger[1]), "value": trigger[2]},
            "conditions": [leaf.describe(s, now) for leaf, s in zip(rule.leaves, state.leaves, strict=True)],
        }
        alert = Alert(
            id=uuid.uuid4().hex,
            rule=rule.name,
            twin_id=twin_id,
            severity=rule.severity,
            state="raised",
            raised_at=iso(now),
            message={lang: render(template, context) for lang, template in rule.message.items()},
            evidence=evidence,
            area=area,
        )
        self.book.raise_alert(alert, rule.escalate_after_us)
        effects.events.append(self.events.of(ALERT_RAISED, alert))
        if rule.recommend is not None:
            effects.proposals.append(proposal_for(rule, alert, self.targets.twins))

    def _area(self, rule: Rule, twin_id: str) -> dict[str, Any]:
        spec, area = rule.area, dict[str, Any]()
        if spec.relationship is not None:
            zones = [r.target_id for r in self.targets.twins.list_relationships(twin_id, spec.relationship)]
            if zones:
                area["zone"] = zones[0]
            if len(zones) > 1:
                area["zones"] = zones
        if "zone" not in area and spec.zone is not None:
            area["zone"] = spec.zone
        if spec.twins:
            area["twins"] = list(spec.twins)
        return area
