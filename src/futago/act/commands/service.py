"""The command service: bindings, and the lifecycle of a command from proposal or request to approval, refusal or
rejection; sending is the dispatcher's (``dispatch.py``), the envelope's judgement ``safety.py``'s."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Protocol

import orjson

from futago.act.commands.binding import Binding, fit_problems
from futago.act.commands.dispatch import CommandDispatcher, Transports
from futago.act.commands.envelope import STATIC_CHECKS, Reason, TwinReader
from futago.act.commands.ledger import CommandLedger
from futago.act.commands.record import AUTONOMOUS, STATES, CommandRecord, now_stamp
from futago.act.commands.safety import EnvelopeCheck, check_entry
from futago.act.model import ALERT_RESOLVED, Alert, Proposal
from futago.core.dtdl import Command, Interface
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import Event, EventBus
from futago.core.fence import OPEN, Fence, Fenced, OpenFence, acting, refused
from futago.core.ports import CommandStore
from futago.core.problems import Problem, join_pointer
from futago.core.telemetry import parse_timestamp

log = logging.getLogger(__name__)


class ModelCatalog(Protocol):
    def interface(self, model_id: str) -> Interface: ...


class AlertLookup(Protocol):
    """The alerts behind rules' proposals, read to know whether a proposal's alert still holds."""

    def get_alert(self, alert_id: str) -> Alert | None: ...


class AtLeader(Protocol):
    """Sends an approval or request to the leading process and returns the record as it left it there."""

    def __call__(self, action: str, fields: dict[str, Any]) -> dict[str, Any]: ...


class CommandService:
    """Implements act.model's Proposer for rules, and what the API offers people (request, approve, reject)."""

    def __init__(
        self,
        records: CommandStore,
        twins: TwinReader,
        models: ModelCatalog,
        bus: EventBus,
        transports: Transports,
        workers: int = 4,
        alerts: AlertLookup | None = None,
        fence: Fence = OPEN,  # scaled out: commands leave only while this process holds the lead
    ) -> None:
        self.records = records
        self.twins = twins
        self.models = models
        self.bus = bus
        self.transports = transports
        self._bindings: dict[tuple[str, str], Binding] = {}
        self.ledger = CommandLedger(records, bus)
        self.envelope_check = EnvelopeCheck(records, twins)
        self.dispatcher = CommandDispatcher(self.ledger, transports, workers, fence=fence)
        self._recovered = False
        # Scaled out, only the leader's dispatcher sends: an approval or request made through another process goes
        # to the leader (futago.scale.forward) and is made there, under its token (docs/scale.md).
        self.leader: AtLeader | None = None
        # Scaled out, a binding stored or removed here is told to the other processes (futago.scale.forward), the
        # leader above all, whose envelope and dispatcher read it: called with the binding's twin and command.
        self.binding_changed: Callable[[str, str], None] | None = None
        # A proposal follows its alert: when the alert resolves, what it proposed and nobody decided is withdrawn.
        self.alerts = alerts
        self._unsubscribe = bus.subscribe(self._on_event)

    # -- bindings ---------------------------------------------------------------------------------

    def load(self, configured: Mapping[str, Any]) -> None:
        """Bindings stored through the API, then those of the configuration file, which win and cannot be changed
        through the API. A command a previous run left in flight is failed: its outcome was never seen."""
        for (twin_id, command), config in self.records.list_command_bindings().items():
            try:
                self._bindings[twin_id, command] = Binding.parse(twin_id, command, config, "api")
            except InvalidInput as exc:  # refused at use ("no binding"), which is the safe side
                log.error("command binding %s/%s no longer parses: %s", twin_id, command, exc.detail)
        if not isinstance(configured, Mapping):
            raise InvalidInput([Problem("/commands", 'commands are [commands."<twin>".<command>] tables')])
        for twin_id, commands in configured.items():
            if not isinstance(commands, Mapping):
                raise InvalidInput([Problem(join_pointer("/commands", twin_id), "a table of commands of this twin")])
            for command, config in commands.items():
                try:
                    binding = Binding.parse(twin_id, command, config, "configuration")
                except InvalidInput as exc:  # a safety setting with a mistake must stop the start, not be skipped
                    base = join_pointer("/commands", twin_id, command)
                    raise InvalidInput([replace(p, pointer=base + p.pointer) for p in exc.problems]) from None
                self._bindings[twin_id, command] = binding
        if not self._recovered:  # only at start: later, approved and sent commands are this run's, in flight
            self._recovered = True
            if isinstance(self.dispatcher.fence, OpenFence):  # alone; scaled out, the leader's in flight are not
                self._fail_in_flight()  # ours to fail: a process taking the lead does it instead (take_over)
            self._withdraw_stale()

    def _fail_in_flight(self) -> None:
        events: list[Event] = []
        with self.ledger.lock:
            for state in ("approved", "sent"):
                for record in self.records.list_commands(state=state, limit=100_000):
                    admitted = record.admitted_us if state == "sent" else None
                    error = "futago stopped before the outcome was known"
                    self.ledger.move(record, "failed", None, events, error=error, admitted_us=admitted)
        self.ledger.publish(events)

    def take_over(self, token: int, left: Callable[[], Mapping[str, int | None]]) -> list[str]:
        """This process has just taken the lead with fencing ``token``: fail what former leaders left ``approved``
        or ``sent`` (``left``: those commands' ids, each with the token it was last written with, None where it
        had none), naming the token. Not sent again: a command may have reached its device before its leader lost
        the lead (an MQTT publish comes before its record), and a second close or open is not safe to assume
        harmless. Read and moved under the ledger's lock, so that this process's own dispatcher, which checks the
        record before it sends, either sent first (then the command carries ``token`` and is not left) or sends
        nothing. Returns the ids failed."""
        events: list[Event] = []
        failed: list[str] = []
        try:
            with acting(token), self.ledger.lock:
                for command_id, former in sorted(left().items()):
                    record = self.records.get_command(command_id)
                    if record is None or record.state not in ("approved", "sent"):
                        continue
                    error = _left_by(former, record.state, token)
                    admitted = record.admitted_us if record.state == "sent" else None
                    _, at = now_stamp()
                    self.ledger.move(record, "failed", None, events, error=error, failed_at=at, admitted_us=admitted)
                    failed.append(command_id)
        except Fenced as exc:  # the lead went again meanwhile: what is left is the next leader's
            refused("command", exc.detail)
        self.ledger.publish(events)
        return failed

    def _withdraw_stale(self) -> None:
        """Proposals whose alert resolved while no process was listening (or before proposals followed alerts)."""
        if self.alerts is None:
            return
        alert_ids = {r.alert_id for r in self.records.list_commands("proposed", limit=100_000) if r.alert_id}
        for alert_id in sorted(alert_ids):
            alert = self._resolved_alert(alert_id)
            if alert is not None:
                self.withdraw_for_alert(alert.id, _resolved_reason(alert))

    def bindings(self) -> list[Binding]:
        return [self._bindings[key] for key in sorted(self._bindings)]

    def binding(self, twin_id: str, command: str) -> Binding:
        found = self._bindings.get((twin_id, command))
        if found is None:
            raise NotFound(f"twin '{twin_id}' has no binding for command '{command}'")
        return found

    def put_binding(self, twin_id: str, command: str, config: Any) -> tuple[Binding, bool]:
        """Create or replace a binding; returns it and whether it is new."""
        existing = self._bindings.get((twin_id, command))
        if existing is not None and existing.source == "configuration":
            raise Conflict(f"the binding of {twin_id}/{command} is set in the configuration file; change it there")
        dtdl = self._command_of(twin_id, command)
        binding = Binding.parse(twin_id, command, config, "api")
        problems = self.transports.check(binding.transport, "/transport") + fit_problems(binding, dtdl)
        if problems:
            raise InvalidInput(problems)
        with self.ledger.lock:
            self.records.put_command_binding(twin_id, command, binding.config)
            self._bindings[twin_id, command] = binding
        self._tell(twin_id, command)
        return binding, existing is None

    def delete_binding(self, twin_id: str, command: str) -> None:
        if self.binding(twin_id, command).source == "configuration":
            raise Conflict(f"the binding of {twin_id}/{command} is set in the configuration file; change it there")
        with self.ledger.lock:
            self.records.delete_command_binding(twin_id, command)
            del self._bindings[twin_id, command]
        self._tell(twin_id, command)

    def _tell(self, twin_id: str, command: str) -> None:
        if self.binding_changed is None:
            return
        try:
            self.binding_changed(twin_id, command)
        except Exception:  # stored all the same: the leader reads every binding again when it takes the lead
            log.exception("could not tell the other processes of the binding %s/%s", twin_id, command)

    def reload_binding(self, twin_id: str, command: str) -> None:
        """A binding another process stored or removed, as the store holds it now (one of the configuration file
        stays: the file wins)."""
        self._reload(self.records.list_command_bindings(), [(twin_id, command)])

    def reload_bindings(self) -> None:
        """Every binding stored through the API, as the store holds it now (a process taking the lead may have
        missed a change told while it was away)."""
        stored = self.records.list_command_bindings()
        with self.ledger.lock:
            ours = [key for key, binding in self._bindings.items() if binding.source == "api"]
        self._reload(stored, sorted(set(stored) | set(ours)))

    def _reload(self, stored: Mapping[tuple[str, str], dict[str, Any]], keys: list[tuple[str, str]]) -> None:
        with self.ledger.lock:
            for key in keys:
                existing = self._bindings.get(key)
                if existing is not None and existing.source == "configuration":
                    continue
                config = stored.get(key)
                try:
                    binding = Binding.parse(*key, config, "api") if config is not None else None
                except InvalidInput as exc:  # refused at use ("no binding"), the safe side, as at start
                    log.error("command binding %s/%s no longer parses: %s", *key, exc.detail)
                    binding = None
                if binding is None:
                    self._bindings.pop(key, None)
                else:
                    self._bindings[key] = binding

    # -- commands ---------------------------------------------------------------------------------

    def propose(self, proposal: Proposal) -> dict[str, Any]:
        """A rule's or behaviour's recommendation (act.model's Proposer). Raises NotFound for an unknown twin or
        command and InvalidInput for a payload its request schema refuses; the envelope never raises, it refuses."""
        return self._create(
            proposal.twin_id,
            proposal.command,
            proposal.payload,
            proposal.proposed_by,
            dict(proposal.evidence),
            proposal.alert_id,
            None,
        )

    def request(
        self, twin_id: str, command: str, payload: Any, by: str, note: str | None = None, here: bool = False
    ) -> dict[str, Any]:
        """A person's (or a client's) request: it goes through the binding's mode and envelope like a proposal.
        Scaled out on a process that does not lead, it is made by the leader (in autonomous mode it approves and
        sends), once the payload has passed here; ``here``: the leader's desk, making it."""
        if not here and self._elsewhere():
            _validate_payload(self._command_of(twin_id, command), _plain(payload))  # its pointers, from here
            assert self.leader is not None
            fields = {"twin": twin_id, "command": command, "payload": _plain(payload), "by": by, "note": note}
            return self.leader("request", fields)
        return self._create(twin_id, command, payload, by, {}, None, note)

    def approve(self, command_id: str, by: str, note: str | None = None, here: bool = False) -> dict[str, Any]:
        """Check the envelope again (the twin may have changed since the proposal), then send, or refuse. A proposal
        whose alert has resolved is not approved (409): it is withdrawn, if the resolve had not withdrawn it yet.
        Scaled out on a process that does not lead, the leader approves it (``here``: the leader's desk doing so):
        only the leader's dispatcher sends."""
        if not here and self._elsewhere():
            assert self.leader is not None
            return self.leader("approve", {"id": command_id, "by": by, "note": note})
        events: list[Event] = []
        with self.ledger.lock:
            record = self._undecided(command_id, "approved")
            resolved = self._resolved_alert(record.alert_id)
            if resolved is not None:  # the resolve event went unheard (another process, a crash): withdraw it now
                self._withdraw(record, _resolved_reason(resolved), events)
            else:
                record, binding = self._judge_approval(record, by, note, events)
        self.ledger.publish(events)
        if resolved is not None:
            raise Conflict(
                f"command '{command_id}' was proposed for alert '{resolved.id}', which resolved at "
                f"{resolved.resolved_at}; the proposal is withdrawn (a new alert makes its own)"
            )
        if binding is not None and record.state == "approved":
            self.dispatcher.submit(record, binding)
        return record.to_json()

    def _elsewhere(self) -> bool:
        """Whether approvals go to another process: scaled out, and this one does not lead now."""
        return self.leader is not None and not self.dispatcher.fence.holds()

    def _undecided(self, command_id: str, verb: str) -> CommandRecord:
        """The record, while it still waits for a person; else a 409 that says what became of it."""
        record = self.ledger.record(command_id)
        if record.state == "withdrawn":
            why = "; ".join(r.get("message", "") for r in record.reasons if r.get("check") == "withdrawn")
            raise Conflict(f"command '{command_id}' is withdrawn ({why}); a withdrawn proposal cannot be {verb}")
        if record.state != "proposed":
            raise Conflict(f"command '{command_id}' is {record.state}; only a proposed command can be {verb}")
        return record

    def _judge_approval(
        self, record: CommandRecord, by: str, note: str | None, events: list[Event]
    ) -> tuple[CommandRecord, Binding | None]:
        """The envelope again at approval: approved, or refused with the reasons. The caller holds the lock."""
        now_us, now = now_stamp()
        binding = self._bindings.get((record.twin_id, record.command))
        reasons = self.envelope_check.reasons(record.twin_id, record.command, record.payload, binding, now_us)
        if self.twins.get_twin(record.twin_id) is None:
            reasons.insert(0, Reason("twin", f"twin '{record.twin_id}' no longer exists"))
        if binding is not None and binding.expires_us is not None:
            age_us = now_us - parse_timestamp(record.proposed_at)
            if age_us > binding.expires_us:
                reasons.insert(0, Reason("expired", f"the proposal is {age_us / 60e6:.1f} min old; it expired"))
        record = replace(
            record,
            binding=binding.to_json() if binding else None,
            checks=[*record.checks, check_entry("approval", now, reasons, by)],
            note=note if note is not None else record.note,
        )
        if reasons:
            return self.ledger.move(record, "refused", by, events, reasons=[r.to_json() for r in reasons]), binding
        moved = self.ledger.move(record, "approved", by, events, approved_by=by, approved_at=now, admitted_us=now_us)
        return moved, binding

    def reject(self, command_id: str, by: str, reason: str | None = None) -> dict[str, Any]:
        events: list[Event] = []
        with self.ledger.lock:
            record = self._undecided(command_id, "rejected")
            _, now = now_stamp()
            why = [{"check": "rejected", "message": reason}] if reason else []
            record = self.ledger.move(record, "rejected", by, events, rejected_by=by, rejected_at=now, reasons=why)
        self.ledger.publish(events)
        return record.to_json()

    def get(self, command_id: str) -> dict[str, Any]:
        return self.ledger.record(command_id).to_json()

    def list_commands(
        self, state: str | None = None, twin_id: str | None = None, command: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        if state is not None and state not in STATES:
            raise InvalidInput([Problem("/state", f"state is one of {', '.join(STATES)}")])
        return [record.to_json() for record in self.records.list_commands(state, twin_id, command, limit)]

    def wait(self, command_id: str, timeout_s: float) -> dict[str, Any]:
        """The record once it is final, or waits for a person (proposed), or after ``timeout_s``."""
        return self.ledger.wait(command_id, timeout_s)

    def withdraw_for_alert(self, alert_id: str, reason: str) -> list[dict[str, Any]]:
        """Withdraw the undecided proposals of an alert that resolved; returns the withdrawn records."""
        events: list[Event] = []
        withdrawn = []
        with self.ledger.lock:
            for record in self.records.list_commands("proposed", limit=100_000):
                if record.alert_id == alert_id:
                    try:
                        withdrawn.append(self._withdraw(record, reason, events).to_json())
                    except Conflict:  # decided meanwhile (another process of a scaled-out deployment)
                        continue
        self.ledger.publish(events)
        return withdrawn

    def close(self) -> None:
        """Stop sending: queued commands stay approved (the next start fails them), in-flight ones fail."""
        self._unsubscribe()
        self.dispatcher.close()

    # -- inside -----------------------------------------------------------------------------------

    def _create(
        self,
        twin_id: str,
        command: str,
        payload: Any,
        by: str,
        evidence: dict[str, Any],
        alert_id: str | None,
        note: str | None,
    ) -> dict[str, Any]:
        payload, evidence = _plain(payload), _plain(evidence)
        _validate_payload(self._command_of(twin_id, command), payload)
        events: list[Event] = []
        with self.ledger.lock:
            duplicate = self._open_duplicate(twin_id, command, payload, by, alert_id)
            if duplicate is not None:  # a rule firing again while its proposal waits: one proposal, not many
                return duplicate
            now_us, now = now_stamp()
            binding = self._bindings.get((twin_id, command))
            reasons = self.envelope_check.reasons(twin_id, command, payload, binding, now_us)
            record = CommandRecord(
                id=uuid.uuid4().hex,
                twin_id=twin_id,
                command=command,
                payload=payload,
                mode=binding.mode if binding else "recommend",
                state="proposed",
                proposed_by=by,
                proposed_at=now,
                evidence=evidence,
                alert_id=alert_id,
                note=note,
                binding=binding.to_json() if binding else None,
                checks=[check_entry("proposal", now, reasons, None)],
                history=[{"at": now, "state": "proposed", "by": by}],
            )
            self.ledger.add(record, events)
            autonomous = binding is not None and binding.mode == "autonomous"
            resolved = self._resolved_alert(alert_id)
            if resolved is not None:  # raised and resolved in one pass of the rules: nothing left to act on
                record = self._withdraw(record, _resolved_reason(resolved), events)
            elif any(r.check in STATIC_CHECKS for r in reasons) or (autonomous and reasons):
                record = self.ledger.move(record, "refused", None, events, reasons=[r.to_json() for r in reasons])
            elif autonomous:
                record = self.ledger.move(
                    record, "approved", AUTONOMOUS, events, approved_by=AUTONOMOUS, approved_at=now, admitted_us=now_us
                )
        self.ledger.publish(events)
        if binding is not None and record.state == "approved":
            self.dispatcher.submit(record, binding)
        return record.to_json()

    def _open_duplicate(
        self, twin_id: str, command: str, payload: Any, by: str, alert_id: str | None
    ) -> dict[str, Any] | None:
        """The same proposal still waiting: of the same alert (a later alert makes its own), by the same proposer,
        with the same payload."""
        for record in self.records.list_commands("proposed", twin_id, command, limit=100):
            if record.alert_id == alert_id and record.proposed_by == by and record.payload == payload:
                return record.to_json()
        return None

    def _on_event(self, event: Event) -> None:
        if event.type != ALERT_RESOLVED or event.origin is not None or not isinstance(event.data, Mapping):
            return  # another process's resolve is withdrawn there, by the process whose rules proposed
        alert_id = event.data.get("id")
        if isinstance(alert_id, str):
            at = event.data.get("resolvedAt") or event.time
            by = _resolved_by(event.data.get("history"))
            self.withdraw_for_alert(alert_id, f"alert '{alert_id}' resolved at {at}{by}")

    def _resolved_alert(self, alert_id: str | None) -> Alert | None:
        if alert_id is None or self.alerts is None:
            return None
        alert = self.alerts.get_alert(alert_id)
        return alert if alert is not None and alert.state == "resolved" else None

    def _withdraw(self, record: CommandRecord, reason: str, events: list[Event]) -> CommandRecord:
        """Move an undecided proposal to withdrawn, saying why; its proposer withdraws it (the audit's actor too).
        The caller holds the lock."""
        _, now = now_stamp()
        why = [*record.reasons, {"check": "withdrawn", "message": reason}]
        by = record.proposed_by
        return self.ledger.move(record, "withdrawn", by, events, reason=reason, withdrawn_at=now, reasons=why)

    def _command_of(self, twin_id: str, name: str) -> Command:
        twin = self.twins.get_twin(twin_id)
        if twin is None:
            raise NotFound(f"twin '{twin_id}' does not exist")
        commands = self.models.interface(twin.model).commands
        command = commands.get(name)
        if command is None:
            declared = ", ".join(sorted(commands)) or "none"
            raise NotFound(f"twin '{twin_id}' ({twin.model}) has no command '{name}'; its model declares {declared}")
        return command


def _left_by(former: int | None, state: str, token: int) -> str:
    """Why a command a former leader left in flight failed when this process took the lead with ``token``."""
    if state == "sent":
        who = f"the leader with fencing token {former}" if former is not None else "a process alone"
        return f"sent by {who}, whose outcome was never known: the lead moved to token {token}; not sent again"
    who = f"the leader with fencing token {former}" if former is not None else "an API request (no fencing token)"
    return (
        f"approved by {who} and not known to be sent when the lead moved to token {token}; not sent again, "
        "as it may have left: request it anew"
    )


def _resolved_reason(alert: Alert) -> str:
    return f"alert '{alert.id}' resolved at {alert.resolved_at}{_resolved_by([h.to_json() for h in alert.history])}"


def _resolved_by(history: Any) -> str:
    """ " (by rule)" or " (by <person>)": who resolved the alert, from its newest resolved history entry."""
    if not isinstance(history, list):
        return ""
    for entry in reversed(history):
        if isinstance(entry, Mapping) and entry.get("state") == "resolved" and entry.get("by"):
            return f" (by {entry['by']})"
    return ""


def _validate_payload(command: Command, payload: Any, pointer: str = "/payload") -> None:
    """The payload against the DTDL Command's request schema, with the same checks as property values."""
    request = command.request
    if request is None:
        if payload is not None:
            raise InvalidInput([Problem(pointer, f"command '{command.name}' takes no payload; send null")])
        return
    if payload is None:
        if not request.nullable:
            what = f"'{request.name}' ({request.schema.kind})"
            raise InvalidInput([Problem(pointer, f"command '{command.name}' needs its request {what}")])
        return
    problems = request.schema.check(payload, pointer)
    if problems:
        raise InvalidInput(problems)


def _plain(value: Any) -> Any:
    """JSON values only: a rule or behaviour may hand over numpy numbers, which the record could not store."""
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS))
