"""The QARTOD tests reading by reading, with the same flags as the batch path.

`StreamingQc` holds one series' state and nothing more: the last two readings (spike, rate
of change) and, for the flat line, monotonic deques of the readings that can still be a
window's minimum or maximum.

**One reading late.** ioos_qc's spike test is centred: reading *i* is judged against *i-1*
and *i+1*. So `update` returns the flags of the *previous* reading once the next one has
arrived, and `flush` returns the last one (a series' last reading is NOT_EVALUATED for spike,
as in batch). The first two readings wait for the third, because a series shorter than three
readings passes the flat-line test by definition. Over a whole series,
``update(...)`` for each reading followed by ``flush()`` yields exactly ``run_batch`` (given
the same flat-line spacing: batch uses the series' median, streaming the configured
``timing.expected_interval`` or ``interval_s``). After `flush` a new series starts.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import NamedTuple

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.quality.config import QcConfig
from futago.quality.flags import QartodFlag, aggregate_one
from futago.quality.qartod import effective_interval_s, flat_line_count

_US_PER_S = 1_000_000
_TINY = 2.2250738585072014e-308  # numpy.finfo(float64).tiny, the masked-division tolerance


class QcReading(NamedTuple):
    """One reading with its final flags: per test, and the aggregate."""

    ts: int
    value: float
    tests: dict[str, int]
    aggregate: int


@dataclass(slots=True)
class _Pending:
    ts: int
    value: float
    tests: dict[str, int]
    index: int


@dataclass(slots=True)
class _FlatWindow:
    """The range of the finite values among the last ``count + 1`` readings, kept in O(1) amortised."""

    count: int
    lows: deque[tuple[int, float]] = field(default_factory=deque)
    highs: deque[tuple[int, float]] = field(default_factory=deque)

    def flat(self, index: int, value: float, tolerance: float) -> bool:
        if math.isfinite(value):
            while self.lows and self.lows[-1][1] >= value:
                self.lows.pop()
            self.lows.append((index, value))
            while self.highs and self.highs[-1][1] <= value:
                self.highs.pop()
            self.highs.append((index, value))
        oldest = index - self.count
        while self.lows and self.lows[0][0] < oldest:
            self.lows.popleft()
        while self.highs and self.highs[0][0] < oldest:
            self.highs.popleft()
        if index < self.count or not self.lows:
            return False
        return abs(self.highs[0][1] - self.lows[0][1]) < tolerance


def _spike_flag(prev: float, cur: float, nxt: float, suspect: float | None, fail: float | None, method: str) -> int:
    if not math.isfinite(cur):
        return QartodFlag.MISSING
    if method == "average":
        pair = prev + nxt
        ref = pair / 2
        if not math.isfinite(ref) or abs(pair) * _TINY >= 2:
            return QartodFlag.NOT_EVALUATED
        distance = abs(cur - ref)
    else:
        if not (math.isfinite(prev) and math.isfinite(nxt)):
            return QartodFlag.NOT_EVALUATED
        step_in, step_out = cur - prev, nxt - cur
        distance = 0.0 if step_in * step_out >= 0 else min(abs(step_in), abs(step_out))
        if not math.isfinite(distance):
            return QartodFlag.NOT_EVALUATED
    flag = QartodFlag.PASS
    if suspect and distance > suspect:
        flag = QartodFlag.SUSPECT
    if fail and distance > fail:
        flag = QartodFlag.FAIL
    return int(flag)


def _rate_flag(prev_ts: int, prev: float, ts: int, cur: float, threshold: float, fail: float | None) -> int:
    change = cur - prev
    seconds = float((ts - prev_ts) // _US_PER_S)
    per_second = change / seconds if seconds != 0 else math.inf
    undivided = not math.isfinite(per_second) or abs(change) * _TINY >= abs(seconds)
    return _rate_verdict(abs(change if undivided else per_second), cur, threshold, fail)


def _rate_verdict(rate: float, cur: float, threshold: float, fail: float | None) -> int:
    flag = QartodFlag.PASS
    if rate > threshold:
        flag = QartodFlag.SUSPECT
    if fail is not None and rate > fail:
        flag = QartodFlag.FAIL
    return int(QartodFlag.MISSING if not math.isfinite(cur) else flag)


class StreamingQc:
    """The configured tests over one live series; see the module docstring for the one-reading lag."""

    def __init__(self, config: QcConfig, interval_s: float | None = None) -> None:
        self.config = config
        self._windows: tuple[_FlatWindow, _FlatWindow] | None = None
        if config.flat_line is not None:
            spacing = interval_s
            if spacing is None and config.timing is not None:
                spacing = config.timing.expected_interval
            if spacing is None or not spacing > 0:
                raise InvalidInput(
                    [
                        Problem(
                            "/flat_line",
                            "streaming flat-line needs the expected spacing of readings: "
                            "set timing.expected_interval (seconds) or pass interval_s",
                        )
                    ]
                )
            self._spacing = effective_interval_s(spacing)
        self._reset()

    @property
    def last_ts(self) -> int | None:
        """The newest timestamp taken; a reading must come after it."""
        return self._last[0] if self._last is not None else None

    def _reset(self) -> None:
        self._pending: list[_Pending] = []
        self._emitted_value = math.nan  # the value before the first pending reading
        self._count = 0
        self._last: tuple[int, float] | None = None
        fl = self.config.flat_line
        if fl is not None:
            self._windows = (
                _FlatWindow(flat_line_count(fl.suspect_threshold, self._spacing)),
                _FlatWindow(flat_line_count(fl.fail_threshold, self._spacing)),
            )

    def update(self, ts: int, value: float, now_us: int | None = None) -> list[QcReading]:
        """Take the next reading; return the readings whose flags are now final (0, 1 or 2 of them).

        ``now_us`` is the clock for time sanity (default: the wall clock).
        """
        ts, x = int(ts), float(value)
        if self._last is not None and ts <= self._last[0]:
            raise InvalidInput([Problem("/ts", f"timestamp {ts} is not after the previous one ({self._last[0]})")])
        config, index = self.config, self._count
        tests: dict[str, int] = {}
        if config.gross_range is not None:
            tests["gross_range"] = self._gross(x)
        if config.spike is not None:
            tests["spike"] = QartodFlag.NOT_EVALUATED  # decided when the next reading comes
        roc = config.rate_of_change
        if roc is not None:
            if self._last is None:
                tests["rate_of_change"] = _rate_verdict(0.0, x, roc.threshold, roc.fail_threshold)
            else:
                tests["rate_of_change"] = _rate_flag(*self._last, ts, x, roc.threshold, roc.fail_threshold)
        if config.flat_line is not None and self._windows is not None:
            tests["flat_line"] = self._flat(index, x)
        sanity = config.time_sanity
        if sanity is not None:
            now = time.time_ns() // 1000 if now_us is None else now_us
            late = sanity.max_age is not None and now - ts > round(sanity.max_age * _US_PER_S)
            early = ts > now + round(sanity.future_tolerance * _US_PER_S)
            tests["time_sanity"] = QartodFlag.FAIL if late or early else QartodFlag.PASS
        self._pending.append(_Pending(ts, x, tests, index))
        self._count += 1
        self._last = (ts, x)
        if self._count < 3:
            return []
        held = self._pending
        self._pending = held[-1:]
        return [self._emit(p, following.value) for p, following in pairwise(held)]

    def flush(self) -> list[QcReading]:
        """End the series: the readings still held, flagged as the last of a series; then start afresh."""
        if self._count < 3:
            for p in self._pending:
                if "flat_line" in p.tests:
                    p.tests["flat_line"] = QartodFlag.PASS
        out = [self._emit(p, None) for p in self._pending]
        self._reset()
        return out

    def _emit(self, p: _Pending, next_value: float | None) -> QcReading:
        sp = self.config.spike
        if sp is not None:
            if p.index == 0 or next_value is None:
                p.tests["spike"] = QartodFlag.MISSING if not math.isfinite(p.value) else QartodFlag.NOT_EVALUATED
            else:
                p.tests["spike"] = _spike_flag(
                    self._emitted_value,
                    p.value,
                    next_value,
                    sp.suspect_threshold,
                    sp.fail_threshold,
                    sp.method,
                )
        self._emitted_value = p.value
        tests = {k: int(v) for k, v in p.tests.items()}
        return QcReading(p.ts, p.value, tests, aggregate_one(tests.values()))

    def _gross(self, x: float) -> int:
        gr = self.config.gross_range
        assert gr is not None
        flag = QartodFlag.MISSING if not math.isfinite(x) else QartodFlag.PASS
        if gr.suspect_span is not None and (x < gr.suspect_span[0] or x > gr.suspect_span[1]):
            flag = QartodFlag.SUSPECT
        if x < gr.fail_span[0] or x > gr.fail_span[1]:
            flag = QartodFlag.FAIL
        return int(flag)

    def _flat(self, index: int, x: float) -> int:
        fl = self.config.flat_line
        assert fl is not None and self._windows is not None
        suspect, fail = self._windows
        flag = QartodFlag.PASS
        if suspect.flat(index, x, fl.tolerance):
            flag = QartodFlag.SUSPECT
        if fail.flat(index, x, fl.tolerance):
            flag = QartodFlag.FAIL
        return int(QartodFlag.MISSING if not math.isfinite(x) else flag)
