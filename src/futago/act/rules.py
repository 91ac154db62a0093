"""Rules: what they say (parsed from JSON or YAML, every problem reported with its pointer) and how a condition is
judged, one reading at a time.

A rule names its target (``twins`` or every twin of a ``twinModel``, optionally narrowed by a spatial ``scope``),
a ``when`` condition tree (``all``/``any``/``not`` over leaves), and what an alert carries (``severity``,
``message``, ``area``, ``recommend``). Leaves are incremental: each keeps a small state per (rule, twin) and is fed
readings in time order, so the engine never re-reads history to judge a new reading. Time is the readings' own
time, so replaying history gives the alerts that the live system would have raised.

Leaves, and what they read:

* ``threshold`` {telemetry, above | below, clear?, for?}: ``clear`` is the hysteresis level (a rule that fired
  above 4.0 with clear 3.8 stays true down to 3.8, so it does not flap around 4.0). On a ``*_forecast`` series the
  leaf judges each forecast as a whole: its peak (or trough) within ``within`` of its first step.
* ``rate`` {telemetry, per, above | below, over?}: change per ``per`` over the last ``over`` (default ``per``).
* ``exceedance`` {telemetry, stage?, probability, clear?, within?}: the behaviour's
  ``<telemetry>_exceedance~<stage>`` series, the probability of reaching a warning stage within the behaviour's
  horizon (``within`` states that horizon, for the record and the message; the series is what decides).
* ``anomaly`` {telemetry = anomalyScore, above = 1}: a detector's score (above 1 is anomalous).
* ``quality`` {telemetry, flag?, test?} or {telemetry, stuck, tolerance?}: a QARTOD flag at least ``flag`` (the
  flag a reading arrives with; with ``test``, that test's own flag series ``<telemetry>~qc:<test>``, which also
  catches flags that become final only with the next reading, as flat line and spike do), or a value that has not
  moved by more than ``tolerance`` for ``stuck``.

Every leaf also takes ``for`` (it must hold that long) and, for value leaves, ``minQuality`` (readings flagged
worse are ignored; default 3, so a failed reading never fires a rule).
"""

from __future__ import annotations

import math
import re
import string
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from futago.act.model import SEVERITIES, Severity
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.query.spatial import point_from_literal
from futago.core.telemetry import parse_duration

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# The same names as sim.flood.STAGES and sim.runtime/services.quality build; act/ may import core only.
STAGES = ("standby", "caution", "evacuation", "danger")
FORECAST_SUFFIX = "_forecast"
EXCEEDANCE_SUFFIX = "_exceedance"
QC_INFIX = "~qc:"
QARTOD_FLAGS = (1, 2, 3, 4, 9)
_FLAG_RANK = {1: 0, 2: 1, 3: 2, 4: 3, 9: 4}  # best to worst: 9 (missing) is the worst
MAX_DEPTH = 12
MAX_LEAVES = 64
MAX_RATE_POINTS = 100_000  # a rate window holds at most this many readings (memory bound per (rule, twin))

RULE_KEYS = (
    "description",
    "severity",
    "twins",
    "twinModel",
    "scope",
    "when",
    "for",
    "message",
    "suppress",
    "escalateAfter",
    "area",
    "recommend",
    "autoResolve",
    "enabled",
)
#: Names a message template may use; ``values[<telemetry>]`` and ``props[<property>]`` index into dicts.
TEMPLATE_FIELDS = frozenset({"twin", "rule", "severity", "value", "telemetry", "ts", "zone", "values", "props"})
DEFAULT_MESSAGE = {
    "ja": "{rule}: {twin} で条件が成立しました ({telemetry} = {value})",
    "en": "{rule}: the condition holds on {twin} ({telemetry} = {value})",
}


def quality_rank(flag: int) -> int:
    return _FLAG_RANK.get(flag, 0)


def as_number(value: Any) -> float | None:
    """A reading's value as a finite float (booleans count as 0/1); None for text, JSON and NaN (missing)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        x = float(value)
        return x if math.isfinite(x) else None
    return None


# --- leaf state and leaves -------------------------------------------------------------------------------------

Row = tuple[int, Any, int]  # (ts µs, value, quality flag)


@dataclass(slots=True)
class LeafState:
    """What one leaf remembers for one twin: the newest reading fed, and whether (and since when) it holds."""

    last_ts: int | None = None
    value: Any = None
    active: bool = False
    since: int | None = None
    memory: Any = None  # leaf-specific: a rate window, a flat run


@dataclass(frozen=True)
class Leaf:
    kind: ClassVar[str] = ""
    telemetry: str  # the series whose telemetry.appended events wake this leaf up
    for_us: int = 0
    min_quality: int | None = 3
    index: int = 0  # its place among the rule's leaves (and their states)

    @property
    def source(self) -> str:
        """The series whose readings the leaf judges (a QARTOD test's flags for some quality leaves)."""
        return self.telemetry

    @property
    def lookback_us(self) -> int:
        """How much history a fresh state needs to judge the next reading as a long-running one would."""
        return self.for_us

    @property
    def seedable(self) -> bool:
        """Whether stored history can bring a fresh state up to date (a forecast must wait for the next one)."""
        return True

    def summarise(self, rows: list[Row]) -> list[Row]:
        """The rows of one batch as the leaf sees them (a forecast is judged whole, not step by step)."""
        return rows

    def feed(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        if state.last_ts is not None and ts <= state.last_ts:
            return  # late or repeated: the state has already moved past it
        state.last_ts = ts
        if self.min_quality is not None and quality_rank(quality) > quality_rank(self.min_quality):
            return  # a failed or missing reading says nothing about the condition
        was = state.active
        self.observe(state, ts, value, quality)
        if state.active and not was:
            state.since = ts
        elif not state.active:
            state.since = None

    def observe(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        raise NotImplementedError

    def holds(self, state: LeafState, now: int) -> bool:
        return state.active and state.since is not None and now - state.since >= self.for_us

    def describe(self, state: LeafState, now: int) -> dict[str, Any]:
        return {"kind": self.kind, "telemetry": self.source, "value": state.value, "holds": self.holds(state, now)}


def _latch(active: bool, x: float, above: float | None, below: float | None, clear: float) -> bool:
    """Hysteresis: set beyond the level, stay set until back past ``clear``."""
    if above is not None:
        return x > clear if active else x > above
    assert below is not None
    return x < clear if active else x < below


@dataclass(frozen=True)
class Threshold(Leaf):
    kind: ClassVar[str] = "threshold"
    above: float | None = None
    below: float | None = None
    clear: float = 0.0
    within_us: int | None = None  # forecasts only: how far ahead of the first step the peak counts

    @property
    def forecast(self) -> bool:
        return self.telemetry.split("~", 1)[0].endswith(FORECAST_SUFFIX)

    @property
    def seedable(self) -> bool:
        return not self.forecast

    def summarise(self, rows: list[Row]) -> list[Row]:
        if not self.forecast or not rows:
            return rows
        first = min(ts for ts, _, _ in rows)
        ahead = [r for r in rows if self.within_us is None or r[0] - first <= self.within_us]
        numbers = [(x, q) for _, v, q in ahead if (x := as_number(v)) is not None]
        if not numbers:
            return []
        pick = max if self.above is not None else min
        peak, quality = pick(numbers, key=lambda n: n[0])
        return [(first, peak, quality)]

    def observe(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        x = as_number(value)
        if x is not None:
            state.value = x
            state.active = _latch(state.active, x, self.above, self.below, self.clear)


@dataclass(frozen=True)
class Anomaly(Threshold):
    kind: ClassVar[str] = "anomaly"


@dataclass(frozen=True)
class Rate(Leaf):
    """Change per ``per_us``, between the oldest and the newest reading of the last ``over_us``."""

    kind: ClassVar[str] = "rate"
    per_us: int = 3_600_000_000
    over_us: int = 3_600_000_000
    above: float | None = None
    below: float | None = None
    clear: float = 0.0

    @property
    def lookback_us(self) -> int:
        return self.over_us + self.for_us

    def observe(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        x = as_number(value)
        if x is None:
            return
        window: deque[tuple[int, float]] = state.memory if state.memory is not None else deque(maxlen=MAX_RATE_POINTS)
        state.memory = window
        window.append((ts, x))
        while ts - window[0][0] > self.over_us:
            window.popleft()
        t0, x0 = window[0]
        if ts == t0:
            return  # one reading is no rate; keep what the state said
        rate = (x - x0) / (ts - t0) * self.per_us
        state.value = rate
        state.active = _latch(state.active, rate, self.above, self.below, self.clear)


@dataclass(frozen=True)
class Exceedance(Leaf):
    kind: ClassVar[str] = "exceedance"
    probability: float = 0.5
    clear: float = 0.5
    stage: str | None = None
    within_us: int | None = None  # the horizon the probability is about (the behaviour's), for the record

    def observe(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        x = as_number(value)
        if x is not None:
            state.value = x
            state.active = x >= self.clear if state.active else x >= self.probability

    def describe(self, state: LeafState, now: int) -> dict[str, Any]:
        within = None if self.within_us is None else f"{self.within_us // 1_000_000}s"
        return {**super().describe(state, now), "probability": self.probability, "stage": self.stage, "within": within}


@dataclass(frozen=True)
class Quality(Leaf):
    """A QARTOD flag at least ``flag`` (stored, or of one ``test``), or a value stuck for ``stuck_us``."""

    kind: ClassVar[str] = "quality"
    flag: int = 3
    test: str | None = None
    stuck_us: int | None = None
    tolerance: float = 0.0

    @property
    def source(self) -> str:
        return f"{self.telemetry}{QC_INFIX}{self.test}" if self.test else self.telemetry

    @property
    def lookback_us(self) -> int:
        return (self.stuck_us or 0) + self.for_us

    def observe(self, state: LeafState, ts: int, value: Any, quality: int) -> None:
        if self.stuck_us is None:
            # a test's flag series holds the flag as its value; otherwise the reading's stored flag counts
            flag = int(x) if self.test and (x := as_number(value)) is not None else quality
            state.value = flag
            state.active = quality_rank(flag) >= quality_rank(self.flag)
            return
        x = as_number(value)
        if x is None:
            return
        state.value = x
        run = state.memory  # (start of the flat run, its lowest and highest value)
        if run is None or max(run[2], x) - min(run[1], x) > self.tolerance:
            run = (ts, x, x)
        else:
            run = (run[0], min(run[1], x), max(run[2], x))
        state.memory = run
        state.active = ts - run[0] >= self.stuck_us


# --- the condition tree ------------------------------------------------------------------------------------------


class Node:
    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class LeafNode(Node):
    leaf: Leaf

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return self.leaf.holds(states[self.leaf.index], now)


@dataclass(frozen=True)
class AllOf(Node):
    children: tuple[Node, ...]

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return all(c.holds(states, now) for c in self.children)


@dataclass(frozen=True)
class AnyOf(Node):
    children: tuple[Node, ...]

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return any(c.holds(states, now) for c in self.children)


@dataclass(frozen=True)
class NotOf(Node):
    child: Node

    def holds(self, states: Sequence[LeafState], now: int) -> bool:
        return not self.child.holds(states, now)


# --- the rule ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Narrows a rule to twins inside a zone twin's (Multi)Polygon, or within ``distance_m`` of a point."""

    within: str | None = None
    point: tuple[float, float] | None = None
    distance_m: float = 0.0


@dataclass(frozen=True)
class AreaSpec:
    """Where an alert applies: a zone reached through a relationship of the twin, a fixed zone, fixed twins."""

    relationship: str | None = None
    zone: str | None = None
    twins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Recommend:
    """A command to propose when the alert is raised: to a fixed or templated twin, or one reached by relationship."""

    command: str
    payload: Any = None
    twin: str = "{twin}"
    relationship: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    when: Node
    leaves: tuple[Leaf, ...]
    severity: Severity = "warning"
    description: str = ""
    twins: frozenset[str] = frozenset()
    twin_model: str | None = None
    scope: Scope | None = None
    for_us: int = 0
    message: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MESSAGE))
    suppress_us: int = 0
    escalate_after_us: int | None = None
    area: AreaSpec = AreaSpec()
    recommend: Recommend | None = None
    auto_resolve: bool = True
    enabled: bool = True
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def triggers(self) -> frozenset[str]:
        """The telemetry whose readings can change the rule's verdict."""
        return frozenset(leaf.telemetry for leaf in self.leaves)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.raw}


# --- parsing -----------------------------------------------------------------------------------------------------


class _Checker:
    """Collects problems while walking a rule body, so that one answer lists them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(pointer or "/", message))

    def text(self, body: Mapping[str, Any], key: str, pointer: str, required: bool = False) -> str | None:
        value = body.get(key)
        if value is None:
            if required:
                self.add(f"{pointer}/{key}", f"{key} is required")
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > 1000:
            self.add(f"{pointer}/{key}", f"{key} is a non-empty string")
            return None
        return value

    def number(
        self, body: Mapping[str, Any], key: str, pointer: str, low: float | None = None, high: float | None = None
    ) -> float | None:
        value = body.get(key)
        if value is None:
            return None
        x = as_number(value) if not isinstance(value, bool) else None
        if x is None or (low is not None and x < low) or (high is not None and x > high):
            bounds = "" if low is None else f" in [{low}, {high}]" if high is not None else f" ≥ {low}"
            self.add(f"{pointer}/{key}", f"{key} is a finite number{bounds}")
            return None
        return x

    def duration(self, body: Mapping[str, Any], key: str, pointer: str) -> int | None:
        value = body.get(key)
        if value is None:
            return None
        try:
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise TypeError
            return parse_duration(value)
        except (InvalidInput, ValueError, TypeError, OverflowError):
            self.add(f"{pointer}/{key}", f'{key} is a duration, e.g. "30s", "10m", "3h" or "PT30M"')
            return None

    def keys(self, body: Mapping[str, Any], allowed: Iterable[str], pointer: str) -> None:
        allowed = tuple(allowed)
        for key in body:
            if key not in allowed:
                self.add(f"{pointer}/{_escape(str(key))}", f"unknown key; use one of {', '.join(allowed)}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


_COMMON_LEAF_KEYS = ("telemetry", "for", "minQuality")
_LEAF_KEYS = {
    "threshold": (*_COMMON_LEAF_KEYS, "above", "below", "clear", "within"),
    "rate": (*_COMMON_LEAF_KEYS, "per", "over", "above", "below", "clear"),
    "exceedance": (*_COMMON_LEAF_KEYS, "stage", "probability", "clear", "within"),
    "anomaly": (*_COMMON_LEAF_KEYS, "above", "clear"),
    "quality": ("telemetry", "for", "flag", "test", "stuck", "tolerance"),
}
_OPERATORS = ("all", "any", "not", *_LEAF_KEYS)


def _telemetry_name(check: _Checker, body: Mapping[str, Any], pointer: str, default: str | None = None) -> str | None:
    value = body.get("telemetry", default)
    if not isinstance(value, str) or not value or len(value) > 200:
        check.add(f"{pointer}/telemetry", "telemetry is the name of a telemetry (or derived series) of the twin")
        return None
    return value


def _direction(check: _Checker, body: Mapping[str, Any], pointer: str) -> tuple[float | None, float | None, float]:
    """``above`` or ``below`` (exactly one), and the ``clear`` level on the right side of it."""
    if ("above" in body) == ("below" in body):
        check.add(pointer, "give exactly one of 'above' or 'below'")
        return None, None, 0.0
    above, below = check.number(body, "above", pointer), check.number(body, "below", pointer)
    level = above if above is not None else below
    clear = check.number(body, "clear", pointer)
    if level is None or clear is None:
        return above, below, 0.0 if level is None else level
    if (above is not None and clear > above) or (below is not None and clear < below):
        side = "at or below 'above'" if above is not None else "at or above 'below'"
        check.add(f"{pointer}/clear", f"the clear (hysteresis) level must be {side}, or the rule could never clear")
    return above, below, clear


def _min_quality(check: _Checker, body: Mapping[str, Any], pointer: str) -> int:
    value = body.get("minQuality", 3)
    if value not in QARTOD_FLAGS or isinstance(value, bool):
        check.add(f"{pointer}/minQuality", "minQuality is a QARTOD flag: 1, 2, 3, 4 or 9")
        return 3
    return int(value)


def _leaf(kind: str, body: Any, pointer: str, check: _Checker) -> Leaf | None:
    if not isinstance(body, Mapping):
        check.add(pointer, f"a {kind} condition is an object")
        return None
    check.keys(body, _LEAF_KEYS[kind], pointer)
    for_us = check.duration(body, "for", pointer) or 0
    if kind == "anomaly":
        name = _telemetry_name(check, body, pointer, "anomalyScore")
        above = check.number(body, "above", pointer)
        above = 1.0 if above is None else above
        clear = check.number(body, "clear", pointer)
        if clear is not None and clear > above:
            check.add(f"{pointer}/clear", "the clear (hysteresis) level must be at or below 'above'")
        if name is None:
            return None
        return Anomaly(
            name, for_us, _min_quality(check, body, pointer), above=above, clear=above if clear is None else clear
        )
    name = _telemetry_name(check, body, pointer)
    if kind == "threshold":
        above, below, clear = _direction(check, body, pointer)
        within = check.duration(body, "within", pointer)
        if name is None or (above is None and below is None):
            return None
        leaf = Threshold(
            name, for_us, _min_quality(check, body, pointer), above=above, below=below, clear=clear, within_us=within
        )
        if within is not None and not leaf.forecast:
            check.add(f"{pointer}/within", f"'within' applies to forecast series (…{FORECAST_SUFFIX}) only")
        return leaf
    if kind == "rate":
        above, below, clear = _direction(check, body, pointer)
        per = check.duration(body, "per", pointer)
        if "per" not in body:
            check.add(f"{pointer}/per", 'per is the rate\'s time unit, e.g. "1h" for metres per hour')
        over = check.duration(body, "over", pointer)
        if name is None or per is None or (above is None and below is None):
            return None
        return Rate(
            name,
            for_us,
            _min_quality(check, body, pointer),
            per_us=per,
            over_us=over or per,
            above=above,
            below=below,
            clear=clear,
        )
    if kind == "exceedance":
        stage = body.get("stage")
        if stage is not None and stage not in STAGES:
            check.add(f"{pointer}/stage", f"stage is one of {', '.join(STAGES)}")
        probability = check.number(body, "probability", pointer, 0.0, 1.0)
        if "probability" not in body:
            check.add(f"{pointer}/probability", "probability is the level (0–1) at which the rule fires")
        clear = check.number(body, "clear", pointer, 0.0, 1.0)
        if clear is not None and probability is not None and clear > probability:
            check.add(f"{pointer}/clear", "the clear (hysteresis) probability must be at or below 'probability'")
        within = check.duration(body, "within", pointer)
        if name is None or probability is None:
            return None
        series = f"{name}{EXCEEDANCE_SUFFIX}~{stage}" if isinstance(stage, str) and stage in STAGES else name
        return Exceedance(
            series,
            for_us,
            _min_quality(check, body, pointer),
            probability=probability,
            clear=probability if clear is None else clear,
            stage=stage if isinstance(stage, str) else None,
            within_us=within,
        )
    # quality
    stuck = check.duration(body, "stuck", pointer)
    flag = body.get("flag")
    test = check.text(body, "test", pointer)
    tolerance = check.number(body, "tolerance", pointer, 0.0)
    if flag is not None and (flag not in QARTOD_FLAGS or isinstance(flag, bool)):
        check.add(f"{pointer}/flag", "flag is a QARTOD flag: 1, 2, 3, 4 or 9 (the condition holds at it or worse)")
    if "stuck" in body and ("flag" in body or "test" in body):
        check.add(pointer, "give either 'stuck' (a duration) or 'flag'/'test', not both")
    if "stuck" not in body and "tolerance" in body:
        check.add(f"{pointer}/tolerance", "tolerance goes with 'stuck'")
    if test is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,64}", test):
        check.add(f"{pointer}/test", "test is a QARTOD test name, e.g. flat_line, spike or gross_range")
    if name is None:
        return None
    flag_value = int(flag) if flag in QARTOD_FLAGS and not isinstance(flag, bool) else 3
    return Quality(name, for_us, None, flag=flag_value, test=test, stuck_us=stuck, tolerance=tolerance or 0.0)


def _node(body: Any, pointer: str, check: _Checker, leaves: list[Leaf], depth: int = 0) -> Node | None:
    if depth > MAX_DEPTH:
        check.add(pointer, f"conditions nest at most {MAX_DEPTH} deep")
        return None
    if not isinstance(body, Mapping) or len(body) != 1:
        check.add(pointer, f"a condition is an object with one key: one of {', '.join(_OPERATORS)}")
        return None
    ((op, inner),) = body.items()
    here = f"{pointer}/{_escape(str(op))}"
    if op in ("all", "any"):
        if not isinstance(inner, list) or not inner:
            check.add(here, f"'{op}' is a non-empty list of conditions")
            return None
        nodes = [_node(c, f"{here}/{i}", check, leaves, depth + 1) for i, c in enumerate(inner[:MAX_LEAVES])]
        if len(inner) > MAX_LEAVES:
            check.add(here, f"at most {MAX_LEAVES} conditions")
        children = tuple(n for n in nodes if n is not None)
        if len(children) != len(nodes):
            return None
        return AllOf(children) if op == "all" else AnyOf(children)
    if op == "not":
        child = _node(inner, here, check, leaves, depth + 1)
        return None if child is None else NotOf(child)
    if op not in _LEAF_KEYS:
        check.add(here, f"unknown condition; use one of {', '.join(_OPERATORS)}")
        return None
    if len(leaves) >= MAX_LEAVES:
        check.add(here, f"a rule has at most {MAX_LEAVES} leaf conditions")
        return None
    leaf = _leaf(str(op), inner, here, check)
    if leaf is None:
        return None
    leaf = _with_index(leaf, len(leaves))
    leaves.append(leaf)
    return LeafNode(leaf)


def _with_index(leaf: Leaf, index: int) -> Leaf:
    return replace(leaf, index=index)


def _template_problems(template: str) -> str | None:
    """Why a message template cannot be used, or None. Attribute access is refused: ``{twin.__class__}`` would let
    a rule author read the interpreter's internals."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid template ({exc}); write literal braces as {{{{ and }}}}"
    for _, field_name, spec, _ in parsed:
        if field_name is None:
            continue
        base = re.split(r"[.\[]", field_name, maxsplit=1)[0]
        if base not in TEMPLATE_FIELDS:
            return f"unknown placeholder {{{field_name}}}; use {', '.join(sorted(TEMPLATE_FIELDS))}"
        if "." in field_name.split("[", 1)[0] or (field_name != base and base not in ("values", "props")):
            return f"placeholder {{{field_name}}}: only values[...] and props[...] may be indexed"
        if spec and "{" in spec:
            return f"placeholder {{{field_name}}}: nested placeholders are not allowed"
    return None


def _message(value: Any, pointer: str, check: _Checker) -> dict[str, str]:
    if value is None:
        return dict(DEFAULT_MESSAGE)
    if isinstance(value, str):
        value = {"ja": value, "en": value}
    if not isinstance(value, Mapping):
        check.add(pointer, "message is {ja: ..., en: ...} (templates with {twin}, {value}, …)")
        return dict(DEFAULT_MESSAGE)
    check.keys(value, ("ja", "en"), pointer)
    message = dict(DEFAULT_MESSAGE)
    for lang in ("ja", "en"):
        text = value.get(lang)
        if text is None:
            continue
        if not isinstance(text, str) or len(text) > 2000:
            check.add(f"{pointer}/{lang}", "a message template is a string of at most 2000 characters")
            continue
        reason = _template_problems(text)
        if reason:
            check.add(f"{pointer}/{lang}", reason)
        message[lang] = text
    return message


def _id_list(value: Any, pointer: str, check: _Checker) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v and len(v) <= 200 for v in value):
        check.add(pointer, "a list of twin ids")
        return ()
    if len(value) > 10_000:
        check.add(pointer, "at most 10000 twins; use twinModel (with a scope) for more")
        return ()
    return tuple(value)


def _scope(value: Any, pointer: str, check: _Checker) -> Scope | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in ("within", "near"):
        check.add(pointer, 'scope is {"within": "<zone twin id>"} or {"near": {"point": [lon, lat], "distanceM": m}}')
        return None
    if "within" in value:
        zone = value["within"]
        if not isinstance(zone, str) or not zone or len(zone) > 200:
            check.add(f"{pointer}/within", "within is the id of a zone twin with a Polygon or MultiPolygon geometry")
            return None
        return Scope(within=zone)
    near = value["near"]
    if not isinstance(near, Mapping):
        check.add(f"{pointer}/near", 'near is {"point": [lon, lat], "distanceM": 500}')
        return None
    check.keys(near, ("point", "distanceM"), f"{pointer}/near")
    distance = check.number(near, "distanceM", f"{pointer}/near", 0.0, 20_037_509.0)
    if "distanceM" not in near:
        check.add(f"{pointer}/near/distanceM", "distanceM is the radius in metres")
    try:
        point = point_from_literal(near.get("point"))
    except ValueError as exc:
        check.add(f"{pointer}/near/point", f"point is {exc}")
        return None
    return None if distance is None else Scope(point=point, distance_m=distance)


def _area(value: Any, pointer: str, check: _Checker, scope: Scope | None) -> AreaSpec:
    default_zone = scope.within if scope is not None else None
    if value is None:
        return AreaSpec(zone=default_zone)
    if not isinstance(value, Mapping):
        check.add(pointer, 'area is {"relationship": name}, {"zone": id} and/or {"twins": [ids]}')
        return AreaSpec()
    check.keys(value, ("relationship", "zone", "twins"), pointer)
    relationship = check.text(value, "relationship", pointer)
    zone = check.text(value, "zone", pointer)
    twins = _id_list(value["twins"], f"{pointer}/twins", check) if "twins" in value else ()
    return AreaSpec(relationship=relationship, zone=zone or (None if relationship else default_zone), twins=twins)


def _recommend(value: Any, pointer: str, check: _Checker) -> Recommend | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        check.add(pointer, 'recommend is {"command": name, "payload": …, "twin": id | "{twin}", "relationship"?}')
        return None
    check.keys(value, ("command", "payload", "twin", "relationship"), pointer)
    command = check.text(value, "command", pointer, required=True)
    twin = check.text(value, "twin", pointer) or "{twin}"
    relationship = check.text(value, "relationship", pointer)
    if "twin" in value and relationship is not None:
        check.add(pointer, "give 'twin' or 'relationship', not both")
    fields = {f for _, f, _, _ in _safe_parse(twin) if f is not None}
    if not fields <= {"twin", "zone"}:
        check.add(f"{pointer}/twin", "twin is a twin id; it may use {twin} or {zone}")
    return None if command is None else Recommend(command, value.get("payload"), twin, relationship)


def _safe_parse(template: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError:
        return [("", "?", None, None)]


def parse_rule(name: str, body: Any, pointer: str = "") -> Rule:
    """Check a rule description; every problem is reported at once, each with its JSON pointer (under ``pointer``)."""
    check = _Checker()
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        check.add(
            pointer or "/name", "a rule name is 1–64 letters, digits, '_', '.', '-' (starting with a letter/digit)"
        )
    if not isinstance(body, Mapping):
        raise InvalidInput([*check.problems, Problem(pointer or "/", "a rule is a JSON object")])
    check.keys(body, RULE_KEYS, pointer)
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 4000:
        check.add(f"{pointer}/description", "description is a string")
        description = ""
    severity = body.get("severity", "warning")
    if severity not in SEVERITIES:
        check.add(f"{pointer}/severity", f"severity is one of {', '.join(SEVERITIES)}")
        severity = "warning"
    twins = _id_list(body["twins"], f"{pointer}/twins", check) if "twins" in body else ()
    twin_model = check.text(body, "twinModel", pointer)
    if twin_model is not None and not twin_model.startswith("dtmi:"):
        check.add(f"{pointer}/twinModel", "twinModel is a DTMI, e.g. dtmi:futago:demo:RiverStation;1")
    if ("twins" in body) == ("twinModel" in body):
        check.add(pointer or "/", "give the target: 'twins' (a list of ids) or 'twinModel' (every twin of a model)")
    scope = _scope(body.get("scope"), f"{pointer}/scope", check)
    leaves: list[Leaf] = []
    when = _node(body.get("when"), f"{pointer}/when", check, leaves) if "when" in body else None
    if "when" not in body:
        check.add(f"{pointer}/when", "when is the condition, e.g. {threshold: {telemetry: waterLevel, above: 4}}")
    for_us = check.duration(body, "for", pointer) or 0
    message = _message(body.get("message"), f"{pointer}/message", check)
    suppress = check.duration(body, "suppress", pointer) or 0
    escalate = check.duration(body, "escalateAfter", pointer)
    area = _area(body.get("area"), f"{pointer}/area", check, scope)
    recommend = _recommend(body.get("recommend"), f"{pointer}/recommend", check)
    flags = {}
    for key, default in (("autoResolve", True), ("enabled", True)):
        flags[key] = body.get(key, default)
        if not isinstance(flags[key], bool):
            check.add(f"{pointer}/{key}", f"{key} is true or false")
    if check.problems or when is None:
        raise InvalidInput(check.problems or [Problem(f"{pointer}/when", "a condition is required")])
    return Rule(
        name=name,
        when=when,
        leaves=tuple(leaves),
        severity=severity,
        description=description,
        twins=frozenset(twins),
        twin_model=twin_model,
        scope=scope,
        for_us=for_us,
        message=message,
        suppress_us=suppress,
        escalate_after_us=escalate,
        area=area,
        recommend=recommend,
        auto_resolve=bool(flags["autoResolve"]),
        enabled=bool(flags["enabled"]),
        raw=dict(body),
    )


def load_rule_file(path: str | Path) -> dict[str, Rule]:
    """Rules from a YAML (or JSON) file shaped ``rules: {name: {...}}``; problems point into the file's document."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("", f"cannot read the rules file {path}: {exc}")]) from exc
    except yaml.YAMLError as exc:
        raise InvalidInput([Problem("", f"{path} is not valid YAML: {exc}")]) from exc
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), Mapping):
        raise InvalidInput([Problem("/rules", f"{path}: the file holds 'rules:' mapping names to rules")])
    rules: dict[str, Rule] = {}
    problems: list[Problem] = []
    for name, body in document["rules"].items():
        try:
            rules[str(name)] = parse_rule(str(name), body, f"/rules/{_escape(str(name))}")
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput(f"{path}: " + "; ".join(str(p) for p in problems[:5]), problems)
    return rules


# --- message templates -------------------------------------------------------------------------------------------


class _Lenient(string.Formatter):
    """A formatter that writes '?' for a missing value rather than failing: a message must never stop an alert."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError, ValueError):
            return "?", field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return str(super().format_field(value, format_spec))
        except (ValueError, TypeError):
            return str(value)


_FORMATTER = _Lenient()


def render(template: str, context: Mapping[str, Any]) -> str:
    try:
        return _FORMATTER.vformat(template, (), dict(context))
    except (ValueError, KeyError, IndexError):  # checked at parse time; a stored rule from an older version may slip
        return template


__all__ = [
    "STAGES",
    "Anomaly",
    "AreaSpec",
    "Exceedance",
    "Leaf",
    "LeafState",
    "Node",
    "Quality",
    "Rate",
    "Recommend",
    "Row",
    "Rule",
    "Scope",
    "Threshold",
    "load_rule_file",
    "parse_rule",
    "render",
]
