"""The leaves of a rule's condition: each judges one series of a twin, one reading at a time.

Leaves are incremental: each keeps a small state per (rule, twin) and is fed readings in time order, so the engine
never re-reads history to judge a new reading. What each leaf reads is described in ``futago.act.rules``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

# The same names as sim.flood.STAGES and sim.runtime/services.quality build; act/ may import core only.
STAGES = ("standby", "caution", "evacuation", "danger")
FORECAST_SUFFIX = "_forecast"
EXCEEDANCE_SUFFIX = "_exceedance"
QC_INFIX = "~qc:"
QARTOD_FLAGS = (1, 2, 3, 4, 9)
_FLAG_RANK = {1: 0, 2: 1, 3: 2, 4: 3, 9: 4}  # best to worst: 9 (missing) is the worst
MAX_RATE_POINTS = 100_000  # a rate window holds at most this many readings (memory bound per (rule, twin))


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
