"""The open alerts and every transition of an alert (raised, occurred, acknowledged, resolved, escalated), with
the suppression window after a resolution and the escalation plan of raised alerts.

Both plans are written to the store as they are made, so that when leadership moves (a scaled-out deployment) the
next leader goes on with them: a window opened before the move still suppresses after it, and an escalation comes
when it was due, not a period after the takeover."""

from __future__ import annotations

from collections.abc import Callable

from futago.act.alerting.announce import Key, iso
from futago.act.model import Alert
from futago.core.alerts import AlertHistoryEntry
from futago.core.errors import Conflict, FutagoError, NotFound
from futago.core.ports import AlertStore
from futago.core.telemetry import parse_timestamp

KEEP_ENDED_WINDOWS_US = 7 * 86_400 * 1_000_000  # a week, in reading time
# Below any reading time (a history replay may go back before 1970): the store deletes no window at restore.
_KEEP_ALL_US = -(2**62)


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
        """Pick up the alerts left open by the previous run, with the escalations and suppression windows it
        planned (``schedule`` then plans the escalations it did not)."""
        for alert in self.store.open_alerts():
            self._track(alert)
        planned = self.store.escalations()
        self._next_escalation.update({k: due for k, due in planned.items() if k in self._by_id})
        # Windows are in reading time (a replay of history, a scenario dated away from today), not the clock's: a
        # cutoff from the wall clock deleted a window the next leader still had to honour. Ended ones go when a
        # later resolution shows, in reading time, that they are long over (``_drop_ended``).
        self._suppressed_until.update(self.store.suppressions(_KEEP_ALL_US))

    def forget(self) -> None:
        """Drop this process's view of the open alerts, their escalation plans and suppression windows: another
        process raised, acknowledged or resolved some, and ``restore`` reads them again."""
        self._open.clear()
        self._by_id.clear()
        self._next_escalation.clear()
        self._suppressed_until.clear()

    def schedule(self, escalate_after: Callable[[str], int | None]) -> None:
        """Plan the escalation of raised alerts that have no plan yet (restored ones, or a rule that gained
        ``escalateAfter``): a period after the last escalation, or the raise; an overdue one goes at the next tick."""
        for alert in self._by_id.values():
            every = escalate_after(alert.rule)
            if every is None or alert.state != "raised" or alert.id in self._next_escalation:
                continue
            escalated = [h.at for h in alert.history if h.event == "escalated"]
            try:
                self._next_escalation[alert.id] = parse_timestamp(max([alert.raised_at, *escalated])) + every
            except FutagoError:  # an unreadable time in an old record: escalate from now on
                self._next_escalation[alert.id] = self.clock() + every
            self.store.set_escalation(alert.id, self._next_escalation[alert.id])

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
        stored = self.store.get_alert(alert_id)
        if stored is None:
            raise NotFound(f"alert '{alert_id}' does not exist")
        return stored

    def _save(self, alert: Alert, entry: AlertHistoryEntry) -> None:
        alert.history.append(entry)
        self.store.put_alert(alert, [entry])

    def raise_alert(self, alert: Alert, escalate_after_us: int | None) -> None:
        self._save(alert, AlertHistoryEntry(alert.raised_at, "raised"))
        self._track(alert)
        if escalate_after_us is not None:
            self._plan_escalation(alert.id, self.clock() + escalate_after_us)

    def occurred(self, alert: Alert, at_us: int, value: object) -> None:
        alert.occurrences += 1
        self._save(alert, AlertHistoryEntry(iso(at_us), event="occurred", details={"value": value}))

    def acknowledge(self, alert: Alert, by: str, note: str | None) -> None:
        if alert.state != "raised":
            raise Conflict(f"alert '{alert.id}' is {alert.state}; only a raised alert can be acknowledged")
        now = iso(self.clock())
        alert.state, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", now, by
        self._drop_escalation(alert.id)
        self._save(alert, AlertHistoryEntry(now, "acknowledged", by=by, note=note or None))

    def resolve(self, alert: Alert, at_us: int, by: str, note: str | None, suppress_us: int) -> None:
        if alert.state == "resolved":
            raise Conflict(f"alert '{alert.id}' is already resolved")
        alert.state, alert.resolved_at = "resolved", iso(at_us)
        key = (alert.rule, alert.twin_id)
        if self._open.get(key) is alert:
            del self._open[key]
        self._by_id.pop(alert.id, None)
        self._drop_escalation(alert.id)
        if suppress_us:
            self._suppressed_until[key] = at_us + suppress_us
            self.store.put_suppression(alert.rule, alert.twin_id, at_us + suppress_us)
        self._drop_ended(at_us)
        self._save(alert, AlertHistoryEntry(alert.resolved_at, "resolved", by=by, note=note or None))

    def _drop_ended(self, at_us: int) -> None:
        """Forget (here and in the store) the windows that ended a week before ``at_us``, a reading time: the store
        is read only when this process holds such a window, so a resolution usually costs nothing more."""
        cutoff = at_us - KEEP_ENDED_WINDOWS_US
        if any(until < cutoff for until in self._suppressed_until.values()):
            self._suppressed_until = self.store.suppressions(cutoff)

    def escalate_due(self, now_us: int, escalate_after: Callable[[str], int | None]) -> list[Alert]:
        """Escalate each raised alert whose time has come, once per tick; the next one is due a period later."""
        escalated = []
        for alert_id, due in list(self._next_escalation.items()):
            alert = self._by_id.get(alert_id)
            every = escalate_after(alert.rule) if alert is not None else None
            if alert is None or every is None or alert.state != "raised":
                self._drop_escalation(alert_id)
                continue
            if now_us >= due:
                alert.escalation += 1
                self._save(
                    alert, AlertHistoryEntry(iso(now_us), event="escalated", details={"level": alert.escalation})
                )
                self._plan_escalation(alert_id, now_us + every)
                escalated.append(alert)
        return escalated

    def _plan_escalation(self, alert_id: str, due_us: int) -> None:
        self._next_escalation[alert_id] = due_us
        self.store.set_escalation(alert_id, due_us)

    def _drop_escalation(self, alert_id: str) -> None:
        if self._next_escalation.pop(alert_id, None) is not None:
            self.store.set_escalation(alert_id, None)

    def note(self, alert: Alert, entry: AlertHistoryEntry) -> None:
        """Add an entry to an alert's history (the outcome of a recommendation), whatever its state by now."""
        current = self._by_id.get(alert.id) or alert
        self._save(current, entry)
