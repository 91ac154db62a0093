"""Rate limits: a token bucket per caller in each process, and budgets that every process shares through the store.

A process's own bucket answers at once and smooths bursts; alone it would let a caller spread its requests (or its
guesses at keys) over N processes and get N times the budget. So each limit also counts per caller and minute in
the store (``rate_counts``), and refuses a caller whose count across every process has reached the limit for the
current minute. The counts are bounded in writes: a process adds what it counted in one upsert per bucket and minute,
at most once every ``FLUSH_S``; and in reads: a caller's shared count is read at most once every ``READ_S``. A store
that cannot be reached leaves each process with its own bucket (the counts it could not write are dropped, so a
budget is only ever looser for it), never an error for the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from futago.core.errors import TooManyRequests
from futago.core.ports import SecurityStore

log = logging.getLogger(__name__)

FLUSH_S = 1.0  # how often a process writes what it counted: what another process may not see yet
READ_S = 1.0  # how stale a caller's shared count may be
KEEP_MINUTES = 2  # counts older than this many minutes are dropped as they are written


class RateLimiter:
    """A token bucket per caller: ``per_minute`` requests a minute on average, bursts up to ``burst`` (a fifth of
    a minute's worth by default). ``take`` spends a token or refuses; ``check`` and ``spend`` split the two, for
    limits that count only failures. Full buckets are forgotten when there are too many, so a flood of made-up
    callers cannot grow it without bound."""

    def __init__(self, per_minute: int, burst: float | None = None, max_callers: int = 100_000) -> None:
        self.unlimited = per_minute <= 0  # 0: no limit
        self.rate = max(per_minute, 1) / 60.0
        self.burst = max(1.0, burst if burst is not None else per_minute / 5)
        self.max_callers = max_callers
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def _tokens(self, caller: str, now: float) -> float:
        tokens, at = self._buckets.get(caller, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def check(self, caller: str) -> None:
        """Refuse (429, with when to try again) a caller whose bucket is empty; spends nothing."""
        if self.unlimited:
            return
        with self._lock:
            tokens = self._tokens(caller, time.monotonic())
        if tokens < 1.0:
            wait = (1.0 - tokens) / self.rate
            raise TooManyRequests(f"{caller} is over its rate limit; try again in {wait:.1f} s", retry_after_s=wait)

    def spend(self, caller: str) -> None:
        if self.unlimited:
            return
        now = time.monotonic()
        with self._lock:
            self._buckets[caller] = (max(0.0, self._tokens(caller, now) - 1.0), now)
            if len(self._buckets) > self.max_callers:
                self._forget_full(now)

    def take(self, caller: str) -> None:
        if self.unlimited:
            return
        with self._lock:  # check and spend as one step, so that concurrent requests cannot overdraw
            now = time.monotonic()
            tokens = self._tokens(caller, now)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise TooManyRequests(f"{caller} is over its rate limit; try again in {wait:.1f} s", retry_after_s=wait)
            self._buckets[caller] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_callers:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """A full bucket is the same as none; if that is not enough, the least recently used half goes."""
        self._buckets = {c: (t, at) for c, (t, at) in self._buckets.items() if t + (now - at) * self.rate < self.burst}
        if len(self._buckets) > self.max_callers:
            recent = sorted(self._buckets.items(), key=lambda item: item[1][1])[len(self._buckets) // 2 :]
            self._buckets = dict(recent)


class SharedBudget:
    """Counts per bucket and minute, shared by every process through the store, written in batches."""

    def __init__(self, store: SecurityStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._pending: Counter[tuple[str, int]] = Counter()  # counted here, not yet written
        self._read: dict[str, tuple[float, int, int]] = {}  # bucket -> (read at, minute, count in the store)
        self._flushing = False  # a thread writes what is pending every FLUSH_S while there is some
        self._lock = threading.Lock()

    def _minute(self) -> int:
        return int(self.clock() // 60)

    def add(self, bucket: str) -> None:
        with self._lock:
            self._pending[(bucket, self._minute())] += 1
            start = not self._flushing
            self._flushing = True
        if start:  # what is counted reaches the store within FLUSH_S, even if nothing more is counted here
            threading.Thread(target=self._flush_loop, name="futago-rate-counts", daemon=True).start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(FLUSH_S)
            self.flush()
            with self._lock:
                if not self._pending:
                    self._flushing = False
                    return

    def count(self, bucket: str) -> int:
        """This minute's count of ``bucket`` across every process (what this one has not written included)."""
        minute, now = self._minute(), self.clock()
        with self._lock:
            read = self._read.get(bucket)
            local = self._pending.get((bucket, minute), 0)
        if read is None or read[1] != minute or now - read[0] >= READ_S:
            try:
                stored = self.store.rate_counts([bucket], minute).get(bucket, 0)
            except Exception:  # the store is away: this process's own count is what there is
                log.warning("the shared rate counts cannot be read; limits are per process meanwhile")
                stored = read[2] if read is not None and read[1] == minute else 0
            with self._lock:
                if len(self._read) > 100_000:  # made-up callers must not grow it without bound
                    self._read.clear()
                self._read[bucket] = read = (now, minute, stored)
        return read[2] + local

    def flush(self) -> None:
        """Write what was counted here, every bucket in one transaction (the flushing thread, every FLUSH_S)."""
        with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, Counter()
            for (bucket, minute), added in batch.items():  # seen here at once, not only after the next read
                read = self._read.get(bucket)
                if read is not None and read[1] == minute:
                    self._read[bucket] = (read[0], minute, read[2] + added)
        try:
            self.store.add_rate_counts(dict(batch), prune_before=self._minute() - KEEP_MINUTES)
        except Exception:  # the store is away (or closed): these counts go, and each process limits on its own
            log.warning("the shared rate counts cannot be written; %d counts are dropped", sum(batch.values()))


class SharedRateLimiter(RateLimiter):
    """A process's token bucket, and a per-minute budget shared by every process: ``per_minute`` and a burst in
    all."""

    def __init__(self, per_minute: int, budget: SharedBudget, name: str, burst: float | None = None) -> None:
        super().__init__(per_minute, burst)
        # A bucket lets at most a burst plus a minute's worth through in any minute: the shared budget is that much,
        # so one process's bucket is never made stricter, and only a caller spread over processes meets this one.
        self.shared_limit = per_minute + int(self.burst)
        self.budget = budget
        self.name = name  # keeps one limit's buckets apart from another's

    def _shared_check(self, caller: str) -> None:
        if self.unlimited:
            return
        if self.budget.count(f"{self.name}:{caller}") >= self.shared_limit:
            wait = 60.0 - self.budget.clock() % 60.0
            raise TooManyRequests(f"{caller} is over its rate limit; try again in {wait:.1f} s", retry_after_s=wait)

    def check(self, caller: str) -> None:
        super().check(caller)
        self._shared_check(caller)

    def spend(self, caller: str) -> None:
        super().spend(caller)
        if not self.unlimited:
            self.budget.add(f"{self.name}:{caller}")

    def take(self, caller: str) -> None:
        self._shared_check(caller)
        super().take(caller)
        if not self.unlimited:
            self.budget.add(f"{self.name}:{caller}")
