"""Commands: from a rule's proposal or a person's request to the device, through a safety envelope.

Every command is bound per twin and DTDL Command (``[commands."gate-1".setOpening]`` in futago.toml, or
``PUT /command-bindings/{twin}/{command}``) to a transport, a mode and an envelope::

    [commands."gate-1".setOpening]
    mode = "recommend"            # or "autonomous"
    transport = { type = "mqtt", connection = "gates", topic = "gates/{twin}/{command}" }   # see act/transports.py
    expires = "30m"               # a proposal not approved by then is refused (optional)

    [commands."gate-1".setOpening.envelope]
    field = "percent"             # the numeric checks apply to this field of the payload (or to the payload itself)
    min = 0
    max = 100
    max_step = 20                 # largest change from the last value sent
    max_rate = "10/1m"            # largest change per unit of time since the last value sent (a number: per second)
    rate_limit = "1/5m"           # at most 1 command sent per 5 minutes
    interlocks = [{ telemetry = "flow", above = 5 }]   # refuse while the twin's latest flow is above 5

Interlocks read the latest telemetry or a property (``property = "operation", equals = "manual"``) of the twin, or of
another (``twin = "river-1"``), with ``above``, ``below``, ``equals`` or ``not_equals``; ``max_age`` treats older
readings as missing, and a missing value refuses unless ``when_missing = "allow"``.

The states of a command::

    proposed ──approve──► approved ──► sent ──► completed
       │  │                  │           └────► failed
       │  └──reject──► rejected              approved ──► failed (it could not be sent)
       └──(the envelope says no, at proposal or at approval)──► refused

In **recommend** mode a proposal waits for a person; the envelope is checked again when they approve, because the
twin may have changed meanwhile. A proposal outside the bounds, or without a binding, is refused at once. In
**autonomous** mode a command inside the envelope is approved by ``autonomous`` and sent at once, and refused
otherwise. Every transition is stored (the record is the audit: who proposed it and why, who approved it, what was
sent, the device's answer and the resulting state) and published on the bus as ``command.<state>``.
"""

from __future__ import annotations

import logging
import math
import operator
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import orjson

from futago.act.model import (
    COMMAND_APPROVED,
    COMMAND_COMPLETED,
    COMMAND_FAILED,
    COMMAND_PROPOSED,
    COMMAND_REJECTED,
    COMMAND_SENT,
    Proposal,
)
from futago.act.transports import OnSent, Outcome, OutgoingCommand, TransportSpec, parse_transport
from futago.core.dtdl import Command, Interface, ObjectSchema, Schema
from futago.core.errors import Conflict, InvalidInput, NotFound
from futago.core.events import COMMAND_REFUSED, Event, EventBus  # refused: turned down by the safety envelope
from futago.core.problems import Problem, join_pointer
from futago.core.telemetry import LatestReading, parse_duration, parse_timestamp
from futago.core.twins import Twin
from futago.store.port import CommandStore

log = logging.getLogger(__name__)

Mode = Literal["recommend", "autonomous"]
CommandState = Literal["proposed", "approved", "rejected", "refused", "sent", "completed", "failed"]
STATES: tuple[CommandState, ...] = ("proposed", "approved", "rejected", "refused", "sent", "completed", "failed")
FINAL: frozenset[str] = frozenset({"rejected", "refused", "completed", "failed"})
EVENT_OF_STATE = {
    "proposed": COMMAND_PROPOSED,
    "approved": COMMAND_APPROVED,
    "rejected": COMMAND_REJECTED,
    "refused": COMMAND_REFUSED,
    "sent": COMMAND_SENT,
    "completed": COMMAND_COMPLETED,
    "failed": COMMAND_FAILED,
}
AUTONOMOUS = "autonomous"  # who approves a command in autonomous mode
_MAX_RATE_COUNT = 100_000  # a rate limit's count is also a query's LIMIT
_NUMERIC = frozenset(
    {"double", "float", "decimal", "integer", "long", "short", "byte"}
    | {"unsignedByte", "unsignedShort", "unsignedInteger", "unsignedLong"}
)


# ---------------------------------------------------------------------------------------------
# What the service needs from the rest of futago
# ---------------------------------------------------------------------------------------------


class TwinReader(Protocol):
    """Where interlocks read a twin's properties and latest telemetry (the store)."""

    def get_twin(self, twin_id: str) -> Twin | None: ...
    def latest(self, twin_id: str) -> dict[str, LatestReading]: ...


class ModelCatalog(Protocol):
    def interface(self, model_id: str) -> Interface: ...


class Transports(Protocol):
    """How commands reach devices (``act/transports.py``: CommandTransports)."""

    def check(self, spec: TransportSpec, pointer: str = "/transport") -> list[Problem]: ...
    def send(self, spec: TransportSpec, command: OutgoingCommand, on_sent: OnSent) -> Outcome: ...
    def close(self) -> None: ...


# ---------------------------------------------------------------------------------------------
# The safety envelope
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why the envelope says no. ``check`` names the part: bounds, step, rate, rate_limit, interlock, binding,
    expired. Bounds and a missing binding cannot change with time, so they refuse even a proposal."""

    check: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "message": self.message}


_STATIC = frozenset({"bounds", "binding"})
_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "above": operator.gt,
    "below": operator.lt,
    "equals": operator.eq,
    "not_equals": operator.ne,
}
_WORDS = {"above": "above", "below": "below", "equals": "equal to", "not_equals": "not equal to"}


@dataclass(frozen=True)
class Interlock:
    """A condition under which the command is refused, over a twin's latest telemetry or a property."""

    source: Literal["telemetry", "property"]
    name: str
    op: str
    value: Any
    twin: str | None = None  # another twin (e.g. the river downstream); default the command's own
    max_age_us: int | None = None  # an older reading counts as missing
    when_missing: Literal["refuse", "allow"] = "refuse"
    message: str | None = None

    @classmethod
    def parse(cls, config: Any, pointer: str, problems: list[Problem]) -> Interlock | None:
        keys = {"telemetry", "property", "twin", "max_age", "when_missing", "message", *_OPERATORS}
        if not isinstance(config, dict):
            problems.append(Problem(pointer, "an interlock is an object, e.g. {telemetry: 'flow', above: 5}"))
            return None
        before = len(problems)
        problems += [Problem(f"{pointer}/{k}", f"unknown key; use {sorted(keys)}") for k in config if k not in keys]
        sources = [k for k in ("telemetry", "property") if k in config]
        ops = [k for k in _OPERATORS if k in config]
        if len(sources) != 1 or not isinstance(config[sources[0]], str) or not config[sources[0]]:
            problems.append(Problem(pointer, "name exactly one of 'telemetry' or 'property' (a string)"))
        if len(ops) != 1:
            problems.append(Problem(pointer, f"give exactly one condition: {', '.join(_OPERATORS)}"))
        elif ops[0] in ("above", "below") and not _is_number(config[ops[0]]):
            problems.append(Problem(f"{pointer}/{ops[0]}", f"'{ops[0]}' compares with a number"))
        for key in ("twin", "message"):
            if key in config and (not isinstance(config[key], str) or not config[key]):
                problems.append(Problem(f"{pointer}/{key}", f"'{key}' is a non-empty string"))
        when_missing = config.get("when_missing", "refuse")
        if when_missing not in ("refuse", "allow"):
            problems.append(Problem(f"{pointer}/when_missing", "when_missing is 'refuse' (the default) or 'allow'"))
        max_age = _duration(config.get("max_age"), f"{pointer}/max_age", problems)
        if len(problems) > before:
            return None
        return cls(
            sources[0],  # type: ignore[arg-type]
            config[sources[0]],
            ops[0],
            config[ops[0]],
            config.get("twin"),
            max_age,
            when_missing,
            config.get("message"),
        )

    def check(self, twin_id: str, reader: TwinReader, now_us: int) -> Reason | None:
        twin = self.twin or twin_id
        condition = f"{self.source} '{self.name}' of '{twin}' {_WORDS[self.op]} {self.value!r}"
        found, value = self._value(twin, reader, now_us)
        if not found:
            if self.when_missing == "allow":
                return None
            recent = "recent " if self.max_age_us is not None else ""
            return Reason("interlock", f"interlock ({condition}) cannot be judged: no {recent}value")
        try:
            holds = bool(_OPERATORS[self.op](value, self.value))
        except TypeError:
            return Reason("interlock", f"interlock ({condition}) cannot be judged: the value is {value!r}")
        if not holds:
            return None
        return Reason("interlock", self.message or f"interlock: {condition} holds (the value is {value!r})")

    def _value(self, twin_id: str, reader: TwinReader, now_us: int) -> tuple[bool, Any]:
        if self.source == "property":
            twin = reader.get_twin(twin_id)
            if twin is None or self.name not in twin.properties:
                return False, None
            return True, twin.properties[self.name]
        reading = reader.latest(twin_id).get(self.name)
        if reading is None or (self.max_age_us is not None and now_us - reading.ts > self.max_age_us):
            return False, None
        return True, reading.value


@dataclass(frozen=True)
class Envelope:
    minimum: float | None = None
    maximum: float | None = None
    field: str | None = None  # the payload field the numeric checks apply to (object payloads)
    max_step: float | None = None
    max_rate: float | None = None  # change per second
    rate_limit: tuple[int, int] | None = None  # (commands, window in µs)
    interlocks: tuple[Interlock, ...] = ()

    @classmethod
    def parse(cls, config: Any, pointer: str, problems: list[Problem]) -> Envelope:
        if config is None:
            return cls()
        known = {"min", "max", "field", "max_step", "max_rate", "rate_limit", "interlocks"}
        if not isinstance(config, dict):
            problems.append(Problem(pointer, f"the envelope is an object with {sorted(known)}"))
            return cls()
        problems += [Problem(f"{pointer}/{k}", f"unknown key; use {sorted(known)}") for k in config if k not in known]

        def number(key: str, positive: bool = False) -> float | None:
            value = config.get(key)
            if value is None:
                return None
            if not _is_number(value) or (positive and value <= 0):
                problems.append(Problem(f"{pointer}/{key}", f"'{key}' is a {'positive ' if positive else ''}number"))
                return None
            return float(value)

        minimum, maximum = number("min"), number("max")
        if minimum is not None and maximum is not None and minimum > maximum:
            problems.append(Problem(f"{pointer}/min", f"min ({minimum:g}) is above max ({maximum:g})"))
        field_name = config.get("field")
        if field_name is not None and (not isinstance(field_name, str) or not field_name):
            problems.append(Problem(f"{pointer}/field", "'field' names a field of the command's request"))
            field_name = None
        max_rate = _per_second(config.get("max_rate"), f"{pointer}/max_rate", problems)
        rate_limit = _rate_limit(config.get("rate_limit"), f"{pointer}/rate_limit", problems)
        interlocks = config.get("interlocks", [])
        if not isinstance(interlocks, list):
            problems.append(Problem(f"{pointer}/interlocks", "interlocks is a list of conditions"))
            interlocks = []
        parsed = [Interlock.parse(item, f"{pointer}/interlocks/{i}", problems) for i, item in enumerate(interlocks)]
        return cls(
            minimum,
            maximum,
            field_name,
            number("max_step", positive=True),
            max_rate,
            rate_limit,
            tuple(i for i in parsed if i is not None),
        )

    @property
    def numeric(self) -> bool:
        return any(v is not None for v in (self.minimum, self.maximum, self.max_step, self.max_rate))

    def number(self, payload: Any) -> float | None:
        """The number the numeric checks apply to: the payload, or its ``field``."""
        if self.field is not None:
            payload = payload.get(self.field) if isinstance(payload, dict) else None
        return float(payload) if _is_number(payload) and math.isfinite(payload) else None

    def what(self) -> str:
        return f"field '{self.field}' of the payload" if self.field else "the payload"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _duration(value: Any, pointer: str, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return parse_duration(value)
    except InvalidInput:
        pass
    problems.append(Problem(pointer, "a duration, e.g. '30s', '5m', '1h'"))
    return None


def _per_second(value: Any, pointer: str, problems: list[Problem]) -> float | None:
    """``max_rate``: a number (change per second) or "<change>/<duration>", e.g. "10/1m"."""
    if value is None:
        return None
    if _is_number(value) and value > 0:
        return float(value)
    if isinstance(value, str) and value.count("/") == 1:
        amount, _, per = value.partition("/")
        try:
            change, window_us = float(amount), parse_duration(per)
        except (ValueError, InvalidInput):
            change, window_us = -1.0, 1
        if math.isfinite(change) and change > 0:
            return change / (window_us / 1e6)
    problems.append(Problem(pointer, "max_rate is a change per second, or e.g. '10/1m' (10 per minute)"))
    return None


def _rate_limit(value: Any, pointer: str, problems: list[Problem]) -> tuple[int, int] | None:
    """``rate_limit``: "<count>/<duration>", e.g. "1/5m"."""
    if value is None:
        return None
    if isinstance(value, str) and value.count("/") == 1:
        count, _, per = value.partition("/")
        try:
            if count.strip().isdecimal() and 0 < int(count) <= _MAX_RATE_COUNT:
                return int(count), parse_duration(per)
        except InvalidInput:
            pass
    problems.append(
        Problem(pointer, f"rate_limit is '<count>/<duration>' with a count up to {_MAX_RATE_COUNT}, e.g. '1/5m'")
    )
    return None


# ---------------------------------------------------------------------------------------------
# Bindings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """How one twin's DTDL Command is sent, and what keeps it safe."""

    twin_id: str
    command: str
    mode: Mode
    transport: TransportSpec
    envelope: Envelope
    expires_us: int | None
    config: dict[str, Any]  # as given, for storing and showing
    source: Literal["configuration", "api"]

    @classmethod
    def parse(cls, twin_id: str, command: str, config: Any, source: Literal["configuration", "api"]) -> Binding:
        """InvalidInput with pointers relative to the binding (``/envelope/min``)."""
        known = {"mode", "transport", "envelope", "expires"}
        if not isinstance(config, dict):
            raise InvalidInput([Problem("", f"a command binding is an object with {sorted(known)}")])
        problems = [Problem(f"/{k}", f"unknown key; use {sorted(known)}") for k in config if k not in known]
        mode = config.get("mode", "recommend")
        if mode not in ("recommend", "autonomous"):
            problems.append(Problem("/mode", "mode is 'recommend' (a person approves) or 'autonomous'"))
        try:
            transport = parse_transport(config.get("transport"), "/transport")
        except InvalidInput as exc:
            problems += exc.problems
        envelope = Envelope.parse(config.get("envelope"), "/envelope", problems)
        expires = _duration(config.get("expires"), "/expires", problems)
        if problems:
            raise InvalidInput(problems)
        return cls(twin_id, command, mode, transport, envelope, expires, dict(config), source)

    def to_json(self) -> dict[str, Any]:
        return {
            "twinId": self.twin_id,
            "command": self.command,
            "mode": self.mode,
            **self.config,
            "source": self.source,
        }


def _fit(binding: Binding, command: Command) -> list[Problem]:
    """Problems with an envelope for this command's request schema (a field it lacks, bounds on a string)."""
    envelope = binding.envelope
    if not envelope.numeric:
        return []
    request = command.request
    schema: Schema | None = request.schema if request is not None else None
    if envelope.field is not None:
        if not isinstance(schema, ObjectSchema) or envelope.field not in schema.fields:
            return [Problem("/envelope/field", f"the request of '{command.name}' has no field '{envelope.field}'")]
        schema = schema.fields[envelope.field]
    if schema is None or schema.kind not in _NUMERIC:
        what = envelope.what()
        return [Problem("/envelope", f"bounds, max_step and max_rate need a number, and {what} is not one")]
    return []


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@dataclass
class CommandRecord:
    """One command and its audit trail. Its JSON uses camelCase (``twinId``, ``approvedBy``)."""

    id: str
    twin_id: str
    command: str
    payload: Any
    mode: Mode
    state: CommandState
    proposed_by: str
    proposed_at: str
    evidence: dict[str, Any] = field(default_factory=dict)  # the rule's or behaviour's output behind it
    alert_id: str | None = None
    note: str | None = None
    binding: dict[str, Any] | None = None  # the binding in force when it was last checked
    checks: list[dict[str, Any]] = field(default_factory=list)  # every envelope check: when, stage, reasons
    approved_by: str | None = None
    approved_at: str | None = None
    admitted_us: int | None = None  # when it passed the envelope (µs); rate limits count these
    rejected_by: str | None = None
    rejected_at: str | None = None
    reasons: list[dict[str, str]] = field(default_factory=list)  # why it was refused or rejected
    sent: dict[str, Any] | None = None  # exactly what went to the device, and how
    sent_at: str | None = None
    response: Any = None  # the device's answer
    result_state: Any = None  # the state after acting: the node read back, or what the device reports
    completed_at: str | None = None
    failed_at: str | None = None
    error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # [{at, state, by?}]

    def to_json(self) -> dict[str, Any]:
        return {_camel(k): v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CommandRecord:
        return cls(**{f.name: body[_camel(f.name)] for f in fields(cls) if _camel(f.name) in body})


def _now() -> tuple[int, str]:
    us = time.time_ns() // 1000
    return us, _iso(us)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


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
    ) -> None:
        self.records = records
        self.twins = twins
        self.models = models
        self.bus = bus
        self.transports = transports
        self._bindings: dict[tuple[str, str], Binding] = {}
        # One lock for every check-then-move, so that two approvals cannot both pass one rate limit.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        # Sending waits for the device (up to the transport's timeout): never on the caller's thread, which may be
        # the rule engine on the bus or an API request.
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="futago-command")
        self._recovered = False

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
            self._fail_in_flight()

    def _fail_in_flight(self) -> None:
        events: list[Event] = []
        with self._lock:
            for state in ("approved", "sent"):
                for body in self.records.list_commands(state=state, limit=100_000):
                    record = CommandRecord.from_json(body)
                    admitted = record.admitted_us if state == "sent" else None
                    error = "futago stopped before the outcome was known"
                    self._move(record, "failed", None, events, error=error, admitted_us=admitted)
        self._publish(events)

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
        problems = self.transports.check(binding.transport, "/transport") + _fit(binding, dtdl)
        if problems:
            raise InvalidInput(problems)
        with self._lock:
            self.records.put_command_binding(twin_id, command, binding.config)
            self._bindings[twin_id, command] = binding
        return binding, existing is None

    def delete_binding(self, twin_id: str, command: str) -> None:
        if self.binding(twin_id, command).source == "configuration":
            raise Conflict(f"the binding of {twin_id}/{command} is set in the configuration file; change it there")
        with self._lock:
            self.records.delete_command_binding(twin_id, command)
            del self._bindings[twin_id, command]

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

    def request(self, twin_id: str, command: str, payload: Any, by: str, note: str | None = None) -> dict[str, Any]:
        """A person's (or a client's) request: it goes through the binding's mode and envelope like a proposal."""
        return self._create(twin_id, command, payload, by, {}, None, note)

    def approve(self, command_id: str, by: str, note: str | None = None) -> dict[str, Any]:
        """Check the envelope again (the twin may have changed since the proposal), then send, or refuse."""
        events: list[Event] = []
        with self._lock:
            record = self._record(command_id)
            if record.state != "proposed":
                raise Conflict(f"command '{command_id}' is {record.state}; only a proposed command can be approved")
            now_us, now = _now()
            binding = self._bindings.get((record.twin_id, record.command))
            reasons = self._check(record.twin_id, record.command, record.payload, binding, now_us)
            if self.twins.get_twin(record.twin_id) is None:
                reasons.insert(0, Reason("twin", f"twin '{record.twin_id}' no longer exists"))
            if binding is not None and binding.expires_us is not None:
                age_us = now_us - parse_timestamp(record.proposed_at)
                if age_us > binding.expires_us:
                    reasons.insert(0, Reason("expired", f"the proposal is {age_us / 60e6:.1f} min old; it expired"))
            record = replace(
                record,
                binding=binding.to_json() if binding else None,
                checks=[*record.checks, _check_entry("approval", now, reasons, by)],
                note=note if note is not None else record.note,
            )
            if reasons:
                record = self._move(record, "refused", by, events, reasons=[r.to_json() for r in reasons])
            else:
                record = self._move(record, "approved", by, events, approved_by=by, approved_at=now, admitted_us=now_us)
        self._publish(events)
        if binding is not None and record.state == "approved":
            self._executor.submit(self._dispatch, record, binding)
        return record.to_json()

    def reject(self, command_id: str, by: str, reason: str | None = None) -> dict[str, Any]:
        events: list[Event] = []
        with self._lock:
            record = self._record(command_id)
            if record.state != "proposed":
                raise Conflict(f"command '{command_id}' is {record.state}; only a proposed command can be rejected")
            _, now = _now()
            why = [{"check": "rejected", "message": reason}] if reason else []
            record = self._move(record, "rejected", by, events, rejected_by=by, rejected_at=now, reasons=why)
        self._publish(events)
        return record.to_json()

    def get(self, command_id: str) -> dict[str, Any]:
        return self._record(command_id).to_json()

    def list_commands(
        self, state: str | None = None, twin_id: str | None = None, command: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        if state is not None and state not in STATES:
            raise InvalidInput([Problem("/state", f"state is one of {', '.join(STATES)}")])
        return self.records.list_commands(state, twin_id, command, limit)

    def wait(self, command_id: str, timeout_s: float) -> dict[str, Any]:
        """The record once it is final, or waits for a person (proposed), or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                record = self._record(command_id)
                left = deadline - time.monotonic()
                if record.state in FINAL or record.state == "proposed" or left <= 0:
                    return record.to_json()
                self._changed.wait(left)

    def close(self) -> None:
        """Stop sending: queued commands stay approved (the next start fails them), in-flight ones fail."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.transports.close()  # wakes every command waiting for an answer
        self._executor.shutdown(wait=True)

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
        with self._lock:
            duplicate = self._open_duplicate(twin_id, command, payload, by)
            if duplicate is not None:  # a rule firing again while its proposal waits: one proposal, not many
                return duplicate
            now_us, now = _now()
            binding = self._bindings.get((twin_id, command))
            reasons = self._check(twin_id, command, payload, binding, now_us)
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
                checks=[_check_entry("proposal", now, reasons, None)],
                history=[{"at": now, "state": "proposed", "by": by}],
            )
            self.records.add_command(record.to_json())
            events.append(_event(record))
            autonomous = binding is not None and binding.mode == "autonomous"
            if any(r.check in _STATIC for r in reasons) or (autonomous and reasons):
                record = self._move(record, "refused", None, events, reasons=[r.to_json() for r in reasons])
            elif autonomous:
                record = self._move(
                    record, "approved", AUTONOMOUS, events, approved_by=AUTONOMOUS, approved_at=now, admitted_us=now_us
                )
        self._publish(events)
        if binding is not None and record.state == "approved":
            self._executor.submit(self._dispatch, record, binding)
        return record.to_json()

    def _open_duplicate(self, twin_id: str, command: str, payload: Any, by: str) -> dict[str, Any] | None:
        for body in self.records.list_commands("proposed", twin_id, command, limit=100):
            if body.get("proposedBy") == by and body.get("payload") == payload:
                return body
        return None

    def _check(self, twin_id: str, command: str, payload: Any, binding: Binding | None, now_us: int) -> list[Reason]:
        """Every reason the envelope has to refuse this payload now (empty: it may be sent)."""
        if binding is None:
            where = f"PUT /command-bindings/{twin_id}/{command}"
            return [Reason("binding", f"command '{command}' of '{twin_id}' has no binding: configure one ({where})")]
        envelope, reasons = binding.envelope, list[Reason]()
        if envelope.numeric:
            reasons += self._numeric(twin_id, command, envelope, payload, now_us)
        if envelope.rate_limit is not None:
            count, window_us = envelope.rate_limit
            recent = self.records.list_admitted_commands(twin_id, command, now_us - window_us, count)
            if len(recent) >= count:
                reasons.append(
                    Reason(
                        "rate_limit",
                        f"{len(recent)} command(s) already sent in the last {window_us / 1e6:g} s; "
                        f"the limit is {count} per {window_us / 1e6:g} s",
                    )
                )
        for interlock in envelope.interlocks:
            reason = interlock.check(twin_id, self.twins, now_us)
            if reason is not None:
                reasons.append(reason)
        return reasons

    def _numeric(self, twin_id: str, command: str, envelope: Envelope, payload: Any, now_us: int) -> list[Reason]:
        value = envelope.number(payload)
        if value is None:
            return [Reason("bounds", f"the envelope limits {envelope.what()}, which must be a finite number")]
        reasons = []
        if envelope.minimum is not None and value < envelope.minimum:
            reasons.append(Reason("bounds", f"{value:g} is below the minimum {envelope.minimum:g}"))
        if envelope.maximum is not None and value > envelope.maximum:
            reasons.append(Reason("bounds", f"{value:g} is above the maximum {envelope.maximum:g}"))
        if envelope.max_step is None and envelope.max_rate is None:
            return reasons
        last = self.records.list_admitted_commands(twin_id, command, None, 1)
        previous = envelope.number(last[0]["payload"]) if last else None
        if previous is None:  # the first command of this twin is held by the bounds alone
            return reasons
        change = abs(value - previous)
        if envelope.max_step is not None and change > envelope.max_step:
            reasons.append(
                Reason(
                    "step",
                    f"{value:g} is {change:g} from the last value sent ({previous:g}); max_step is "
                    f"{envelope.max_step:g}",
                )
            )
        if envelope.max_rate is not None:
            elapsed_s = max(0.0, (now_us - int(last[0]["admittedUs"])) / 1e6)
            allowed = envelope.max_rate * elapsed_s
            if change > allowed:
                reasons.append(
                    Reason(
                        "rate",
                        f"changing by {change:g} {elapsed_s:.1f} s after the last value sent ({previous:g}) is faster "
                        f"than max_rate {envelope.max_rate:g}/s (at most {allowed:.3g} now)",
                    )
                )
        return reasons

    def _dispatch(self, record: CommandRecord, binding: Binding) -> None:
        try:
            self._send(record, binding)
        except Exception:  # on a worker nobody would see it: say so, the record stays where it got to
            log.exception("command %s: recording its outcome failed", record.id)

    def _send(self, record: CommandRecord, binding: Binding) -> None:
        """On a worker: send, record ``sent`` when it leaves futago, then the outcome."""
        outgoing = OutgoingCommand(record.id, record.twin_id, record.command, record.payload)
        left = threading.Event()

        def on_sent(sent: dict[str, Any]) -> None:
            events: list[Event] = []
            with self._lock:
                current = self._record(record.id)
                _, now = _now()
                self._move(current, "sent", None, events, sent=sent, sent_at=now)
            left.set()
            self._publish(events)

        try:
            outcome = self.transports.send(binding.transport, outgoing, on_sent)
        except Exception as exc:  # a bug in a transport must still end the command
            log.exception("command %s: the transport failed", record.id)
            outcome = Outcome(False, error=f"the transport failed: {type(exc).__name__}: {exc}")
        events: list[Event] = []
        with self._lock:
            current = self._record(record.id)
            _, now = _now()
            common = {"response": outcome.response, "result_state": outcome.state}
            if outcome.ok and left.is_set():
                self._move(current, "completed", None, events, completed_at=now, **common)
            else:
                # Nothing left futago: it does not count against the rate limit or the rate of change.
                admitted = current.admitted_us if left.is_set() else None
                error = outcome.error or "the transport ended without sending"
                self._move(current, "failed", None, events, failed_at=now, error=error, admitted_us=admitted, **common)
        self._publish(events)

    def _move(
        self, record: CommandRecord, to: CommandState, by: str | None, events: list[Event], **changes: Any
    ) -> CommandRecord:
        """Store a transition (compare-and-set on the state) and queue its event. The caller holds the lock."""
        _, now = _now()
        entry = {"at": now, "state": to, **({"by": by} if by else {})}
        updated = replace(record, state=to, history=[*record.history, entry], **changes)
        if not self.records.update_command(updated.to_json(), record.state):
            raise Conflict(f"command '{record.id}' changed meanwhile; read it again")
        events.append(_event(updated))
        self._changed.notify_all()
        return updated

    def _publish(self, events: list[Event]) -> None:
        # Outside the lock: a subscriber (a rule, the SSE stream) may call back into the service.
        for event in events:
            self.bus.publish(event)

    def _record(self, command_id: str) -> CommandRecord:
        body = self.records.get_command(command_id)
        if body is None:
            raise NotFound(f"command '{command_id}' does not exist")
        return CommandRecord.from_json(body)

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


def _check_entry(stage: str, at: str, reasons: list[Reason], by: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": at, "stage": stage, "ok": not reasons, "reasons": [r.to_json() for r in reasons]}
    return {**entry, "by": by} if by else entry


def _event(record: CommandRecord) -> Event:
    about = (f"commands/{record.id}",)
    return Event(EVENT_OF_STATE[record.state], _now()[1], twin_id=record.twin_id, data=record.to_json(), about=about)
